#!/usr/bin/env bash
# What CI runs (after scripts/setup.sh): lint, types, then the default test tiers (unit, integration, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src services tests benchmarks loadtests tools
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
