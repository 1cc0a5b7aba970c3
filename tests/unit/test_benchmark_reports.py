"""The benchmark reports' markdown is a function of their committed JSON, written by the shared writer.

Why: the scripts share their report writing (`benchmarks/report.py`: tables, number formats, plots,
environment header) and the long writers were split into one function per section; a refactor of either
must not change a committed report. Each check re-renders a committed page from its committed JSON with
today's code and compares byte for byte (no benchmark runs; no model loads).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
REPORTS = ROOT / "docs" / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> Iterator[Any]:
    """Import benchmark modules as the scripts do (their directory first on sys.path), then forget them."""
    sys.path.insert(0, str(BENCHMARKS))
    before = set(sys.modules)

    def load(name: str) -> ModuleType:
        return importlib.import_module(name)

    try:
        yield load
    finally:
        sys.path.remove(str(BENCHMARKS))
        for name in set(sys.modules) - before:
            if name in ("report", "turn_latency") or name.startswith(("turn_latency.", "report.")) or name.endswith(
                    "_bench"):
                del sys.modules[name]


def committed(name: str) -> tuple[dict[str, Any], str]:
    return (json.loads((REPORTS / f"{name}.json").read_text(encoding="utf-8")),
            (REPORTS / f"{name}.md").read_text(encoding="utf-8"))


def test_turn_latency_report_renders_from_its_json(bench: Any) -> None:
    result, page = committed("turn_latency")
    assert bench("turn_latency.markdown").markdown(result) == page


@pytest.mark.parametrize(("module", "render", "page"), [
    ("encoders_bench", "write_markdown", "encoders"),
    ("explainer_bench", "markdown", "explainer"),
    ("ingest_bench", "markdown", "ingest"),
    ("music_encoder_bench", "markdown", "music_encoder"),
    ("fusion_bench", "throughput_markdown", "fusion/throughput"),
    ("text_int8_fusion", "markdown", "text_int8_fusion"),
    ("understanding_bench", "markdown", "understanding"),
])
def test_report_renders_from_its_json(bench: Any, tmp_path: Path, module: str, render: str, page: str) -> None:
    result, text = committed(page)
    writer = getattr(bench(module), render)
    if render == "write_markdown":  # writes the page itself
        writer(result, tmp_path / "page.md")
        rendered = (tmp_path / "page.md").read_text(encoding="utf-8")
    else:
        rendered = writer(result)
        rendered = rendered if isinstance(rendered, str) else "\n".join(rendered)  # lines, as write_markdown joins
    assert rendered == text


def test_shared_table_and_number_format(bench: Any) -> None:
    report = bench("report")
    assert report.table(["a", "b"], [[1, report.fmt(1234.56)], [None, report.fmt(None)]]) == [
        "| a | b |", "|---|---|", "| 1 | 1,234.6 |", "| None | – |"]
    assert report.fmt(0.5, digits=2) == "0.50" and report.fmt(3) == "3"
    env = report.environment()
    assert env.cpus >= 1 and env.date_utc.endswith("UTC") and len(env.loadavg) == 3
    assert env.summary(cores="cores", note="shared with other jobs").startswith(
        f"{env.machine}, {env.cpus} cores shared with other jobs, Python ")
