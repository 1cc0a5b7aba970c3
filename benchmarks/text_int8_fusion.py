"""Does int8 text encoding keep the fusion ranking? The same trained MuseChat checkpoint evaluated on the
same test split encoded three ways: torch fp32 (what it was trained on), ONNX fp32 and ONNX int8.

    nice -n 10 .venv/bin/python benchmarks/text_int8_fusion.py [--work data/fusion] [--out docs/benchmarks]

Setup: the fusion benchmark's data and its trained `musechat` run when `--work` has them
(`benchmarks/fusion_bench.py`), else the same 30,000-quartet benchmark (seed 1) generated and the
`musechat` variant trained (seed 0, the bundled config). Then the test split is generated again from the
same seed with the ONNX encoders: the same videos, tracks and sentences, only the text features differ.
Writes docs/benchmarks/text_int8_fusion.{json,md}: R@1 / R@5 / MR / SR per encoding, how many queries keep
their target's rank, and the text features' drift (cosine of pooled vectors, max abs token difference).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from report import environment, fmt, peak_rss_mb, table, write_json, write_markdown

QUARTETS, DATA_SEED, TRAIN_SEED = 30000, 1, 0
ENCODINGS = ("torch", "onnx", "onnx-int8")


class OnnxTokens:
    """A `synth.TextTokenEncoder` look-alike on the gateway's ONNX backends (unique sentences encoded once)."""

    def __init__(self, backend: str, max_tokens: int) -> None:
        from musechat.encoders.text import load_spec
        from musechat.encoders.text_backend import load_text_encoder

        self._encoder = load_text_encoder(load_spec(), backend, max_tokens=max_tokens, batch_size=64, threads=2)
        self.name = f"sentence-transformers/all-MiniLM-L6-v2 ({backend})"
        self.dim = 384
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, sentences: Iterable[str]) -> list[np.ndarray]:
        sentences = list(sentences)
        todo = sorted({s for s in sentences if s not in self.cache})
        for sentence, arrays in zip(todo, self._encoder.encode_arrays(todo), strict=True):
            self.cache[sentence] = arrays.tokens
        return [self.cache[s] for s in sentences]


def _train_if_missing(work: Path) -> tuple[Path, Path, float]:
    """(test split dir of the torch-encoded benchmark, the trained musechat run, seconds spent here)."""
    from musechat.fusion.model import load_config
    from musechat.fusion.synth import generate_benchmark
    from musechat.fusion.train import train_variant

    t0 = time.perf_counter()
    bench, run = work / "bench", work / "runs" / "musechat"
    if not (bench / "benchmark.json").is_file():
        print(f"generating the {QUARTETS}-quartet benchmark (seed {DATA_SEED}) ...", flush=True)
        generate_benchmark(bench, QUARTETS, DATA_SEED)
    if not (run / "train_result.json").is_file():
        print("training musechat (seed 0) ...", flush=True)
        config = load_config("musechat")
        config = config.model_copy(update={"train": config.train.model_copy(update={"seed": TRAIN_SEED})})
        train_variant(config, bench / "train", run, threads=2, progress=True)
    return bench / "test", run, time.perf_counter() - t0


def _features_drift(encoders: dict[str, OnnxTokens], reference: Any, sentences: list[str]) -> dict[str, Any]:
    """Each ONNX encoding against torch's on the test split's distinct sentences."""
    torch_tokens = reference.encode(sentences)
    out: dict[str, Any] = {"sentences": len(sentences)}
    for backend, encoder in encoders.items():
        cosines, max_abs = [], 0.0
        for a, b in zip(torch_tokens, encoder.encode(sentences), strict=True):
            pa, pb = a.mean(axis=0), b.mean(axis=0)
            cosines.append(float(pa @ pb / (np.linalg.norm(pa) * np.linalg.norm(pb))))
            max_abs = max(max_abs, float(np.abs(a - b).max()))
        out[backend] = {"pooled_cosine_mean": float(np.mean(cosines)), "pooled_cosine_min": float(np.min(cosines)),
                        "token_max_abs_diff": max_abs}
    return out


