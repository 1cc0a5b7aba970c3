"""`musechat explainer train|eval` (registered into the top-level CLI by `register`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from musechat.errors import CliError
from musechat.explain.models import DEFAULT_BASE_MODEL_DIR

DEFAULT_ADAPTER_DIR = Path("models/adapters/explainer")


def _usage_error(message: str) -> Exception:
    return CliError(message)


def _base_model(path: Path) -> Path:
    from musechat.explain.models import ensure_smollm2_hf

    if path == DEFAULT_BASE_MODEL_DIR:
        return ensure_smollm2_hf(path)  # the bundled SmolLM2 is materialised on first use
    if not (path / "config.json").is_file():
        raise _usage_error(f"--base-model {path} is not a Hugging Face model directory (no config.json)")
    return path


def _examples(args: argparse.Namespace, split: str) -> tuple[list, list[str], str]:
    from musechat.explain.datasets import examples_from_quartets, quartet_titles, synthetic_examples

    if args.data is not None:
        try:
            examples = examples_from_quartets(args.data, split, limit=args.limit)
            titles = quartet_titles(args.data, split)
        except (ValueError, FileNotFoundError) as exc:
            raise _usage_error(f"--data {args.data}: {exc}") from exc
        return examples, titles, f"quartet dataset {args.data} ({split})"
    # Train and eval draw disjoint synthetic sets (different seeds): eval is held out.
    seed = args.seed if split == "train" else args.seed + 10_000
    examples = synthetic_examples(args.synthetic, seed=seed)
    return examples, sorted({e.title for e in examples}), f"built-in synthetic examples (seed {seed})"


def _cmd_train(args: argparse.Namespace) -> int:
    from musechat.explain.train import TrainConfig, train_adapter

    base = _base_model(args.base_model)
    examples, _, source = _examples(args, args.split)
    print(f"training a LoRA adapter + music projector on {len(examples)} examples from {source}")
    cfg = TrainConfig(
        base_model=base,
        out_dir=args.out,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        music_tokens=args.music_tokens,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
    )
    report = train_adapter(examples, cfg)
    print(f"loss {report.first_loss:.3f} → {report.last_loss:.3f} in {report.seconds:.0f}s; adapter: {report.out_dir}")
    print(f"serve with: --enable-lora --lora-modules explainer={Path(report.out_dir).resolve()}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    import os
    import platform
    import sys
    import time
    from dataclasses import replace

    from musechat.explain.datasets import contradiction_examples, facts_examples
    from musechat.explain.evaluate import default_setups, evaluate, write_report
    from musechat.explain.grounding import CatalogTitleIndex

    started = time.monotonic()
    base = _base_model(args.base_model)
    adapter_dir = args.adapter
    if adapter_dir is None:  # the default adapter: trained once here if this machine has none yet
        from musechat.explain.train import ensure_default_adapter

        adapter_dir = ensure_default_adapter(base, args.adapter_root, threads=args.threads)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise _usage_error(f"--adapter {adapter_dir} has no adapter_config.json; run `musechat explainer train`")
    if args.data is not None:
        examples, titles, source = _examples(args, args.split)
        sources = [args.data.name] * len(examples)
    else:  # held out: the default adapter trains on seed 0
        examples = facts_examples(args.synthetic, seed=args.seed + 10_000)
        sources = ["synthetic"] * len(examples)
        titles, source = [], f"{args.synthetic} facts-format synthetic examples (seed {args.seed + 10_000}, held out)"
        if args.world:
            world = _world_examples(args.seed)
            examples += world
            sources += ["demo world"] * len(world)
            source += " + 72 demo-world examples (every world track, demo-shaped turns, a rendered demo video's facts)"
        if args.real_catalog is not None:
            real = _real_catalog_examples(args.real_catalog, args.seed)
            examples += real
            sources += ["real-music catalog"] * len(real)
            source += (f" + {len(real)} real-music examples (two turns per track of the real-music suite's catalog"
                       f", facts as ingestion measured them: {args.real_catalog})")
    contradictions = contradiction_examples(args.contradictions, seed=args.seed + 20_000)
    names = sorted({*titles, *(n for e in [*examples, *contradictions] for n in (e.title, e.artist))})
    if args.vllm_url:
        from musechat.explain.backends.vllm import VllmBackend

        backend: object = VllmBackend(args.vllm_url, base, served_model_name=args.served_model_name,
                                      adapter_dirs={args.adapter_name: adapter_dir})  # fmt: skip
        backend_name = f"vllm at {args.vllm_url}"
    elif args.backend == "ctranslate2":
        from musechat.explain.backends.ctranslate2 import Ct2Backend

        if "music" in args.setups.split(","):
            raise _usage_error("--backend ctranslate2 takes no music token: leave 'music' out of --setups")
        backend = Ct2Backend(base, adapters={args.adapter_name: adapter_dir}, compute_type=args.ct2_compute_type,
                             threads=args.threads)  # fmt: skip
        backend_name = f"ctranslate2 {args.ct2_compute_type} (adapter merged and converted, CPU, batched greedy)"
    else:
        from musechat.explain.backends.local import LocalBackend

        backend = LocalBackend(base, adapters={args.adapter_name: adapter_dir}, threads=args.threads)
        backend_name = "local (transformers + peft, CPU, batched greedy decoding)"
    wanted = set(args.setups.split(","))
    setups = [s for key, s in zip(("base", "lora", "music"), default_setups(args.adapter_name), strict=True)
              if key in wanted]  # fmt: skip
    if args.vllm_url:  # its own rows: an --append beside the in-process backend's keeps both
        setups = [replace(s, name=f"{s.name} (vLLM)") for s in setups]
    scores = evaluate(backend, examples, setups, CatalogTitleIndex(names), contradiction_set=contradictions,  # type: ignore[arg-type]
                      max_tokens=args.max_tokens, latency_n=args.latency_n, sources=sources)  # fmt: skip
    meta = {"base_model": str(base), "adapter": str(adapter_dir), "backend": backend_name, "data": source,
            "n": len(examples), "n_contradiction": len(contradictions), "max_tokens": args.max_tokens,
            "command": "musechat explainer eval " + " ".join(sys.argv[3:]),
            "seconds": round(time.monotonic() - started),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
            "catalog_names": len(names)}  # fmt: skip
    samples = []
    for ex in examples[:: max(1, len(examples) // 6)][:6]:  # a few first attempts, for the reader
        from musechat.explain.explainer import Explainer, ExplainRequest
        from musechat.explain.prompt import build_prompt

        setup = scores[-1].name
        adapter = setups[-1].adapter
        explainer = Explainer(backend, CatalogTitleIndex(names), default_adapter=adapter,  # type: ignore[arg-type]
                              max_tokens=args.max_tokens)  # fmt: skip
        req = ExplainRequest(track=ex.track, user_words=ex.user_words, previous=ex.previous, video=ex.video)
        res = explainer.explain(req)
        prompt = build_prompt(ex.track, ex.user_words, previous=ex.previous, video=ex.video)
        samples.append({"setup": setup, "facts": " | ".join(prompt.user.splitlines()), "text": res.raw[0] if res.raw
                        else "", "check": "; ".join(explainer.check(res.raw[0], req).problems) or "passes"
                        if res.raw else "no text", "served": res.text or ""})  # fmt: skip
    json_path = args.out.with_suffix(".json")
    if args.append and json_path.is_file():  # setups measured in an earlier run of this command
        earlier = json.loads(json_path.read_text())
        from musechat.explain.evaluate import SetupScores

        scores = [SetupScores(**r) for r in earlier["results"] if r["name"] not in {s.name for s in scores}] + scores
        meta["earlier_runs"] = [*earlier["meta"].get("earlier_runs", []),
                                {k: v for k, v in earlier["meta"].items() if k != "earlier_runs"}]
        samples = [*earlier.get("samples", []), *samples]
    write_report(scores, meta, json_path, args.out.with_suffix(".md"), samples)
    print(f"report: {args.out.with_suffix('.md')}")
    return 0


def _world_examples(seed: int) -> list:
    import tempfile

    from musechat.demo.run import DEMO_VIDEO
    from musechat.demo.world import render_video
    from musechat.explain.datasets import world_examples
    from musechat.explain.facts import VideoFacts
    from musechat.gateway.explanations import measure_video

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo-video.mp4"
        render_video(DEMO_VIDEO, path)
        video = VideoFacts(**measure_video(str(path)).model_dump())
    return world_examples(video, seed=seed)


def _real_catalog_examples(cache: Path, seed: int) -> list:
    """The real-music suite's catalog (`benchmarks/real_catalog.py` keeps each track's measured facts
    under CACHE/encodings/PACKAGE--DIR--FILE.json) as explanation examples."""
    from musechat.explain.datasets import catalog_examples

    payloads = []
    for memo in sorted((cache / "encodings").glob("*.json")):
        entry = json.loads(memo.read_text())
        if "facts" not in entry:  # a file ingestion refused
            continue
        package, folder, stem = memo.stem.split("--", 2)
        title = folder if stem == "song" else stem  # Frets on Fire keeps every song as DIR/song.ogg
        payloads.append({"track_id": memo.stem, "title": title.replace("_", " "), "artist": package,
                         "facts": entry["facts"], "duration_s": entry.get("duration_s")})
    if len(payloads) < 2:
        raise _usage_error(f"--real-catalog {cache} holds no ingested tracks; run benchmarks/real_catalog.py first")
    return catalog_examples(payloads, seed=seed)


def _data_args(p: argparse.ArgumentParser, split: str, n: int) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", type=Path, help="quartet dataset (or a benchmark root with splits)")
    src.add_argument("--synthetic", type=int, default=n, help=f"built-in synthetic examples (default {n})")
    p.add_argument("--split", default=split, help=f"split of --data (default {split})")
    p.add_argument("--limit", type=int, help="use at most this many examples of --data")
    p.add_argument("--base-model", type=Path, default=DEFAULT_BASE_MODEL_DIR,
                   help="Hugging Face model directory (default: SmolLM2-135M-Instruct, created on first use)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch CPU threads")


def register(commands: argparse._SubParsersAction) -> None:
    explainer = commands.add_parser("explainer", help="explanation adapter training and evaluation")
    actions = explainer.add_subparsers(dest="action", required=True)

    train = actions.add_parser("train", help="train a LoRA adapter + music projector; export for vLLM")
    _data_args(train, "train", 256)
    train.add_argument("--out", type=Path, default=DEFAULT_ADAPTER_DIR, help="adapter output directory")
    train.add_argument("--steps", type=int, default=60)
    train.add_argument("--batch-size", type=int, default=2)
    train.add_argument("--lr", type=float, default=3e-4)
    train.add_argument("--music-tokens", type=int, default=1, help="soft tokens per track")
    train.add_argument("--device", default="cpu", help="torch device, e.g. cuda for a 7B base model")
    train.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    train.set_defaults(func=_cmd_train)

    ev = actions.add_parser("eval", help="pass rate, contradictions, hallucinations, distinct-2, BERTScore, latency")
    _data_args(ev, "test", 200)
    ev.add_argument("--adapter", type=Path, help="adapter dir (default: the project's default adapter)")
    ev.add_argument("--adapter-root", type=Path, default=Path("var/explainer"), help="where the default adapter is")
    ev.add_argument("--setups", default="base,lora,music", help="comma list of base, lora, music")
    ev.add_argument("--append", action="store_true", help="keep the setups of an earlier report at --out")
    ev.add_argument("--no-world", dest="world", action="store_false", help="leave out the demo-world examples")
    ev.add_argument("--real-catalog", type=Path, metavar="CACHE",
                    help="add two examples per track of the real-music suite's catalog (its cache directory, "
                         "e.g. ~/.cache/musechat/real-music, filled by benchmarks/real_catalog.py)")
    ev.add_argument("--contradictions", type=int, default=60, help="size of the contradiction test set")
    ev.add_argument("--latency-n", type=int, default=20, help="explanations timed one at a time per setup")
    ev.add_argument("--adapter-name", default="explainer")
    ev.add_argument("--vllm-url", help="evaluate through a vLLM server instead of in-process")
    ev.add_argument("--backend", choices=["local", "ctranslate2"], default="local",
                    help="in-process backend (default local: the reference; ctranslate2 takes no music token)")
    ev.add_argument("--ct2-compute-type", choices=["int8", "float32"], default="int8")
    ev.add_argument("--served-model-name", default="smollm2")
    ev.add_argument("--max-tokens", type=int, default=64)
    ev.add_argument("--out", type=Path, default=Path("docs/benchmarks/explainer_eval"),
                    help="report path without suffix (.json and .md are written)")
    ev.set_defaults(func=_cmd_eval)
