"""docs/benchmarks/understanding{,_learned}.md are functions of their committed JSON (no benchmark runs here)."""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


@contextlib.contextmanager
def _report(name: str) -> Iterator[tuple[ModuleType, dict[str, Any], str]]:
    """The benchmark module `name`, its committed JSON and its committed page (docs/benchmarks/`stem`.*)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        stem = name.removesuffix("_bench")
        result = json.loads((ROOT / f"docs/benchmarks/{stem}.json").read_text(encoding="utf-8"))
        page = (ROOT / f"docs/benchmarks/{stem}.md").read_text(encoding="utf-8")
        yield importlib.import_module(name), result, page
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
        for module in (name, "report"):
            sys.modules.pop(module, None)


def test_the_committed_page_renders_from_the_committed_json() -> None:
    with _report("understanding_bench") as (bench, result, page):
        assert "\n".join(bench.markdown(result)) == page
        assert result["splits"]["test"]["intent_accuracy"] >= 0.95
        assert result["serving"]["hard_negative_violations_top5"]["understanding"] == 0


def test_the_learned_reader_page_renders_from_its_committed_json() -> None:
    with _report("understanding_learned_bench") as (bench, result, page):
        assert "\n".join(bench.markdown(result)) == page
        # every held-out bank scored, each reader on each
        assert set(result["banks"]) == {"test", *bench.LATER_HELDOUT}
        assert all(set(bank["readers"]) == set(bench.READERS) for bank in result["banks"].values())