def run(work: Path) -> dict[str, Any]:
    from musechat.fusion.data import QuartetDataset
    from musechat.fusion.evaluate import EvalSet, evaluate_model
    from musechat.fusion.model import load_checkpoint
    from musechat.fusion.synth import SynthConfig, TextTokenEncoder, generate_benchmark

    env = environment()
    test_dir, run_dir, setup_s = _train_if_missing(work)
    model, _ = load_checkpoint(run_dir)
    cfg = SynthConfig()
    encoders = {backend: OnnxTokens(backend, cfg.max_text_tokens) for backend in ENCODINGS[1:]}
    dirs = {"torch": test_dir}
    for backend, encoder in encoders.items():
        out = work / f"bench-test-{backend}"
        if not (out / "benchmark.json").is_file():
            print(f"test split again, text on {backend} ...", flush=True)
            generate_benchmark(out, QUARTETS, DATA_SEED, splits=["test"], encoder=encoder)  # type: ignore[arg-type]
        dirs[backend] = out / "test"
    results: dict[str, Any] = {}
    ranks: dict[str, np.ndarray] = {}
    for backend, directory in dirs.items():
        t0 = time.perf_counter()
        metrics, turn2_ranks = evaluate_model(model, EvalSet.build(QuartetDataset(directory)))
        results[backend] = {k: float(v) for k, v in metrics.items()} | {"eval_s": time.perf_counter() - t0}
        ranks[backend] = np.asarray(turn2_ranks)
        print(backend, json.dumps({k: round(v, 2) for k, v in results[backend].items()}), flush=True)
    agreement = {backend: {"same_rank_pct": float(100 * np.mean(ranks[backend] == ranks["torch"])),
                           "mean_abs_rank_change": float(np.mean(np.abs(ranks[backend] - ranks["torch"]))),
                           "R@1_relative_change_pct": 100 * (results[backend]["R@1"] - results["torch"]["R@1"])
                           / max(results["torch"]["R@1"], 1e-9)}
                 for backend in ENCODINGS[1:]}
    sentences = sorted(encoders["onnx-int8"].cache)[:2000]
    drift = _features_drift(encoders, TextTokenEncoder(max_tokens=cfg.max_text_tokens), sentences)
    return {"environment": env.__dict__, "checkpoint": str(run_dir), "queries": len(ranks["torch"]),
            "setup_s": setup_s, "metrics": results, "agreement_with_torch": agreement, "feature_drift": drift,
            "peak_rss_mb": peak_rss_mb()}


def markdown(result: dict[str, Any]) -> list[str]:
    env, metrics, agree = result["environment"], result["metrics"], result["agreement_with_torch"]
    drift = result["feature_drift"]
    keys = ("R@1", "R@5", "MR", "mean_rank", "SR")
    return [
        "# Int8 text encoding and the fusion ranking",
        "",
        f"Run {env['date_utc']} on {env['machine']}, {env['cpus']} CPUs (shared); peak RSS "
        f"{fmt(result['peak_rss_mb'])} MB. Written by `benchmarks/text_int8_fusion.py`.",
        "",
        f"One trained MuseChat checkpoint (`{result['checkpoint']}`, trained on torch fp32 text features) on the "
        f"synthetic benchmark's test split ({result['queries']} queries, the paper's protocol), the split generated "
        "three times from the same seed: the same videos, tracks and sentences, the text features from torch fp32, "
        "ONNX Runtime fp32 (the gateway's default) and ONNX Runtime int8 (dynamic quantization, opt-in).",
        "",
        *table(["text encoding", *keys, "same target rank as torch", "mean |rank change|", "R@1 change"],
               [[backend, *(fmt(metrics[backend][k], 2) for k in keys),
                 "—" if backend == "torch" else f"{agree[backend]['same_rank_pct']:.1f} %",
                 "—" if backend == "torch" else fmt(agree[backend]["mean_abs_rank_change"], 3),
                 "—" if backend == "torch" else f"{agree[backend]['R@1_relative_change_pct']:+.2f} %"]
                for backend in ENCODINGS]),
        "",
        f"Feature drift against torch on {drift['sentences']} of the test split's distinct sentences:",
        "",
        *table(["backend", "pooled cosine mean", "pooled cosine min", "token max abs diff"],
               [[b, f"{drift[b]['pooled_cosine_mean']:.4f}", f"{drift[b]['pooled_cosine_min']:.4f}",
                 fmt(drift[b]["token_max_abs_diff"], 4)] for b in ENCODINGS[1:]]),
        "",
        "The synthetic benchmark's text is its phrasebook wording (docs/synthetic-benchmark.md); the model is the "
        "documented configuration trained on CPU, not a production checkpoint.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("data/fusion"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    args = parser.parse_args(argv)
    result = run(args.work)
    write_json(args.out / "text_int8_fusion.json", result)
    write_markdown(args.out / "text_int8_fusion.md", markdown(result))
    print(f"wrote {args.out}/text_int8_fusion.{{json,md}}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
