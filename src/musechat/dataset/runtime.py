"""Wiring for `musechat worker dataset-writer`: settings → text encoder, store features, sink, consumer."""

from __future__ import annotations

import logging
import threading

from musechat.bus import ConsumerStats, EventConsumer, EventProducer
from musechat.bus.dedupe import DedupeStore, FileDedupeStore, InMemoryDedupeStore
from musechat.contracts.text import TextEncoding
from musechat.contracts.topics import Topic
from musechat.dataset.settings import DatasetWriterSettings
from musechat.dataset.writer import DatasetSink, DatasetWriter, StoreFeatures
from musechat.encoders.text_client import TextEncoderClient, TextSource
from musechat.observability import set_model_info
from musechat.store import VectorStore

log = logging.getLogger(__name__)
SERVICE = "dataset-writer"


def text_encoder(settings: DatasetWriterSettings) -> TextSource:
    if settings.text_encoder_url:
        return TextEncoderClient(settings.text_encoder_url, settings.request_timeout_s)
    from musechat.encoders.text import TextEncoder, load_spec

    encoder = TextEncoder.load(load_spec(settings.text_encoder_spec))
    set_model_info(SERVICE, model=encoder.model_id, version=encoder.version)
    return encoder  # a worker handles one event at a time: nothing to batch


def dataset_writer(settings: DatasetWriterSettings, store: VectorStore,
                   text: TextSource | None = None) -> DatasetWriter:
    sink = DatasetSink(settings.output_dir, settings.shard_size, settings.flush_every_s,
                       info={"source": "musechat dataset-writer", "group_id": settings.group_id})
    return DatasetWriter(StoreFeatures(store), text or text_encoder(settings), sink,
                         max_turns=settings.max_turns, max_pending_feedback=settings.max_pending_feedback,
                         max_text_tokens=settings.max_text_tokens, pending_path=settings.pending_path)


class LazyTextSource:
    """The text model loaded on the first accept, not at start-up: the embedded gateway starts as fast as
    before, and pays the model (~90 MB, ~2 s) only once feedback actually arrives."""

    def __init__(self, settings: DatasetWriterSettings) -> None:
        self._settings = settings
        self._inner: TextSource | None = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        with self._lock:
            if self._inner is None:
                self._inner = text_encoder(self._settings)
        return self._inner.encode(texts)


def start_embedded_dataset_writer(settings: DatasetWriterSettings, store: VectorStore, producer: EventProducer,
                                  stop: threading.Event) -> threading.Thread:
    """The dataset writer as a thread of the embedded gateway, reading features through the gateway's
    store (its engine process), never opening the engine itself."""
    writer = dataset_writer(settings, store, LazyTextSource(settings))

    def run() -> None:
        stats = run_dataset_writer(settings, writer, producer, stop)
        log.info("embedded dataset writer stopped: %s", stats)

    thread = threading.Thread(target=run, name="consumer-dataset-writer", daemon=True)
    thread.start()
    return thread


def _dedupe(settings: DatasetWriterSettings) -> DedupeStore:
    return FileDedupeStore(settings.dedupe_path) if settings.dedupe_path is not None else InMemoryDedupeStore()


def run_dataset_writer(settings: DatasetWriterSettings, writer: DatasetWriter, producer: EventProducer,
                       stop: threading.Event, idle_timeout_s: float | None = None,
                       max_events: int | None = None) -> ConsumerStats:
    """Consume turns and feedback until `stop` (or idle / `max_events`); a timer thread seals datasets
    that reached `flush_every_s`; the open dataset is sealed on the way out."""
    consumer = EventConsumer(settings.bus, [Topic.CONVERSATION_TURN, Topic.FEEDBACK], settings.group_id,
                             writer.handle, _dedupe(settings), dlq_producer=producer)
    done = threading.Event()

    def seal_when_due() -> None:
        # Checked several times per flush interval, so a dataset is sealed at most ~10% late.
        while not done.wait(min(settings.flush_every_s / 10, 5.0)):
            writer.sink.seal_if_due()

    timer = threading.Thread(target=seal_when_due, name="dataset-writer-sealer", daemon=True)
    timer.start()
    try:
        return consumer.run(stop=stop, idle_timeout_s=idle_timeout_s, max_events=max_events)
    finally:
        done.set()
        timer.join()
        writer.sink.seal()
        if writer.waiting:
            log.info("%d accepts still wait for their turn event; kept in %s for the next start",
                     writer.waiting, settings.pending_path)
