"""Figures derived from the runs of the turn-latency benchmark: one level per client count (the median
repeat), ratios against the engine, and the verdict on the target."""

from __future__ import annotations

from typing import Any

import numpy as np

from turn_latency.params import TARGET_CLIENTS, TARGET_P99_MS


def median_levels(levels: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """One level per client count: of repeats (the target level), the one with the median p99."""
    out = {}
    for clients in {lv["clients"] for lv in levels}:
        mine = sorted((lv for lv in levels if lv["clients"] == clients), key=lambda lv: lv.get("p99_ms") or 0.0)
        out[clients] = mine[(len(mine) - 1) // 2]
    return out


def ratios(runs: list[dict[str, Any]], slower: str = "local", phrases: str = "repeated") -> list[dict[str, Any]]:
    """How many times slower `slower` is than the engine with micro-batching, per client count."""
    by = {run["backend"]: median_levels([lv for lv in run["levels"] if lv["phrases"] == phrases]) for run in runs}
    out = []
    for clients in sorted(set(by.get("edge", {})) & set(by.get(slower, {}))):
        e, lo = by["edge"][clients], by[slower][clients]
        row: dict[str, Any] = {"clients": clients}
        for key in ("p50", "p95", "p99"):
            edge_ms, other_ms = e.get(f"{key}_ms"), lo.get(f"{key}_ms")
            row[key] = round(other_ms / edge_ms, 1) if edge_ms and other_ms else None
        row["throughput"] = (round(e["throughput_rps"] / lo["throughput_rps"], 1)
                             if e["throughput_rps"] and lo["throughput_rps"] else None)
        out.append(row)
    return out


def target(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The target per phrase mix: repeated phrases (encodings from the text cache, measured TARGET_REPEATS
    times, judged on the median run's p99) and new ones."""
    edge = next((run for run in runs if run["backend"] == "edge"), None)
    rows = [lv for lv in (edge or {}).get("levels", []) if lv["clients"] == TARGET_CLIENTS]
    if not rows:
        return {"met": None, "statement": "The engine was not measured at 10 clients."}
    met: dict[str, bool] = {}
    parts = []
    for phrases in ("repeated", "unique"):
        mine = [lv for lv in rows if lv["phrases"] == phrases]
        if not mine:
            continue
        p99s = [lv.get("p99_ms") for lv in mine]
        errors = sum(lv["errors"] for lv in mine)
        median = float(np.median([p for p in p99s if p is not None])) if any(p is not None for p in p99s) else None
        ok = median is not None and median <= TARGET_P99_MS and errors == 0
        met[phrases] = ok
        runs_text = ", ".join(f"{p} ms" for p in p99s)
        parts.append(f"**{'met' if ok else 'not met'}** with {phrases} phrases: p99 {runs_text}"
                     + (f" (median {median:.1f} ms)" if len(mine) > 1 and median is not None else "")
                     + f", {errors} errors")
    statement = f"Qdrant Edge at {TARGET_CLIENTS} clients on this machine: " + "; ".join(parts) + "."
    return {"met": met, "statement": statement}
