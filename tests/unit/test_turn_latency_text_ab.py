"""The turn-latency benchmark's text-backend A/B: medians over the rounds, before / after ratios and the
verdict on the issue's bar are computed from the levels as the report says (no gateway runs here)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def text_ab() -> Iterator[Any]:
    sys.path.insert(0, str(BENCHMARKS))
    before = set(sys.modules)
    try:
        yield importlib.import_module("turn_latency.text_ab")
    finally:
        sys.path.remove(str(BENCHMARKS))
        for name in set(sys.modules) - before:
            if name in ("report", "turn_latency") or name.startswith(("turn_latency.", "report.")):
                del sys.modules[name]


def _level(phrases: str, p99: float, rps: float, errors: int = 0) -> dict[str, Any]:
    return {"clients": 10, "phrases": phrases, "p50_ms": p99 / 2, "p95_ms": p99 * 0.9, "p99_ms": p99,
            "throughput_rps": rps, "server_cpu_ms_per_turn": 5.0, "engine_cpu_ms_per_turn": 3.0, "errors": errors}


def _run(backend: str, unique: list[float], rps: float) -> dict[str, Any]:
    levels = [lv for r, p99 in enumerate(unique) for lv in (
        {**_level("repeated", 30.0, 300.0), "repeat": r}, {**_level("unique", p99, rps), "repeat": r})]
    return {"backend": f"edge-text-{backend}", "text_backend": backend, "levels": levels}


def test_medians_ratios_and_target(text_ab: Any) -> None:
    before, after = text_ab.TEXT_AB
    runs = [_run(before, [90.0, 140.0, 100.0], 120.0), _run(after, [45.0, 60.0, 48.0], 240.0)]
    assert text_ab.medians(runs[0], "unique")["p99_ms"] == 100.0  # the median of the rounds, per metric
    ratios = text_ab.ab_ratios(runs)
    assert ratios["unique"] == {"p50": 2.08, "p95": 2.08, "p99": 2.08, "throughput": 2.0}
    assert ratios["repeated"]["p99"] == 1.0
    verdict = text_ab.ab_target(runs)
    assert verdict["met"] is True and f"{after}: **met**" in verdict["statement"]
    assert f"{before}: **not met**" in verdict["statement"]
    runs[1]["levels"][1]["errors"] = 1  # any error fails the bar
    assert text_ab.ab_target(runs)["met"] is False


def test_rounds_alternate_the_order(text_ab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []

    def fake_run(backend: str, *args: Any) -> dict[str, Any]:
        started.append(backend)
        return {"ready_s": 1.0, "gateway_peak_rss_mb": 1, "gateway_tree_peak_rss_mb": 2,
                "peak_rss_by_process_mb": {"text": 1}, "levels": [_level("unique", 50.0, 100.0)]}

    monkeypatch.setattr(text_ab, "run_backend", fake_run)
    runs = text_ab.run_ab(Path("/w"), Path("/c"), "b:1", 0.1, 3)
    a, b = (f"edge-text-{name}" for name in text_ab.TEXT_AB)
    assert started == [a, b, b, a, a, b]
    assert [r["text_backend"] for r in runs] == list(text_ab.TEXT_AB)
    assert [lv["repeat"] for lv in runs[0]["levels"]] == [0, 1, 2] and len(runs[0]["starts"]) == 3
