"""Encoder cost on this machine's CPU: video (decode + CLIP per 30 s clip) and text (latency per batch).

    nice -n 10 python benchmarks/encoders_bench.py            # writes docs/benchmarks/encoders.{json,md}

Each part runs in a fresh subprocess so its peak RSS is its own:
- video-tiny / video-vitb32: one synthetic 30 s clip (640x360, 25 fps, H.264) decoded at 5 fps into three
  10 s segments (150 frames) and encoded with the embedded tiny random CLIP and with a full-size
  random-init CLIP ViT-B/32 (the production architecture; random weights cost the same as trained
  ones). CPU time = user + system of the process; wall time beside it.
- text: the real all-MiniLM-L6-v2 at max 32 tokens, batch 1 and batch 32 of short user utterances.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import report as bench_report

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "docs" / "benchmarks"
PARTS = ("video-tiny", "video-vitb32", "text")

UTTERANCES = [
    "I'd like more guitar and a male voice",
    "slower, no vocals",
    "something upbeat with piano",
    "make it darker and more cinematic",
    "less drums please, and a female singer",
    "faster! like a chase scene",
    "instrumental, calm, acoustic",
    "can we try electronic with a heavy bass line",
]


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), bench_report.cpu_s()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(bench_report.cpu_s() - c0)
    return walls, cpus


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def bench_video(spec_name: str, repeats: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from musechat.encoders.clip_video import ClipFrameEncoder, VideoEncoder, load_spec, make_random_clip
    from musechat.media.video import decode_video
    from tests.fixtures_video import make_video

    spec = load_spec(spec_name)
    with tempfile.TemporaryDirectory(prefix="musechat-bench-") as tmp:
        clip = make_video(Path(tmp) / "clip.mp4", duration_s=30.0, style="energetic", fps=25, size=(640, 360))
        ckpt = make_random_clip(Path(tmp) / "clip", spec.clip.random_config, 0, f"random-init-{spec.name}")
        load_w0 = time.perf_counter()
        encoder = VideoEncoder(spec, ClipFrameEncoder.load(ckpt))
        load_s = time.perf_counter() - load_w0
        size = encoder.frames.frame_size
        decoded = decode_video(clip, frame_size=size)
        encoder.encode(clip)  # warm-up: first forward pass allocates
        dec_wall, dec_cpu = _timed(lambda: decode_video(clip, frame_size=size), repeats)
        enc_wall, enc_cpu = _timed(lambda: encoder.encode_decoded([decoded]), repeats)
        all_wall, all_cpu = _timed(lambda: encoder.encode(clip), repeats)
        params = sum(p.numel() for p in encoder.frames.model.parameters())
    return {
        "spec": spec.name,
        "params_m": round(params / 1e6, 2),
        "frames": decoded.num_frames,
        "segments": decoded.num_segments,
        "frame_size": size,
        "load_s": round(load_s, 2),
        "decode_wall_s": round(statistics.median(dec_wall), 3),
        "decode_cpu_s": round(statistics.median(dec_cpu), 3),
        "clip_wall_s": round(statistics.median(enc_wall), 3),
        "clip_cpu_s": round(statistics.median(enc_cpu), 3),
        "total_wall_s": round(statistics.median(all_wall), 3),
        "total_cpu_s": round(statistics.median(all_cpu), 3),
        "repeats": repeats,
        "peak_rss_mb": round(bench_report.peak_rss_mb(), 1),
    }


def bench_text(iters_1: int, iters_32: int) -> dict[str, Any]:
    from musechat.encoders.text import TextEncoder, load_spec

    load_w0 = time.perf_counter()
    encoder = TextEncoder.load(load_spec())
    load_s = time.perf_counter() - load_w0
    batch32 = [UTTERANCES[i % len(UTTERANCES)] for i in range(32)]
    encoder.encode(batch32)  # warm-up
    out: dict[str, Any] = {"model": encoder.version, "max_tokens": encoder.max_tokens, "load_s": round(load_s, 2)}
    for name, batch, iters in (("batch1", None, iters_1), ("batch32", batch32, iters_32)):
        lat: list[float] = []
        cpu: list[float] = []
        for i in range(iters):
            texts = batch or [UTTERANCES[i % len(UTTERANCES)]]
            t0, c0 = time.perf_counter(), bench_report.cpu_s()
            encoder.encode(texts)
            lat.append((time.perf_counter() - t0) * 1000)
            cpu.append((bench_report.cpu_s() - c0) * 1000)
        out[name] = {
            "iterations": iters,
            "median_ms": round(statistics.median(lat), 2),
            "p99_ms": round(_percentile(lat, 99), 2),
            "per_text_median_ms": round(statistics.median(lat) / len(batch or [0]), 2),
            "median_cpu_ms": round(statistics.median(cpu), 2),
        }
    out["peak_rss_mb"] = round(bench_report.peak_rss_mb(), 1)
    return out


def run_part(part: str, args: argparse.Namespace) -> dict[str, Any]:
    load_start = round(os.getloadavg()[0], 1)
    if part == "video-tiny":
        out = bench_video("video_clip_tiny", args.video_repeats)
    elif part == "video-vitb32":
        out = bench_video("video_clip_vit_b32", args.video_repeats)
    else:
        out = bench_text(args.text_iters_1, args.text_iters_32)
    # The machine is shared: the load around a part says how much its wall times mean.
    out["load_avg_1m"] = [load_start, round(os.getloadavg()[0], 1)]
    out["date_utc"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    return out


def machine() -> dict[str, Any]:
    import torch

    env = bench_report.environment()
    cpu = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": env.cpus,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": env.python,
    }


def write_markdown(report: dict[str, Any], path: Path) -> None:
    m = report["machine"]
    lines = [
        "# Encoder benchmarks (CPU)",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores (shared with other jobs, run under `nice`), torch "
        f"{m['torch']} with {m['torch_threads']} threads. "
        "Regenerate: `nice -n 10 python benchmarks/encoders_bench.py` (`--parts text` reruns one part).",
        "",
        "Each part lists the 1-minute load average before / after it. Above the core count, wall times",
        "mostly measure waiting for a core and CPU times are inflated by thread contention: treat both as",
        "upper bounds for an idle machine of this kind.",
        "",
        "## Video: one 30 s clip (640x360, 25 fps, H.264) -> 3 segments x 50 frames at 5 fps",
        "",
        "Medians of the repeats; CPU = user + system seconds of the process (both cores count).",
        "",
        *bench_report.table(
            ["model", "params", "frame size", "decode wall / CPU s", "CLIP wall / CPU s", "total wall / CPU s",
             "peak RSS MB", "load", "UTC"],
            [[f"{v['spec']} (random init)", f"{v['params_m']}M", v["frame_size"],
              f"{v['decode_wall_s']} / {v['decode_cpu_s']}", f"{v['clip_wall_s']} / {v['clip_cpu_s']}",
              f"{v['total_wall_s']} / {v['total_cpu_s']}", v["peak_rss_mb"],
              f"{v['load_avg_1m'][0]} / {v['load_avg_1m'][1]}", v["date_utc"]]
             for v in (report["video-tiny"], report["video-vitb32"])]),
    ]
    t = report["text"]
    lines += [
        "",
        f"## Text: {t['model']}, max {t['max_tokens']} tokens, short user utterances",
        "",
        f"Load {t['load_avg_1m'][0]} / {t['load_avg_1m'][1]}, {t['date_utc']} UTC.",
        "",
        *bench_report.table(
            ["batch", "iterations", "median ms", "p99 ms", "per text (median) ms", "median CPU ms"],
            [[label, b["iterations"], b["median_ms"], b["p99_ms"], b["per_text_median_ms"], b["median_cpu_ms"]]
             for label, b in (("1", t["batch1"]), ("32", t["batch32"]))]),
        "",
        f"Text encoder peak RSS: {t['peak_rss_mb']} MB (model load {t['load_s']} s).",
        "",
        "Reading: decoding is a small share; CLIP dominates and scales with frames (150 per 30 s at 5 fps,",
        "600 for a full 12-segment video). On a GPU node the ViT-B/32 pass is milliseconds; on CPU it is the",
        "cost to plan for, which is why videos are encoded once, asynchronously, at upload.",
        "",
    ]
    bench_report.write_markdown(path, lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=PARTS, help="run one part in this process and print JSON")
    parser.add_argument("--video-repeats", type=int, default=3)
    parser.add_argument("--text-iters-1", type=int, default=200)
    parser.add_argument("--text-iters-32", type=int, default=40)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="rerun these only")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(run_part(args.part, args)))
        return
    previous = args.out / "encoders.json"
    report: dict[str, Any] = json.loads(previous.read_text()) if previous.is_file() else {}
    report["machine"] = machine()
    passthrough = [
        f"--video-repeats={args.video_repeats}",
        f"--text-iters-1={args.text_iters_1}",
        f"--text-iters-32={args.text_iters_32}",
    ]
    for part in args.parts:
        print(f"[encoders_bench] {part} ...", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--part", part, *passthrough],
            check=True,
            capture_output=True,
            text=True,
        )
        report[part] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"[encoders_bench] {part}: {report[part]}", file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    bench_report.write_json(args.out / "encoders.json", report)
    write_markdown(report, args.out / "encoders.md")
    print(f"wrote {args.out / 'encoders.json'} and {args.out / 'encoders.md'}")


if __name__ == "__main__":
    main()
