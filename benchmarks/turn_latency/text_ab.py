"""The text backends side by side (issue #12 item 5): the gateway with its text model on the path before
(ONNX Runtime fp32) and on the default now (ONNX Runtime int8), in one run, interleaved (A B, B A, A B,
...: each repeat starts a fresh gateway per backend), at the target concurrency with phrases that never
repeat (every turn runs the text model) and with repeated ones; beside it, every backend's cost per
sentence in the gateway's own text process and the fidelity of its features against torch's (what the
fusion model was trained on; the ranking's own cost of int8 is benchmarks/text_int8_fusion.py's)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from turn_latency.load import Level, run_backend
from turn_latency.params import BATCH_STAGE, PHRASES, TARGET_CLIENTS, TARGET_P99_MS, unique_phrases

BEFORE, AFTER = "onnx", "onnx-int8"  # the gateway's text process before (fp32) and after (int8, the default now)
TEXT_AB = (BEFORE, AFTER)
FIDELITY_BACKENDS = ("onnx", "onnx-int8")
METRICS = ("p50_ms", "p95_ms", "p99_ms", "throughput_rps", "server_cpu_ms_per_turn", "engine_cpu_ms_per_turn")


def cache_dir(workdir: Path) -> Path:
    return workdir / "text-model-cache"  # the gateway's MUSECHAT_GATEWAY_TEXT_MODEL_CACHE_DIR (load.run_backend)


def ab_levels(backend: str, scale: float) -> list[Level]:
    name = f"edge-text-{backend}"
    return [Level(name, TARGET_CLIENTS, "repeated", int(1500 * scale), 40.0),
            Level(name, TARGET_CLIENTS, "unique", int(1500 * scale), 40.0)]


def run_ab(workdir: Path, checkpoint: Path, bootstrap: str, scale: float, repeats: int) -> list[dict[str, Any]]:
    """`repeats` rounds, the order alternating; one run entry per backend with every repeat's levels."""
    merged: dict[str, dict[str, Any]] = {}
    for r in range(repeats):
        order = TEXT_AB if r % 2 == 0 else TEXT_AB[::-1]
        for backend in order:
            run = run_backend(f"edge-text-{backend}", workdir, checkpoint, bootstrap, ab_levels(backend, scale))
            for level in run["levels"]:
                level["repeat"] = r
            entry = merged.setdefault(backend, {"backend": f"edge-text-{backend}", "text_backend": backend,
                                                "starts": [], "levels": []})
            entry["starts"].append({k: run[k] for k in ("ready_s", "gateway_peak_rss_mb", "gateway_tree_peak_rss_mb",
                                                        "peak_rss_by_process_mb")})
            entry["levels"] += run["levels"]
    return [merged[b] for b in TEXT_AB]


def medians(run: dict[str, Any], phrases: str) -> dict[str, float | None]:
    """Per metric, the median over the repeats of the target level."""
    levels = [lv for lv in run["levels"] if lv["phrases"] == phrases and lv["clients"] == TARGET_CLIENTS]
    out: dict[str, float | None] = {}
    for key in METRICS:
        values = [lv[key] for lv in levels if lv.get(key) is not None]
        out[key] = round(float(np.median(values)), 2) if values else None
    out["errors"] = float(sum(lv["errors"] for lv in levels))
    return out


