"""End-to-end MVT-Fusion benchmark: generate the synthetic benchmark, train every variant, evaluate with
the paper's protocol, check paraphrase robustness, and measure throughput.

    nice -n 10 .venv/bin/python benchmarks/fusion_bench.py --work data/fusion --out docs/benchmarks/fusion

Writes OUT/report.json, OUT/report.md, OUT/recall_at_k.png, OUT/throughput.json, OUT/throughput.md.
Training runs ``--jobs`` variants at a time, one torch thread each (the 2-core budget of the issue).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from musechat.fusion.model import VARIANTS


def _train_one(args: tuple[str, str, str]) -> dict[str, Any]:
    variant, data, out = args
    from musechat.fusion.model import load_config
    from musechat.fusion.train import train_variant

    return train_variant(load_config(variant), data, out, progress=False).to_json()


def _query_throughput(run: Path, data: Path, batch: int, seconds: float = 5.0) -> dict[str, float]:
    """Turn-2 query-tower throughput: queries per wall second and per CPU second (contention-free)."""
    import torch

    from musechat.fusion.data import QuartetDataset
    from musechat.fusion.model import load_checkpoint
    from musechat.fusion.train import TensorSet

    torch.set_num_threads(1)
    model, _ = load_checkpoint(run)
    ts = TensorSet(QuartetDataset(data))
    b = ts.batch(torch.arange(batch) % ts.n, torch.device("cpu"))
    args = (b["video"], b["video_mask"], b["candidate"], b["candidate_mask"], b["text"], b["text_mask"])
    with torch.inference_mode():
        model.encode_query(*args)
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            model.encode_query(*args)
            n += 1
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"per_wall_s": round(n * batch / wall, 1), "per_cpu_s": round(n * batch / max(cpu, 1e-9), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("data/fusion"), help="benchmark data + runs")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/fusion"))
    parser.add_argument("--quartets", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="variants trained in parallel (1 thread each)")
    parser.add_argument("--skip-train", action="store_true", help="reuse the runs already in WORK/runs")
    args = parser.parse_args()

    from musechat.fusion.data import QuartetDataset
    from musechat.fusion.evaluate import EvalSet, evaluate_checkpoints, evaluate_model, find_runs
    from musechat.fusion.model import load_checkpoint
    from musechat.fusion.synth import generate_benchmark, load_phrasebook

    bench, para, runs = args.work / "bench", args.work / "bench-paraphrase", args.work / "runs"
    t0 = time.perf_counter()
    if not (bench / "benchmark.json").is_file():
        generate_benchmark(bench, args.quartets, args.seed)
    if not (para / "benchmark.json").is_file():
        generate_benchmark(para, args.quartets, args.seed, load_phrasebook("paraphrase_test"), splits=["test"])
    gen_seconds = time.perf_counter() - t0

    train: dict[str, Any] = {}
    t0 = time.perf_counter()
    if not args.skip_train:
        # The slowest variants first, so two workers finish at about the same time.
        order = ["musechat", "no_video", "self_attn", "no_candidate", "cross_attn", "mvp", "sum"]
        jobs = [(v, str(bench / "train"), str(runs / v)) for v in order]
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for result in pool.map(_train_one, jobs):
                train[result["variant"]] = result
                print(json.dumps(result), flush=True)
        train_wall = time.perf_counter() - t0
    else:
        train = {v: json.loads((runs / v / "train_result.json").read_text()) for v in VARIANTS}
        train_wall = float("nan")
    train_cpu = sum(r["cpu_seconds"] for r in train.values())

    # Paraphrase robustness: the full model, trained on default wording, on test-only wording.
    es_default = EvalSet.build(QuartetDataset(bench / "test"))
    es_para = EvalSet.build(QuartetDataset(para / "test"))
    model, _ = load_checkpoint(runs / "musechat")
    r1_default = evaluate_model(model, es_default)[0]["R@1"]
    m_para = evaluate_model(model, es_para)[0]
    drop = 100.0 * (r1_default - m_para["R@1"]) / max(r1_default, 1e-9)

    notes = {
        "benchmark": f"synthetic, {args.quartets} quartets (seed {args.seed}); test split "
        f"{len(es_default.ds)} queries; docs/synthetic-benchmark.md",
        "training": f"{len(VARIANTS)} variants, {args.jobs} at a time, 1 torch thread each; wall "
        f"{train_wall / 60:.1f} min, CPU {train_cpu / 60:.1f} min in total on a shared machine "
        f"({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
        "paraphrases": f"musechat on the same test videos worded with phrasebooks/paraphrase_test.json: "
        f"R@1 {m_para['R@1']} vs {r1_default} ({drop:+.1f}% relative drop), MR {m_para['MR']}",
        "SR": "success if the target is ranked first at turn 1 (video only) or at turn 2",
    }
    report = evaluate_checkpoints(bench, find_runs(runs), args.out, notes=notes)
    v = report["variants"]
    checks = {
        "musechat_beats_all_on_R@1_and_MR": all(
            v["musechat"]["R@1"] > v[n]["R@1"] and v["musechat"]["MR"] <= v[n]["MR"]
            for n in VARIANTS
            if n != "musechat"
        ),
        "no_video_hurts_most": v["no_video"]["R@1"] < v["no_candidate"]["R@1"],
        "R@1_ratio_vs_mvp": round(v["musechat"]["R@1"] / max(v["mvp"]["R@1"], 1e-9), 2),
        "R@1_ratio_vs_no_candidate": round(v["musechat"]["R@1"] / max(v["no_candidate"]["R@1"], 1e-9), 2),
        "paraphrase_relative_drop_pct": round(drop, 1),
        "train_wall_minutes": round(train_wall / 60, 2),
        "train_cpu_minutes": round(train_cpu / 60, 2),
    }
    report["checks"] = checks
    report["paraphrase_test"] = m_para
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    with (args.out / "report.md").open("a", encoding="utf-8") as fh:
        fh.write("## Checks\n\n" + "\n".join(f"- {k}: {val}" for k, val in checks.items()) + "\n")

    throughput: dict[str, Any] = {
        "device": "cpu, 1 torch thread",
        "generation_seconds": round(gen_seconds, 1),
        "training": {
            n: {k: r[k] for k in ("samples_per_s", "seconds", "cpu_seconds", "steps", "samples")}
            for n, r in train.items()
        },
        "query_tower_queries_per_s": {
            f"batch_{b}": _query_throughput(runs / "musechat", bench / "test", b) for b in (1, 256)
        },
    }
    (args.out / "throughput.json").write_text(json.dumps(throughput, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# MVT-Fusion throughput (CPU, 1 torch thread, shared 2-core machine)",
        "",
        "Wall time is inflated by the other jobs sharing the cores; samples per CPU-second is what one",
        "dedicated core sustains.",
        "",
        "| variant | train samples/s (wall) | samples per CPU-s | wall s | CPU s |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {n} | {r['samples_per_s']} | {r['samples'] / max(r['cpu_seconds'], 1e-9):.0f} | {r['seconds']} | "
        f"{r['cpu_seconds']} |"
        for n, r in throughput["training"].items()
    ]
    q = throughput["query_tower_queries_per_s"]
    lines += [
        "",
        "Query tower (musechat, turn-2 inputs), queries/s: batch 1 "
        f"{q['batch_1']['per_wall_s']} per wall s ({q['batch_1']['per_cpu_s']} per CPU s); batch 256 "
        f"{q['batch_256']['per_wall_s']} per wall s ({q['batch_256']['per_cpu_s']} per CPU s).",
        "",
    ]
    (args.out / "throughput.md").write_text("\n".join(lines), encoding="utf-8")
    print(json.dumps(checks, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
