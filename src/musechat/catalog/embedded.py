"""The embedded single-machine catalog stack: the bundled Kafka-protocol broker (Tansu), the embedded
Qdrant engine (qdrant-edge) and the catalog worker + indexer as consumer threads in this process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from musechat.bus import EventProducer
from musechat.bus.broker import EmbeddedBroker, ensure_topics
from musechat.bus.settings import BusSettings
from musechat.catalog.encoder_client import MusicEncoderClient
from musechat.catalog.runtime import (
    PIPELINE_OUTCOME_TOPICS,
    catalog_worker_consumer,
    indexer_consumer,
    run_consumer_thread,
)
from musechat.catalog.settings import CatalogWorkerSettings, IndexerSettings
from musechat.contracts.topics import Topic
from musechat.store import VectorStore
from musechat.store.settings import StoreSettings, open_store


@dataclass
class CatalogStack:
    bus: BusSettings
    store: VectorStore
    producer: EventProducer


@contextmanager
def embedded_catalog_stack(
    workdir: Path,
    encoder: MusicEncoderClient | None = None,
    store_settings: StoreSettings | None = None,
    bootstrap: str | None = None,
) -> Iterator[CatalogStack]:
    """Start everything (a broker too, unless `bootstrap` names a running one), yield, then stop the
    consumers and close the producer, the store and the broker."""
    with ExitStack() as resources:
        if bootstrap is None:
            bootstrap = resources.enter_context(EmbeddedBroker()).bootstrap_servers
        bus = BusSettings(bootstrap_servers=bootstrap)
        ensure_topics(bus.bootstrap_servers, [Topic.TRACK_SUBMITTED, Topic.TRACK_ENCODED, *PIPELINE_OUTCOME_TOPICS])
        store = open_store(store_settings or StoreSettings(backend="edge", path=workdir / "qdrant-edge"))
        resources.callback(store.close)
        producer = EventProducer(bus)
        resources.callback(producer.close)
        stop = threading.Event()
        consumers = [
            catalog_worker_consumer(CatalogWorkerSettings(bus=bus), producer, encoder),
            indexer_consumer(IndexerSettings(bus=bus), producer, store),
        ]
        threads = [run_consumer_thread(consumer, stop) for consumer in consumers]

        def _stop() -> None:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)

        resources.callback(_stop)
        yield CatalogStack(bus=bus, store=store, producer=producer)
