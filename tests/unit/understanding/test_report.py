"""docs/benchmarks/understanding.md is a function of its committed JSON (no benchmark runs here)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


def test_the_committed_page_renders_from_the_committed_json() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        bench = importlib.import_module("understanding_bench")
        result = json.loads((ROOT / "docs/benchmarks/understanding.json").read_text(encoding="utf-8"))
        page = (ROOT / "docs/benchmarks/understanding.md").read_text(encoding="utf-8")
        rendered = "\n".join(bench.markdown(result))
        assert rendered == page
        assert result["splits"]["test"]["intent_accuracy"] >= 0.95
        assert result["serving"]["hard_negative_violations_top5"]["understanding"] == 0
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
        for name in ("understanding_bench", "report"):
            sys.modules.pop(name, None)


def test_the_learned_reader_page_renders_from_its_committed_json() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        bench = importlib.import_module("understanding_learned_bench")
        result = json.loads((ROOT / "docs/benchmarks/understanding_learned.json").read_text(encoding="utf-8"))
        page = (ROOT / "docs/benchmarks/understanding_learned.md").read_text(encoding="utf-8")
        assert "\n".join(bench.markdown(result)) == page
        # every held-out bank scored, each reader on each
        assert set(result["banks"]) == {"test", *bench.LATER_HELDOUT}
        assert all(set(bank["readers"]) == set(bench.READERS) for bank in result["banks"].values())
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
        for name in ("understanding_learned_bench", "report"):
            sys.modules.pop(name, None)
