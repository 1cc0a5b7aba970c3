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

from musechat.errors import EXIT_USAGE, CliError, MuseChatError

EXIT_OK, EXIT_PARTIAL = 0, 1


def _cmd_demo(args: argparse.Namespace) -> int:
    from musechat.demo.run import run_demo

    return run_demo(args.workdir, serve=args.serve, port=args.port)


def _ingest_embedded(path: Path, workdir: Path, timeout_s: float) -> int:
    from musechat.catalog.embedded import embedded_catalog_stack
    from musechat.catalog.runtime import await_outcomes, catalog_stats, format_stats, publish_ingest

    with embedded_catalog_stack(workdir) as stack:
        receipt = publish_ingest(path, stack.producer)
        print(f"published {len(receipt.submissions)} track-submitted events (batch {receipt.batch_id})")
        summary = await_outcomes(stack.bus, receipt, timeout_s=timeout_s, producer=stack.producer)
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
        # the producer stays open to re-drive what a restarted broker lost
        summary = await_outcomes(bus, receipt, timeout_s=args.timeout, producer=producer)
    print("\n".join(summary.lines()))
    return EXIT_PARTIAL if summary.failed or summary.missing else EXIT_OK


def _cmd_catalog_stats(args: argparse.Namespace) -> int:
    from musechat.bus.settings import BusSettings
    from musechat.catalog.runtime import catalog_stats, format_stats
    from musechat.store.settings import StoreSettings, open_store

    # --workdir reads the embedded store that `ingest --embedded` / `serve` wrote there; without it, the
    # store the environment configures (MUSECHAT_STORE_*), as the deployed workers see it.
    settings = StoreSettings(backend="edge", path=args.workdir / "qdrant-edge") if args.workdir else StoreSettings()
    if args.workdir and not settings.path.exists():
        raise CliError(f"{args.workdir} holds no catalog store ({settings.path} does not exist)")
    store = open_store(settings)
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
    if args.metrics_port is not None:
        _start_metrics(args.metrics_port)  # before anything slow: the chart's probes hit it from the start
    runners: dict[str, Callable[[], int]] = {"video-worker": _run_video_worker, "catalog-worker": _run_catalog_worker,
                                             "indexer": _run_indexer, "dataset-writer": _run_dataset_writer}
    return runners[args.name]()


def _start_metrics(port: int) -> None:
    from musechat.observability import start_metrics_server

    try:
        start_metrics_server(port)
    except OSError as error:
        raise CliError(error.strerror or str(error)) from error
    except ValueError as error:
        raise CliError(str(error)) from error


def _run_video_worker() -> int:
    from musechat.bus import EventProducer
    from musechat.video.runtime import video_worker_consumer
    from musechat.video.settings import VideoWorkerSettings

    video_settings = VideoWorkerSettings()
    with EventProducer(video_settings.bus) as producer:
        consumer = video_worker_consumer(video_settings, producer)
        return _run_until_signal(lambda stop: consumer.run(stop=stop))


def _run_catalog_worker() -> int:
    from musechat.bus import EventProducer
    from musechat.catalog.runtime import catalog_worker_consumer
    from musechat.catalog.settings import CatalogWorkerSettings

    worker_settings = CatalogWorkerSettings()
    with EventProducer(worker_settings.bus) as producer:
        consumer = catalog_worker_consumer(worker_settings, producer)
        return _run_until_signal(lambda stop: consumer.run(stop=stop))


def _run_indexer() -> int:
    from musechat.bus import EventProducer
    from musechat.catalog.runtime import default_vectorizer, indexer_consumer
    from musechat.catalog.settings import IndexerSettings
    from musechat.contracts.catalog import TRACKS_COLLECTION
    from musechat.observability import set_index_info, set_model_info
    from musechat.store.settings import open_store

    indexer_settings = IndexerSettings()
    store = open_store(indexer_settings.store)
    try:
        with EventProducer(indexer_settings.bus) as producer:
            vectorizer = default_vectorizer(indexer_settings)
            consumer = indexer_consumer(indexer_settings, producer, store, vectorizer)
            set_model_info("indexer", model=type(vectorizer).__name__, version=vectorizer.version)
            set_index_info(TRACKS_COLLECTION, store.resolve(TRACKS_COLLECTION), vectorizer.version)
            return _run_until_signal(lambda stop: consumer.run(stop=stop))
    finally:
        store.close()


def _run_dataset_writer() -> int:
    from musechat.bus import EventProducer
    from musechat.dataset.runtime import dataset_writer, run_dataset_writer
    from musechat.dataset.settings import DatasetWriterSettings
    from musechat.store.settings import open_store

    settings = DatasetWriterSettings()
    store = open_store(settings.store)
    try:
        writer = dataset_writer(settings, store)
        with EventProducer(settings.bus) as producer:
            return _run_until_signal(lambda stop: run_dataset_writer(settings, writer, producer, stop))
    finally:
        store.close()