def ab_ratios(runs: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """BEFORE / AFTER of the medians, per phrase mix (> 1: AFTER is faster; throughput: AFTER / BEFORE)."""
    by = {run["text_backend"]: run for run in runs}
    if not all(b in by for b in TEXT_AB):
        return {}
    out = {}
    for phrases in ("unique", "repeated"):
        t, o = medians(by[BEFORE], phrases), medians(by[AFTER], phrases)
        row: dict[str, float | None] = {}
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            row[key[:-3]] = round(t[key] / o[key], 2) if t[key] and o[key] else None
        row["throughput"] = (round(o["throughput_rps"] / t["throughput_rps"], 2)
                             if o["throughput_rps"] and t["throughput_rps"] else None)
        out[phrases] = row
    return out


def ab_target(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's bar for new sentences, on the median of AFTER's repeats, beside BEFORE's."""
    by = {run["text_backend"]: run for run in runs}
    parts, met = [], None
    for backend in TEXT_AB:
        if backend not in by:
            continue
        levels = [lv for lv in by[backend]["levels"] if lv["phrases"] == "unique"]
        m = medians(by[backend], "unique")
        ok = m["p99_ms"] is not None and m["p99_ms"] <= TARGET_P99_MS and not m["errors"]
        if backend == AFTER:
            met = ok
        parts.append(f"{backend}: **{'met' if ok else 'not met'}**, p99 "
                     + ", ".join(f"{lv.get('p99_ms')} ms" for lv in levels)
                     + f" (median {m['p99_ms']} ms), {int(m['errors'] or 0)} errors")
    return {"met": met, "statement": f"New sentences (unique phrases) at {TARGET_CLIENTS} clients, text model on "
            + "; ".join(parts) + "."}


def stage_costs(cache: Path, reps: int) -> dict[str, dict[str, float]]:
    """Each backend in a text process of its own, built as the gateway builds it (`build_text_encoder`,
    one intra-op thread) and called through the same pipe: median wall ms of one new sentence and of a
    batch of BATCH_STAGE, and CPU ms per sentence in that process."""
    from musechat.gateway.settings import GatewaySettings

    threads = GatewaySettings.model_fields["torch_threads"].default
    out = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        out[backend] = _stage_cost(backend, cache, threads, reps)
        print(f"  text stage {backend}: {out[backend]}", flush=True)
    return out


def _stage_cost(backend: str, cache: Path, threads: int, reps: int) -> dict[str, float]:
    import psutil

    from musechat.gateway.ports import HostedTextEncoder
    from musechat.gateway.runtime import TEXT, build_text_encoder
    from musechat.hosting import ProcessHost

    host = ProcessHost(f"bench-text-{backend}", build_text_encoder, threads, backend, cache)
    try:
        encoder = HostedTextEncoder(host, TEXT)
        child = psutil.Process(host.pid)
        texts = iter(unique_phrases()[::-1])

        def cpu() -> float:
            times = child.cpu_times()
            return float(times.user + times.system)

        def run(n: int) -> tuple[float, float]:
            encoder.encode([next(texts) for _ in range(n)])  # warm
            walls, c0 = [], cpu()
            for _ in range(reps):
                batch = [next(texts) for _ in range(n)]
                t = time.perf_counter()
                encoder.encode(batch)
                walls.append(time.perf_counter() - t)
            return float(np.median(walls)) * 1000, (cpu() - c0) / (reps * n) * 1000

        one_wall, one_cpu = run(1)
        batch_wall, batch_cpu = run(BATCH_STAGE)
        return {"one_wall_ms": round(one_wall, 2), "one_cpu_ms": round(one_cpu, 2),
                "batch_wall_ms_per_text": round(batch_wall / BATCH_STAGE, 2),
                "batch_cpu_ms_per_text": round(batch_cpu, 2), "threads": threads}
    finally:
        host.close()


def fidelity(cache: Path, n: int) -> dict[str, dict[str, float]]:
    """Each ONNX backend's features against torch's on the same texts (the load's phrases and `n` of its
    unique sentences): max |diff| of token features and pooled vectors, cosine of the pooled vectors."""
    from musechat.encoders.text import load_spec
    from musechat.encoders.text_backend import load_text_encoder

    texts = list(PHRASES) + unique_phrases()[:: max(1, 4000 // n)][:n]
    reference = load_text_encoder(load_spec(), "torch").encode_arrays(texts)
    out = {}
    for backend in FIDELITY_BACKENDS:
        arrays = load_text_encoder(load_spec(), backend, cache_dir=cache).encode_arrays(texts)
        cos = np.array([float(a.pooled @ b.pooled) for a, b in zip(reference, arrays, strict=True)])
        pairs = list(zip(reference, arrays, strict=True))
        out[backend] = {
            "texts": len(texts),
            "token_max_abs_diff": float(max(np.abs(a.tokens - b.tokens).max() for a, b in pairs)),
            "pooled_max_abs_diff": float(max(np.abs(a.pooled - b.pooled).max() for a, b in pairs)),
            "pooled_cosine_min": round(float(cos.min()), 6), "pooled_cosine_mean": round(float(cos.mean()), 6)}
        print(f"  fidelity {backend}: {out[backend]}", flush=True)
    return out


def text_backends(workdir: Path, checkpoint: Path, bootstrap: str, scale: float, repeats: int) -> dict[str, Any]:
    """The whole A/B section of the report."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    cache = cache_dir(workdir)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    print("\n[text backends] fidelity against torch (exports the ONNX models into the cache first) ...", flush=True)
    with ThreadPoolExecutor(1) as pool:  # a worker thread, as the gateway runs the model
        fid = pool.submit(fidelity, cache, max(50, int(400 * scale))).result()
    print("\n[text backends] cost per sentence in the gateway's text process ...", flush=True)
    stages = stage_costs(cache, max(20, int(200 * scale)))
    runs = run_ab(workdir, checkpoint, bootstrap, scale, repeats)
    return {"backends": list(TEXT_AB), "repeats": repeats, "fidelity": fid, "stages": stages, "runs": runs,
            "medians": {run["text_backend"]: {p: medians(run, p) for p in ("unique", "repeated")} for run in runs},
            "ratios": ab_ratios(runs), "target": ab_target(runs),
            "loadavg_start": [round(x, 2) for x in load_start], "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "wall_s": round(time.perf_counter() - t0, 1)}
