"""Music-encoder CPU timings: one 30 s track with the tiny AST and with a full-size random AST (86M).

    PYTHONPATH=src:. python benchmarks/music_encoder_bench.py --repeats 2 --threads 1
writes docs/benchmarks/music_encoder.json and .md. Random-init weights time exactly like trained ones.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import report as bench_report

from musechat.encoders.ast import AstFeaturizer, ast_feature_extractor, make_tiny_ast, state_dict_sha8
from musechat.encoders.music import DecodeLimits, MusicEncoder, load_spec
from musechat.media.audio import decode_audio
from musechat.media.segments import cut_segments, plan_segments
from tests.fixtures_media import write_tone

OUT_DIR = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def full_size_random_ast() -> AstFeaturizer:
    """ASTConfig() defaults (ViT-B/16, 86M parameters), random init, built in memory (no 350 MB save)."""
    import torch
    from transformers import ASTConfig, ASTModel

    torch.manual_seed(0)
    model = ASTModel(ASTConfig()).eval()
    return AstFeaturizer(model, ast_feature_extractor(), "random-init-base-seed0", state_dict_sha8(model))


def time_encoder(encoder: MusicEncoder, track: Path, repeats: int) -> dict[str, Any]:
    """Median wall and process-CPU seconds per stage. CPU time (all threads) is the number that survives
    a shared, contended machine; on an idle one wall ≈ CPU / torch threads at best."""
    encoder.encode(track)  # warm-up: first-call allocations, lazy imports
    samples: dict[str, list[float]] = {}

    def clock() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def record(stage: str, start: tuple[float, float], end: tuple[float, float]) -> None:
        samples.setdefault(f"{stage}_wall_s", []).append(end[0] - start[0])
        samples.setdefault(f"{stage}_cpu_s", []).append(end[1] - start[1])

    for _ in range(repeats):
        t0 = clock()
        decoded = decode_audio(track)
        waves = cut_segments(decoded.samples, decoded.sample_rate, plan_segments(decoded.duration_s))
        t1 = clock()
        encoder.ast.featurize(waves)
        t2 = clock()
        encoder.encode(track)
        t3 = clock()
        record("decode", t0, t1)
        record("ast", t1, t2)
        record("total", t2, t3)
    out: dict[str, Any] = {k: round(float(np.median(v)), 3) for k, v in samples.items()}
    for kind in ("wall", "cpu"):
        rest = out[f"total_{kind}_s"] - out[f"decode_{kind}_s"] - out[f"ast_{kind}_s"]
        out[f"musicnn_{kind}_s"] = round(rest, 3)
    out["ast_params_m"] = round(sum(p.numel() for p in encoder.ast.model.parameters()) / 1e6, 1)
    out["feature_dim"] = encoder.feature_dim
    out["feature_model"] = encoder.feature_model
    return out


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads (0 = torch's default). 1 gives clean CPU seconds on a busy machine: idle "
        "OpenMP workers spin, so multi-threaded CPU time is inflated when cores are oversubscribed.",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        track = write_tone(Path(tmp) / "track.mp3", "mp3", seconds=args.seconds, bpm=120)
        tiny = MusicEncoder.load("music-ast-tiny", ast_model=make_tiny_ast(Path(tmp) / "tiny", 0))
        results = {"tiny_ast": time_encoder(tiny, track, args.repeats)}
        print("tiny:", results["tiny_ast"])
        base = MusicEncoder(load_spec("music-ast-base"), full_size_random_ast(), tiny.taggers, DecodeLimits())
        results["full_ast_86m"] = time_encoder(base, track, args.repeats)
        print("full:", results["full_ast_86m"])

    env = bench_report.environment()
    report = {
        "what": f"encode one {args.seconds:.0f} s MP3 (3 segments): decode + AST + MusiCNN MSD/MTT + packing",
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "cpu_count": env.cpus,
        "load_average_1m_at_end": env.loadavg[0],
        "clocks": "wall = time.perf_counter; cpu = time.process_time (all threads of this process)",
        "machine": env.machine,
        "repeats": args.repeats,
        "statistic": "median",
        "results": results,
    }
    bench_report.write_json(args.out_dir / "music_encoder.json", report)
    bench_report.write_markdown(args.out_dir / "music_encoder.md", markdown(report))


def markdown(report: dict[str, Any]) -> str:
    """The page from the JSON alone."""
    rows = [[name, r["ast_params_m"], r["feature_dim"], kind, r[f"decode_{kind}_s"], r[f"ast_{kind}_s"],
             r[f"musicnn_{kind}_s"], f"**{r[f'total_{kind}_s']}**"]
            for name, r in report["results"].items() for kind in ("cpu", "wall")]
    return "\n".join([
        "# Music encoder, CPU timings", "",
        f"{report['what']}; median of {report['repeats']} after a warm-up; {report['cpu_count']} cores, "
        f"torch threads {report['torch_threads']}, 1-min load average {report['load_average_1m_at_end']} "
        "(a shared machine: wall times are inflated by other jobs; process CPU seconds, summed over "
        "threads, are the comparable figure).", "",
        *bench_report.table(["AST", "params (M)", "feature dim", "clock", "decode s", "AST s", "MusiCNN s",
                             "total s"], rows), "",
        "Generated by `benchmarks/music_encoder_bench.py`.", ""])


if __name__ == "__main__":
    main()
