"""`musechat model list|show|publish|rollback|gc|train`: the operator's side of the learning loop.

Every command works on the registry at MUSECHAT_MODEL_REGISTRY_DIR (or --registry). `publish` and
`rollback` only announce (a `model.published` event with a fresh id, so re-publishing a version is never
deduplicated away); the indexer builds the index, flips the alias and moves the live pointer, and the
ranker follows the alias. Exit codes: 0 done, 1 the gate refused (or a publish was refused for it),
2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any

from musechat.errors import CliError, MuseChatError
from musechat.registry.registry import ModelRegistry, RegistryError, VersionMeta
from musechat.registry.settings import RegistrySettings

EXIT_OK, EXIT_REFUSED = 0, 1
SOURCE = "musechat/cli"


def _readable(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Registry and store errors become the CLI's one-line usage error (exit 2)."""
    @wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except CliError:
            raise
        except MuseChatError as error:
            raise CliError(error.message) from error

    return run


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _registry(args: argparse.Namespace, required: bool = True) -> ModelRegistry | None:
    root = args.registry or RegistrySettings().dir
    if root is None:
        if required:
            raise CliError("no model registry: set MUSECHAT_MODEL_REGISTRY_DIR or pass --registry DIR")
        return None
    return ModelRegistry(root)


def _since(text: str) -> datetime | str:
    if text == "live":
        return text
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r} (e.g. 2026-12-01 or "
                                         "2026-12-01T06:00:00+00:00)") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def published_event_id(version: str) -> str:
    """Unique per announcement: consumers dedupe on event ids, so an id that were the bare version would
    make a second publish of it (a rollback A→B→A) a silent no-op."""
    return f"model-published:{version}:{uuid.uuid4().hex}"


def announce(version: str, checkpoint: Path) -> str:
    """Publish `model.published` for `version`; returns the event id (unique per announcement)."""
    from musechat.bus import EventProducer
    from musechat.bus.settings import BusSettings
    from musechat.contracts.catalog import ModelPublished
    from musechat.contracts.envelope import EventEnvelope
    from musechat.contracts.topics import Topic

    event = EventEnvelope[ModelPublished](
        id=published_event_id(version), type=Topic.MODEL_PUBLISHED.event_type,
        source=SOURCE, subject="fusion", data=ModelPublished(checkpoint=str(checkpoint), version=version))
    with EventProducer(BusSettings()) as producer:
        producer.publish(Topic.MODEL_PUBLISHED, event)
    return event.id


def _row(meta: VersionMeta, live: str | None) -> str:
    gate = "-" if meta.gate is None else ("passed" if meta.gate.passed else "REFUSED")
    quartets = sum(d.quartets for d in meta.datasets)
    return (f"{'*' if meta.version == live else ' '} {meta.version}  {meta.created_at[:19]}  "
            f"parent={meta.parent or '-'}  datasets={len(meta.datasets)} ({quartets} quartets)  gate={gate}")


