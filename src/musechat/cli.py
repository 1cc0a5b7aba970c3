"""`musechat`: the command line for operators and for the embedded single-machine mode.

Exit codes: 0 success; 1 the job ran but some items failed (listed); 2 bad input or configuration
(one readable line on stderr).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _cmd_demo(args: argparse.Namespace) -> int:
    from musechat.demo.run import run_demo

    return run_demo(args.workdir, serve=args.serve, port=args.port)


def _ingest_embedded(path: Path, workdir: Path, timeout_s: float) -> int:
    from musechat.catalog.embedded import embedded_catalog_stack
    from musechat.catalog.runtime import await_outcomes, catalog_stats, format_stats, publish_ingest

    with embedded_catalog_stack(workdir) as stack:
        receipt = publish_ingest(path, stack.producer)
        print(f"published {len(receipt.submissions)} track-submitted events (batch {receipt.batch_id})")
        summary = await_outcomes(stack.bus, receipt, timeout_s=timeout_s)
        print("\n".join(summary.lines()))
        print("[3/3] catalog stats")
        print(format_stats(catalog_stats(stack.store, stack.bus)))
    return EXIT_PARTIAL if summary.failed or summary.missing else EXIT_OK


def _cmd_catalog_generate(args: argparse.Namespace) -> int:
    from musechat.catalog.demo_catalog import generate_catalog

    manifest = generate_catalog(args.out, args.tracks, seed=args.seed, min_seconds=args.min_seconds,
                                max_seconds=args.max_seconds)
    print(f"wrote {args.tracks} tracks; manifest: {manifest}")
    return EXIT_OK


def _cmd_catalog_ingest(args: argparse.Namespace) -> int:
    if not args.path.exists():
        raise CliError(f"ingest path {args.path} does not exist: pass a folder of audio files or a .jsonl manifest")
    if args.embedded:
        return _ingest_embedded(args.path, args.workdir, timeout_s=args.timeout)
    from musechat.bus import EventProducer
    from musechat.bus.settings import BusSettings
    from musechat.catalog.runtime import await_outcomes, publish_ingest

    bus = BusSettings()
    with EventProducer(bus) as producer:
        receipt = publish_ingest(args.path, producer)
    print(f"published {len(receipt.submissions)} track-submitted events (batch {receipt.batch_id})")
    if not args.wait:
        return EXIT_OK
    summary = await_outcomes(bus, receipt, timeout_s=args.timeout)
    print("\n".join(summary.lines()))
    return EXIT_PARTIAL if summary.failed or summary.missing else EXIT_OK


def _cmd_catalog_stats(args: argparse.Namespace) -> int:
    from musechat.bus.settings import BusSettings
    from musechat.catalog.runtime import catalog_stats, format_stats
    from musechat.store.settings import StoreSettings, open_store

    store = open_store(StoreSettings())
    try:
        print(format_stats(catalog_stats(store, BusSettings() if args.with_dlq else None)))
    finally:
        store.close()
    return EXIT_OK


def _run_until_signal(run: Callable[[threading.Event], object]) -> int:
    from musechat.bus.consumer import stop_on_signals

    stop = threading.Event()
    stop_on_signals(stop)
    run(stop)
    return EXIT_OK


def _cmd_worker(args: argparse.Namespace) -> int:
    from musechat.bus import EventProducer

    if args.name == "video-worker":
        from musechat.video.runtime import VideoWorkerSettings, video_worker_consumer

        video_settings = VideoWorkerSettings()
        with EventProducer(video_settings.bus) as producer:
            consumer = video_worker_consumer(video_settings, producer)
            return _run_until_signal(lambda stop: consumer.run(stop=stop))
    if args.name == "catalog-worker":
        from musechat.catalog.runtime import catalog_worker_consumer
        from musechat.catalog.settings import CatalogWorkerSettings

        worker_settings = CatalogWorkerSettings()
        with EventProducer(worker_settings.bus) as producer:
            consumer = catalog_worker_consumer(worker_settings, producer)
            return _run_until_signal(lambda stop: consumer.run(stop=stop))
    from musechat.catalog.runtime import indexer_consumer
    from musechat.catalog.settings import IndexerSettings
    from musechat.store.settings import open_store

    indexer_settings = IndexerSettings()
    store = open_store(indexer_settings.store)
    try:
        with EventProducer(indexer_settings.bus) as producer:
            consumer = indexer_consumer(indexer_settings, producer, store)
            return _run_until_signal(lambda stop: consumer.run(stop=stop))
    finally:
        store.close()


def _cmd_broker(args: argparse.Namespace) -> int:
    from musechat.bus.broker import EmbeddedBroker

    with EmbeddedBroker(port=args.port) as broker:
        print(f"Kafka-protocol broker (Tansu, in-memory) listening on {broker.bootstrap_servers}; Ctrl-C stops it")
        return _run_until_signal(lambda stop: stop.wait())


def _cmd_schemas(args: argparse.Namespace) -> int:
    from musechat.contracts.schema_export import check_schemas, export_schemas

    if args.action == "export":
        for path in export_schemas(args.dir):
            print(path)
        return EXIT_OK
    drift = check_schemas(args.dir)
    for line in drift:
        print(line, file=sys.stderr)
    return EXIT_PARTIAL if drift else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musechat", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="the embedded single-machine system, end to end")
    demo.add_argument("--workdir", type=Path, default=Path("var/demo"), help="state kept between runs")
    demo.add_argument("--serve", action="store_true", help="keep the API up afterwards; print its URL and a key")
    demo.add_argument("--port", type=int, default=None, help="gateway port (default: a free one)")
    demo.set_defaults(func=_cmd_demo)

    catalog = commands.add_parser("catalog", help="catalog ingestion and statistics").add_subparsers(
        dest="action", required=True)
    generate = catalog.add_parser("generate", help="synthesize a demo catalog (audio + manifest.jsonl)")
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--tracks", type=int, default=24)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--min-seconds", type=float, default=6.0)
    generate.add_argument("--max-seconds", type=float, default=30.0)
    generate.set_defaults(func=_cmd_catalog_generate)
    ingest = catalog.add_parser("ingest", help="publish one track-submitted event per track in PATH")
    ingest.add_argument("path", type=Path, help="a folder of audio files and/or a JSONL manifest")
    ingest.add_argument("--embedded", action="store_true",
                        help="run broker, workers and the embedded Qdrant engine in this process")
    ingest.add_argument("--workdir", type=Path, default=Path("var/demo"), help="state dir for --embedded")
    ingest.add_argument("--no-wait", dest="wait", action="store_false",
                        help="publish and exit without waiting for the pipeline's outcomes")
    ingest.add_argument("--timeout", type=float, default=900.0)
    ingest.set_defaults(func=_cmd_catalog_ingest)
    stats = catalog.add_parser("stats", help="track counts, model versions and DLQ sizes")
    stats.add_argument("--with-dlq", action="store_true", help="also count DLQ records (needs the broker)")
    stats.set_defaults(func=_cmd_catalog_stats)

    worker = commands.add_parser("worker", help="run one Kafka worker until SIGTERM")
    worker.add_argument("name", choices=["catalog-worker", "video-worker", "indexer"])
    worker.set_defaults(func=_cmd_worker)

    broker = commands.add_parser("broker", help="run the bundled Kafka-protocol broker (Tansu) in the foreground")
    broker.add_argument("--port", type=int, default=19092)
    broker.set_defaults(func=_cmd_broker)

    schemas = commands.add_parser("schemas", help="generate or drift-check schemas/ from the contracts")
    schemas.add_argument("action", choices=["export", "check"])
    schemas.add_argument("--dir", type=Path, default=Path("schemas"))
    schemas.set_defaults(func=_cmd_schemas)

    for register in _plugin_registrars():
        register(commands)
    return parser


def _plugin_registrars() -> list[Callable[[argparse._SubParsersAction], None]]:
    import importlib
    import importlib.util

    # TEMPORARY until fusion/explain CLIs land
    modules = [m for m in ("musechat.fusion.cli", "musechat.explain.cli") if importlib.util.find_spec(m)]
    return [importlib.import_module(m).register for m in modules]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # kafka-python warns about its own slow event-loop ticks; not the user's concern
        logging.getLogger("kafka").setLevel(logging.ERROR)
    try:
        return int(args.func(args))
    except CliError as error:
        print(f"musechat: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as error:  # settings from the environment failed validation
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or error.title
        print(f"musechat: error: invalid configuration {error.title}.{where}: {first['msg']}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
