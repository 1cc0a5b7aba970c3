"""The payload diet side by side (issue #17 item 3): the same gateway at the target concurrency against the
store built before it (per-segment features inside every `tracks` point's payload, which the ranker still
reads as a fallback) and the store built now (features in the cold `track_features` collection), in one
run, interleaved (A B, B A, ...: a fresh gateway per layout and round), repeated and unique phrases."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from turn_latency.load import Level, run_backend
from turn_latency.params import TARGET_CLIENTS
from turn_latency.text_ab import medians

LAYOUTS = ("features_in_payload", "features_collection")


def _levels(scale: float) -> list[Level]:
    return [Level("edge", TARGET_CLIENTS, "repeated", int(1500 * scale), 40.0),
            Level("edge", TARGET_CLIENTS, "unique", int(1500 * scale), 40.0)]


def _disk_mb(store: Path) -> float:
    return round(sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) / 2**20, 1)


def _ratio(after: float | None, before: float | None) -> float | None:
    return round(after / before, 3) if after is not None and before else None


def layouts(workdir: Path, legacy_workdir: Path, checkpoint: Path, bootstrap: str, scale: float,
            repeats: int) -> dict[str, Any]:
    """`repeats` rounds, the order alternating; medians per layout and the ratio before / after."""
    legacy = json.loads((legacy_workdir / "build.json").read_text())
    current = json.loads((workdir / "build.json").read_text())
    if legacy["tracks"] != current["tracks"]:
        raise SystemExit(f"{legacy_workdir} holds {legacy['tracks']} tracks, {workdir} {current['tracks']}")
    dirs = {LAYOUTS[0]: legacy_workdir, LAYOUTS[1]: workdir}
    load_start, t0 = os.getloadavg(), time.perf_counter()
    runs: dict[str, dict[str, Any]] = {name: {"layout": name, "levels": []} for name in LAYOUTS}
    for r in range(repeats):
        for name in LAYOUTS if r % 2 == 0 else LAYOUTS[::-1]:
            print(f"\n[layouts] round {r + 1}/{repeats}: {name}", flush=True)
            run = run_backend("edge", dirs[name], checkpoint, bootstrap, _levels(scale))
            for level in run["levels"]:
                level["repeat"] = r
            runs[name]["levels"] += run["levels"]
    med = {name: {p: medians(run, p) for p in ("unique", "repeated")} for name, run in runs.items()}
    ratios: dict[str, dict[str, float | None]] = {}
    for phrases in ("unique", "repeated"):
        before, after = med[LAYOUTS[0]][phrases], med[LAYOUTS[1]][phrases]
        ratios[phrases] = {key: _ratio(after[key], before[key]) for key in ("p50_ms", "p99_ms", "throughput_rps")}
    return {"repeats": repeats, "runs": list(runs.values()), "medians": med, "ratios_after_over_before": ratios,
            "store_disk_mb": {name: _disk_mb(dirs[name] / "edge") for name in LAYOUTS},
            "builds": {LAYOUTS[0]: legacy.get("format"), LAYOUTS[1]: current.get("format")},
            "loadavg_start": [round(x, 2) for x in load_start], "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "wall_s": round(time.perf_counter() - t0, 1)}