def cmd_list(args: argparse.Namespace) -> int:
    registry = _registry(args)
    assert registry is not None
    state = registry.state()
    for meta in registry.versions():
        print(_row(meta, state.live))
    print(f"live: {state.live or 'none'}" + (f" since {state.live_since} (index {state.collection})"
                                             if state.live else ""))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    """One version's metadata and its lineage: parents up to the first model, each with its datasets."""
    registry = _registry(args)
    assert registry is not None
    chain: list[dict[str, Any]] = []
    version: str | None = args.version
    while version is not None and len(chain) < 100:
        meta = registry.get(version)
        chain.append(meta.model_dump(mode="json"))
        version = meta.parent
    print(json.dumps({"version": chain[0], "ancestors": chain[1:],
                      "live": registry.live() == args.version}, indent=2))
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    registry = _registry(args, required=args.version is not None)
    if registry is None:  # no registry: announce a checkpoint directly (the indexer re-indexes, nothing more)
        from musechat.ranker.core import checkpoint_version

        checkpoint = args.checkpoint.resolve()
        if not (checkpoint / "model.safetensors").is_file() or not (checkpoint / "config.json").is_file():
            raise CliError(f"{checkpoint} is not a fusion checkpoint: expected model.safetensors and config.json")
        version = checkpoint_version(checkpoint)
        announce(version, checkpoint)
        print(f"published {version}: the indexer re-indexes into a fresh collection, then flips the `tracks` alias")
        return EXIT_OK
    meta = registry.register(args.checkpoint) if args.checkpoint is not None else registry.get(args.version)
    live = registry.live()
    if not args.force and meta.version != live and not registry.was_live(meta.version) and live is not None:
        if meta.gate is None:
            print(f"refused: {meta.version} has no gate verdict against live {live}; train it with `musechat "
                  "model train` (which gates it) or pass --force")
            return EXIT_REFUSED
        if not meta.gate.passed:
            print(f"refused: the gate refused {meta.version}: {meta.gate.reason} (--force publishes anyway)")
            return EXIT_REFUSED
    event_id = announce(meta.version, registry.checkpoint(meta.version))
    print(f"published {meta.version} (event {event_id}): the indexer builds its index, flips the `tracks` alias "
          "and marks it live; the ranker follows the alias")
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    registry = _registry(args)
    assert registry is not None
    target = args.to or registry.previous_live()
    if target is None:
        raise CliError("nothing to roll back to: no earlier live version in the registry history")
    registry.get(target)
    if not registry.was_live(target) and not args.force:
        raise CliError(f"{target} was never live; publish it (gated) or pass --force")
    event_id = announce(target, registry.checkpoint(target))
    print(f"rolling back to {target} (event {event_id}); live now: {registry.live()}")
    return EXIT_OK


