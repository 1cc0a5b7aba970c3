"""``musechat fusion train|eval`` and ``musechat synth generate``: thin shells over the fusion core.

``register(subparsers)`` adds both command groups to the top-level parser; every handler returns an exit
code (0 ok, 2 bad input with one readable line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from musechat.fusion.data import QuartetFormatError


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    fusion = subparsers.add_parser("fusion", help="MVT-Fusion model: train and evaluate")
    fsub = fusion.add_subparsers(dest="fusion_command", required=True)

    train = fsub.add_parser("train", help="train one variant (or all) on a quartet dataset")
    train.add_argument("--data", required=True, help="dataset dir, or benchmark root (uses its train/)")
    train.add_argument(
        "--variant", default="musechat", help="bundled variant name, 'all', or a JSON config file (default: musechat)"
    )
    train.add_argument("--out", required=True, help="run dir (with --variant all: one sub-dir per variant)")
    train.add_argument("--steps", type=_positive, help="optimizer steps (overrides the config's epochs)")
    train.add_argument("--epochs", type=float, help="epochs (overrides the config)")
    train.add_argument("--seed", type=int, help="overrides the config's seed")
    train.add_argument("--batch-size", type=_positive, help="overrides the config's batch size")
    train.add_argument("--resume", action="store_true", help="continue from OUT/train_state.pt")
    train.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")
    train.add_argument("--threads", type=_positive, default=1, help="CPU threads for torch (default 1)")
    train.set_defaults(func=cmd_train)

    ev = fsub.add_parser("eval", help="the paper's protocol: one checkpoint, or every run in --runs")
    ev.add_argument("--data", required=True, help="dataset dir, or benchmark root (uses its test/)")
    src = ev.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a run dir or its model.safetensors")
    src.add_argument("--runs", help="dir of run dirs (one per variant), e.g. from 'train --variant all'")
    ev.add_argument("--report", required=True, help="output dir for report.json, report.md, recall_at_k.png")
    ev.add_argument("--pool-size", type=_positive, default=500)
    ev.add_argument("--seed", type=int, default=0, help="base seed of the per-query pools")
    ev.add_argument("--device", default="cpu")
    ev.set_defaults(func=cmd_eval)

    synth = subparsers.add_parser("synth", help="synthetic MVT benchmark")
    ssub = synth.add_subparsers(dest="synth_command", required=True)
    gen = ssub.add_parser("generate", help="write train/val/test quartet datasets")
    gen.add_argument("--out", required=True)
    gen.add_argument("--quartets", type=_positive, required=True, help="total over all splits")
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--phrasebook", help="JSON phrasebook file or bundled name that every split speaks "
                     "(default: a wording per split, disjoint across splits: half of default.json + the "
                     "understanding train bank for train, the other half + the val bank for val, "
                     "paraphrase_test.json for test)")
    gen.add_argument("--splits", default="train,val,test", help="comma list of splits to write")
    gen.set_defaults(func=cmd_synth_generate)


def cmd_train(args: argparse.Namespace) -> int:
    from musechat.fusion.data import resolve_split
    from musechat.fusion.model import VARIANTS, load_config
    from musechat.fusion.train import train_variant

    names = list(VARIANTS) if args.variant == "all" else [args.variant]
    try:
        data = resolve_split(args.data, "train")
        configs = [load_config(n) for n in names]
    except (QuartetFormatError, OSError, ValueError) as exc:
        return _fail(str(exc).splitlines()[0])
    results = []
    for name, cfg in zip(names, configs, strict=True):
        overrides = (("epochs", args.epochs), ("seed", args.seed), ("batch_size", args.batch_size))
        updates = {k: v for k, v in overrides if v is not None}
        if updates:
            cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update=updates)})
        out = Path(args.out) / cfg.variant if args.variant == "all" else Path(args.out)
        try:
            result = train_variant(
                cfg, data, out, steps=args.steps, resume=args.resume, device=args.device, threads=args.threads
            )
        except (QuartetFormatError, ValueError) as exc:
            return _fail(f"{name}: {str(exc).splitlines()[0]}")
        results.append(result.to_json())
        print(json.dumps(result.to_json()))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from musechat.fusion.evaluate import EvalError, evaluate_checkpoints, find_runs

    try:
        if args.checkpoint:
            ckpt = Path(args.checkpoint)
            name = json.loads(((ckpt if ckpt.is_dir() else ckpt.parent) / "config.json").read_text())["variant"]
            checkpoints = {name: ckpt}
        else:
            checkpoints = find_runs(args.runs)
        report = evaluate_checkpoints(args.data, checkpoints, args.report, args.pool_size, args.seed, args.device)
    except (QuartetFormatError, EvalError, OSError, ValueError, KeyError) as exc:
        return _fail(str(exc).splitlines()[0])
    for name, row in report["variants"].items():
        print(f"{name:>13}: " + "  ".join(f"{k}={v}" for k, v in row.items()))
    print(f"report: {Path(args.report) / 'report.md'}")
    return 0


def cmd_synth_generate(args: argparse.Namespace) -> int:
    from musechat.fusion.synth import SynthError, generate_benchmark, load_phrasebook

    try:
        book = load_phrasebook(args.phrasebook) if args.phrasebook else None
        splits = [s.strip() for s in args.splits.split(",") if s.strip()]
        summary = generate_benchmark(args.out, args.quartets, args.seed, book, splits)
    except (SynthError, QuartetFormatError) as exc:
        return _fail(str(exc).splitlines()[0])
    print(json.dumps(summary["splits"]))
    return 0