def _parse_scopes(raw: str) -> list[str]:
    from musechat.gateway.auth import KNOWN_SCOPES

    scopes = [part.strip() for part in raw.split(",") if part.strip()]
    if not scopes:
        raise CliError(f"--scopes is empty; pass a comma-separated list of {sorted(KNOWN_SCOPES)}")
    if unknown := sorted(set(scopes) - KNOWN_SCOPES):
        raise CliError(f"unknown scopes {unknown}; known: {sorted(KNOWN_SCOPES)}")
    return sorted(set(scopes))


def _read_key_file(path: Path) -> list[dict[str, object]]:
    import json

    from musechat.gateway.auth import ApiKeyRing

    try:
        ApiKeyRing.from_file(path)  # the gateway's own validation: a file it would refuse is refused here
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read key file {path}: {error}") from error


def _cmd_keys_create(args: argparse.Namespace) -> int:
    import os

    from musechat.gateway.auth import key_record, mint_key

    name = args.name.strip()
    if not name or any(c.isspace() for c in name):
        raise CliError(f"--name must be a non-empty word without spaces, got {args.name!r}")
    scopes = _parse_scopes(args.scopes)
    key = mint_key()
    try:
        record = key_record(name, key, scopes, tenant=args.tenant)
    except ValueError as error:
        raise CliError(f"--tenant: {error}") from error
    if args.file is None:
        print(key)
        print(record)
        print("add the second line to the gateway's api-keys.jsonl; the key is shown only once", file=sys.stderr)
        return EXIT_OK
    path: Path = args.file
    if path.exists() and any(entry.get("name") == name for entry in _read_key_file(path)):
        raise CliError(f"{path} already holds a key named {name!r}; pick another name")
    try:
        # 0600 on creation: the file holds only hashes, but nobody else needs to read it.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(record + "\n")
    except OSError as error:
        raise CliError(f"cannot write key file {path}: {error.strerror or error}") from error
    print(key)
    print(f"added key {name!r} (scopes {', '.join(scopes)}) to {path}; the key is shown only once", file=sys.stderr)
    return EXIT_OK


def _cmd_keys_list(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise CliError(f"key file {args.file} does not exist")
    for entry in _read_key_file(args.file):
        scopes = entry.get("scopes")
        listed = ','.join(str(s) for s in scopes) if isinstance(scopes, list) else ''
        print(f"{entry.get('name')}\t{listed}\t{entry.get('tenant', 'default')}")
    return EXIT_OK


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
    stats.add_argument("--workdir", type=Path, default=None,
                       help="read the embedded store of this workdir (as ingest --embedded / serve write it)")
    stats.set_defaults(func=_cmd_catalog_stats)

    worker = commands.add_parser("worker", help="run one Kafka worker until SIGTERM")
    worker.add_argument("name", choices=["catalog-worker", "video-worker", "indexer", "dataset-writer"])
    worker.add_argument("--metrics-port", type=int, default=None,
                        help="serve Prometheus /metrics on this port (the chart's probes use it too)")
    worker.set_defaults(func=_cmd_worker)

    keys = commands.add_parser("keys", help="API keys for the gateway (stored hashed)").add_subparsers(
        dest="action", required=True)
    create = keys.add_parser("create", help="mint a key; print it once; append its hash line to --file")
    create.add_argument("--name", required=True, help="who the key is for, e.g. acme-prod")
    create.add_argument("--scopes", required=True, help="comma-separated: read, catalog:write")
    create.add_argument("--tenant", default="default",
                        help="the tenant the key belongs to: it sees that tenant's videos and conversations only")
    create.add_argument("--file", type=Path, default=None,
                        help="key file to append to (created 0600); without it the hash line is printed")
    create.set_defaults(func=_cmd_keys_create)
    listing = keys.add_parser("list", help="names and scopes of the keys in a key file")
    listing.add_argument("--file", type=Path, required=True)
    listing.set_defaults(func=_cmd_keys_list)

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
    from musechat.catalog.serve import register as register_serve
    from musechat.explain.cli import register as register_explainer
    from musechat.fusion.cli import register as register_fusion
    from musechat.registry.cli import register as register_model
    from musechat.understanding.cli import register as register_request

    return [register_fusion, register_explainer, register_model, register_serve, register_request]


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
    except MuseChatError as error:
        if error.status >= 500:
            raise
        # A situation the user can change (e.g. the embedded store is held by a running gateway): one line.
        print(f"musechat: error: {error.code}: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