def cmd_gc(args: argparse.Namespace) -> int:
    from musechat.catalog.reindex import drop_old_collections
    from musechat.store.settings import StoreSettings, open_store

    registry = _registry(args)
    assert registry is not None
    retention = args.retention if args.retention is not None else RegistrySettings().retention
    try:
        store = open_store(StoreSettings())
    except MuseChatError as error:
        raise CliError(f"cannot open the store ({error.message}); with the embedded engine the indexer runs this "
                       "gc after every publish") from error
    try:
        dropped = drop_old_collections(store, registry, retention)
    finally:
        store.close()
    print(f"dropped {len(dropped)} collections (retention {retention}): {', '.join(dropped) or 'none'}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from musechat.fusion.data import QuartetFormatError
    from musechat.registry.gate import build_gate_set, run_gate
    from musechat.registry.training import (
        HELDOUT_BASE,
        HELDOUT_FEEDBACK,
        TRAIN,
        NotEnoughData,
        merge_and_split,
        retrain,
        sealed_datasets,
    )

    registry = _registry(args)
    assert registry is not None
    settings = RegistrySettings()
    if not args.quartets.is_dir():
        raise CliError(f"--quartets {args.quartets} is not a directory (the dataset writer's output_dir)")
    out: Path = args.out or registry.root / "runs" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    if out.exists() and any(out.iterdir()):
        raise CliError(f"--out {out} is not empty")
    try:
        found = sealed_datasets(args.quartets, _resolve_since(registry, args.since))
        try:
            data = merge_and_split(found, args.base, out / "data", holdout=args.holdout,
                                   min_quartets=args.min_quartets or settings.min_quartets)
        except NotEnoughData as skip:
            print(f"skipped: {skip.message}")
            return EXIT_OK
        print(f"data: {json.dumps(data.counts)} from {len(data.feedback)} feedback datasets"
              + (f" + base {data.base.dataset_id}" if data.base else "")
              + (f"; left out: {data.skipped}" if data.skipped else ""))
        result = retrain(registry, data, out / "model", steps=args.steps, seed=args.seed, progress=args.progress)
        gate_sets = [s for s in (build_gate_set(split, data.split(split), [data.split(TRAIN)], args.pool_size)
                                 for split in (HELDOUT_FEEDBACK, HELDOUT_BASE) if data.counts.get(split))
                     if s is not None]
        verdict = run_gate(registry, result.candidate.version, gate_sets, args.margin or settings.gate_margin)
    except (QuartetFormatError, RegistryError, OSError) as error:
        raise CliError(str(error).splitlines()[0]) from error
    for split, row in verdict.splits.items():
        live = row.get("live", {}).get("MRR", "-")
        print(f"gate {split}: {row['queries']} queries, pools of {row['pool_size']}: candidate MRR "
              f"{row['candidate']['MRR']} (R@1 {row['candidate']['R@1']}) vs live {live}")
    print(f"candidate {result.candidate.version} (parent {result.candidate.parent or '-'}): "
          f"{'PASSED' if verdict.passed else 'REFUSED'}: {verdict.reason}")
    if not verdict.passed:
        return EXIT_REFUSED
    if args.publish:
        event_id = announce(result.candidate.version, registry.checkpoint(result.candidate.version))
        print(f"published {result.candidate.version} (event {event_id})")
    return EXIT_OK


def _resolve_since(registry: ModelRegistry, since: datetime | str | None) -> datetime | None:
    """`live`: only feedback newer than what trained the live model (a scheduled retrain's default period);
    all sealed datasets when the live model was trained on none (or nothing is live)."""
    if since != "live":
        return since if isinstance(since, datetime) else None
    live = registry.live()
    seen = [d.created_at for d in (registry.get(live).datasets if live else []) if d.kind == "feedback"
            and d.created_at]
    return max(datetime.fromisoformat(c) for c in seen) + timedelta(microseconds=1) if seen else None


def register(subparsers: argparse._SubParsersAction) -> None:
    model = subparsers.add_parser("model", help="the fusion model registry: train, gate, publish, roll back")
    sub = model.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--registry", type=Path, default=None,
                        help="registry dir (default: MUSECHAT_MODEL_REGISTRY_DIR)")

    sub.add_parser("list", parents=[common], help="registered versions, their lineage and gate; * = live"
                   ).set_defaults(func=_readable(cmd_list))
    show = sub.add_parser("show", parents=[common], help="one version's metadata and its ancestors")
    show.add_argument("version")
    show.set_defaults(func=_readable(cmd_show))

    publish = sub.add_parser("publish", parents=[common],
                             help="announce a version: blue/green re-index, alias flip, live pointer")
    which = publish.add_mutually_exclusive_group(required=True)
    which.add_argument("--version", help="a registered version (e.g. from `model list`)")
    which.add_argument("--checkpoint", type=Path, help="a fusion run dir: registered first (when a registry is set)")
    publish.add_argument("--force", action="store_true", help="publish even without a passing gate verdict")
    publish.set_defaults(func=_readable(cmd_publish))

    rollback = sub.add_parser("rollback", parents=[common], help="re-publish an earlier live version")
    rollback.add_argument("--to", default=None, help="version (default: the one live before the current)")
    rollback.add_argument("--force", action="store_true", help="allow a version that was never live")
    rollback.set_defaults(func=_readable(cmd_rollback))

    gc = sub.add_parser("gc", parents=[common], help="drop track collections of old versions (needs the store)")
    gc.add_argument("--retention", type=_positive, default=None,
                    help="earlier live versions whose collections stay (default MUSECHAT_MODEL_REGISTRY_RETENTION)")
    gc.set_defaults(func=_readable(cmd_gc))

    train = sub.add_parser("train", parents=[common],
                           help="retrain on new feedback quartets, gate against live, register (and --publish)")
    train.add_argument("--quartets", type=Path, required=True, help="the dataset writer's output dir")
    train.add_argument("--since", type=_since, default=None,
                       help="only datasets opened at or after this ISO time; `live`: newer than those that "
                            "trained the live model (for a scheduled run); default: all")
    train.add_argument("--base", type=Path, default=None, help="base quartet dataset (e.g. the synthetic one)")
    train.add_argument("--out", type=Path, default=None, help="run dir (default: REGISTRY/runs/<time>)")
    train.add_argument("--steps", type=_positive, default=200)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--holdout", type=_fraction, default=0.25, help="share of conversations held out")
    train.add_argument("--min-quartets", type=_positive, default=None,
                       help="data threshold (default MUSECHAT_MODEL_REGISTRY_MIN_QUARTETS)")
    train.add_argument("--pool-size", type=_positive, default=100, help="gate pools: at most this, scaled to the data")
    train.add_argument("--margin", type=float, default=None,
                       help="gate margin on the MRR at turn 2 (default MUSECHAT_MODEL_REGISTRY_GATE_MARGIN)")
    train.add_argument("--publish", action="store_true", help="publish the candidate when the gate passes")
    train.add_argument("--progress", action="store_true", help="show the training progress bar")
    train.set_defaults(func=_readable(cmd_train))
