"""Wiring for the catalog deployables: build the worker and the indexer from their settings and run
them as Kafka consumers; publish an ingestion run; collect its outcomes; report catalog statistics."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer

from musechat.bus import EventConsumer, EventProducer, Handler, PermanentError, RecordContext
from musechat.bus.broker import topic_size
from musechat.bus.consumer import ConsumerStats
from musechat.bus.dedupe import DedupeStore, FileDedupeStore, InMemoryDedupeStore
from musechat.bus.settings import BusSettings
from musechat.catalog.encoder_client import HttpMusicEncoder, InProcessMusicEncoder, MusicEncoderClient
from musechat.catalog.indexer import Indexer, collection_for, ensure_tracks_collection
from musechat.catalog.manifest import Submission, discover
from musechat.catalog.reindex import ModelPublishedHandler, reindex
from musechat.catalog.settings import CatalogWorkerSettings, IndexerSettings
from musechat.catalog.vectorizer import FixedProjection, TrackVectorizer
from musechat.catalog.worker import CatalogWorker
from musechat.contracts.catalog import TRACKS_COLLECTION, TrackIndexed, submission_event_id
from musechat.contracts.envelope import EventEnvelope, parse_envelope
from musechat.contracts.topics import Topic, dlq_topic
from musechat.store import VectorStore
from musechat.video.registry import VideoRegistry
from musechat.video.worker import VideoIndexer

log = logging.getLogger(__name__)
INGEST_SOURCE = "musechat/cli"


def _dedupe(path: Path | None) -> DedupeStore:
    return FileDedupeStore(path) if path is not None else InMemoryDedupeStore()


def music_encoder_client(settings: CatalogWorkerSettings) -> MusicEncoderClient:
    if settings.music_encoder_url:
        return HttpMusicEncoder(settings.music_encoder_url, timeout_s=settings.encoder_timeout_s)
    from musechat.encoders.music import DecodeLimits, MusicEncoder

    limits = DecodeLimits(refuse_not_music=settings.refuse_not_music)
    return InProcessMusicEncoder(MusicEncoder.load(settings.music_encoder_spec, ast_model=settings.ast_model,
                                                   limits=limits))


def catalog_worker_consumer(settings: CatalogWorkerSettings, producer: EventProducer,
                            encoder: MusicEncoderClient | None = None) -> EventConsumer:
    worker = CatalogWorker(encoder or music_encoder_client(settings), producer)
    return EventConsumer(settings.consumer_bus(), [Topic.TRACK_SUBMITTED], settings.group_id, worker.handle,
                         _dedupe(settings.dedupe_path), dlq_producer=producer)


def default_vectorizer(settings: IndexerSettings) -> TrackVectorizer:
    """The registry's live model when there is one (a restart keeps what was published), else the
    configured checkpoint, else the fixed projection."""
    from musechat.registry.settings import open_registry

    registry = open_registry()
    live = registry.live() if registry is not None else None
    if registry is not None and live is not None:
        from musechat.ranker.core import FusionVectorizer

        return FusionVectorizer.load(registry.checkpoint(live))
    if settings.fusion_checkpoint is not None:
        from musechat.ranker.core import FusionVectorizer

        return FusionVectorizer.load(settings.fusion_checkpoint)
    return FixedProjection(seed=settings.projection_seed)


def video_registry(store: VectorStore, settings: IndexerSettings) -> VideoRegistry:
    from musechat.encoders.clip_video import load_spec

    registry = VideoRegistry(store, load_spec(settings.video_encoder_spec).feature_dim)
    registry.ensure_collection()
    return registry


class EventRouter:
    """One consumer, several topics: dispatch on the CloudEvents type; an unknown type is poison."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self._handlers = handlers

    def handle(self, event: EventEnvelope[Any], context: RecordContext) -> None:
        handler = self._handlers.get(event.type)
        if handler is None:
            raise PermanentError(f"no handler for event type {event.type!r} (known: {sorted(self._handlers)})")
        handler(event, context)


def indexer_consumer(settings: IndexerSettings, producer: EventProducer, store: VectorStore,
                     vectorizer: TrackVectorizer | None = None) -> EventConsumer:
    """The indexer owns the collections: `tracks` (track-encoded) and `videos` (video-encoded)."""
    vectorizer = vectorizer or default_vectorizer(settings)
    if ensure_tracks_collection(store, vectorizer.version) != collection_for(vectorizer.version):
        # The live index was built by another model than the one configured: serve the configured one,
        # re-indexed blue/green before any new track is written.
        reindex(store, vectorizer, progress=False)
    tracks = Indexer(store, vectorizer, producer)
    router = EventRouter({
        Topic.TRACK_ENCODED.event_type: tracks.handle,
        Topic.VIDEO_ENCODED.event_type: VideoIndexer(video_registry(store, settings)).handle,
        Topic.MODEL_PUBLISHED.event_type: _model_published_handler(store, tracks),
    })
    topics = [Topic.TRACK_ENCODED, Topic.VIDEO_ENCODED, Topic.MODEL_PUBLISHED]
    return EventConsumer(settings.bus, topics, settings.group_id, router.handle, _dedupe(settings.dedupe_path),
                         dlq_producer=producer)


def _model_published_handler(store: VectorStore, tracks: Indexer) -> Handler:
    from musechat.registry.settings import RegistrySettings, open_registry

    settings = RegistrySettings()
    registry = open_registry(settings)
    if registry is not None:
        from musechat.registry.metrics import track_registry

        track_registry(registry)
    return ModelPublishedHandler(store, tracks, registry, settings.retention).handle


@dataclass
class IngestReceipt:
    batch_id: str
    submissions: list[Submission]
    envelopes: dict[str, EventEnvelope[Any]] = field(default_factory=dict)  # subject -> published event

    @property
    def expected(self) -> set[str]:
        return {s.subject for s in self.submissions}


def redrive_ingest(receipt: IngestReceipt, producer: EventProducer, pending: set[str], attempt: int) -> int:
    """Publish the submissions still pending again, e.g. after a broker restart lost them (the bundled
    broker keeps everything in memory). Each re-drive gets a fresh event id: a worker that had already
    handled the first copy (and whose output the broker then lost) would dedupe the same id away. The
    indexer upserts by track id, so a track that did make it is rewritten in place, never doubled."""
    envelopes = [receipt.envelopes[subject] for subject in sorted(pending) if subject in receipt.envelopes]
    for envelope in envelopes:
        producer.publish(Topic.TRACK_SUBMITTED, envelope.model_copy(update={"id": f"{envelope.id}:redrive-{attempt}"}))
    producer.flush()
    return len(envelopes)


def publish_ingest(path: Path, producer: EventProducer, batch_id: str | None = None,
                   skip: Callable[[Submission], bool] | None = None) -> IngestReceipt:
    """Publish one track-submitted event per manifest line / file. Bad lines are published too, so their
    failure is recorded in the worker's DLQ rather than only on this terminal. `skip` drops submissions
    the caller knows are already indexed (a resumed `serve`)."""
    batch_id = batch_id or f"ingest-{uuid.uuid4().hex[:12]}"
    submissions = [s for s in discover(path, batch_id) if skip is None or not skip(s)]
    receipt = IngestReceipt(batch_id, submissions)
    for submission in submissions:
        data = dict(submission.data)
        if submission.problem and "raw_line" in data:
            data["problem"] = submission.problem
        validated = submission.validated()
        event_id = submission_event_id(validated) if validated else f"track-submitted:{uuid.uuid4().hex}"
        envelope: EventEnvelope[Any] = EventEnvelope[Any](
            id=event_id, type=Topic.TRACK_SUBMITTED.event_type, source=INGEST_SOURCE,
            subject=submission.subject, data=data,
        )
        producer.publish(Topic.TRACK_SUBMITTED, envelope)
        receipt.envelopes[submission.subject] = envelope
    producer.flush()
    return receipt


@dataclass
class IngestSummary:
    batch_id: str
    indexed: dict[str, str] = field(default_factory=dict)  # track id -> created / updated / unchanged
    failed: dict[str, str] = field(default_factory=dict)  # subject -> reason
    missing: set[str] = field(default_factory=set)
    redrives: int = 0  # how many times the still-pending submissions were published again

    def lines(self) -> list[str]:
        counts: dict[str, int] = {}
        for outcome in self.indexed.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        detail = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        out = [f"{len(self.indexed)} indexed ({detail or 'none'}), {len(self.failed)} failed"
               + (f", {len(self.missing)} still pending" if self.missing else "")]
        out += [f"  FAILED {subject}: {reason}" for subject, reason in sorted(self.failed.items())]
        return out


PIPELINE_OUTCOME_TOPICS = (
    Topic.TRACK_INDEXED.value,
    dlq_topic(Topic.TRACK_SUBMITTED, CatalogWorkerSettings().group_id),
    dlq_topic(Topic.TRACK_ENCODED, IndexerSettings().group_id),
)


def _header(headers: Iterable[tuple[str, bytes]], name: str) -> str:
    for key, value in headers:
        if key == name:
            return value.decode(errors="replace")
    return ""


def await_outcomes(bus: BusSettings, receipt: IngestReceipt, timeout_s: float = 600.0,
                   progress: bool = True, producer: EventProducer | None = None,
                   redrive_after_s: float = 60.0) -> IngestSummary:
    """Follow track-indexed and the pipeline's DLQs until every submission of the run is accounted for.
    With a `producer`, submissions still pending after `redrive_after_s` without any outcome are published
    again (`redrive_ingest`): a broker that died mid-run drops what it held, and nothing else resends it."""
    from tqdm import tqdm

    summary = IngestSummary(receipt.batch_id)
    pending = set(receipt.expected)
    consumer = KafkaConsumer(*PIPELINE_OUTCOME_TOPICS, bootstrap_servers=bus.bootstrap_list, group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=1000)
    deadline = time.monotonic() + timeout_s
    last_progress, attempt = time.monotonic(), 0
    bar = tqdm(total=len(pending), desc=f"ingest {receipt.batch_id}", unit="track", disable=not progress)
    try:
        while pending and time.monotonic() < deadline:
            if producer is not None and time.monotonic() - last_progress > redrive_after_s:
                attempt += 1
                try:
                    sent = redrive_ingest(receipt, producer, pending, attempt)
                    log.warning("no outcome for %.0f s: re-drove %d pending submissions (attempt %d)",
                                redrive_after_s, sent, attempt)
                except Exception as exc:  # the broker may still be down: try again after the next wait
                    log.warning("re-drive attempt %d failed: %s", attempt, exc)
                summary.redrives = attempt
                last_progress = time.monotonic()
            for record in consumer:
                try:
                    event = parse_envelope(record.value)
                except ValueError:
                    continue
                data = event.data if isinstance(event.data, dict) else {}
                if data.get("batch_id") != receipt.batch_id or event.subject not in pending:
                    continue
                if record.topic == Topic.TRACK_INDEXED:
                    summary.indexed[event.subject] = TrackIndexed.model_validate(data).outcome.value
                else:
                    summary.failed[event.subject] = _header(record.headers, "dlq_error_message")
                pending.discard(event.subject)
                last_progress = time.monotonic()
                bar.update(1)
                if not pending:
                    break
    finally:
        bar.close()
        consumer.close()
    summary.missing = pending
    return summary


def run_consumer_thread(consumer: EventConsumer, stop: threading.Event) -> threading.Thread:
    def target() -> None:
        stats: ConsumerStats = consumer.run(stop=stop)
        log.info("consumer %s stopped: %s", consumer.group_id, stats)

    thread = threading.Thread(target=target, name=f"consumer-{consumer.group_id}", daemon=True)
    thread.start()
    return thread


def catalog_stats(store: VectorStore, bus: BusSettings | None) -> dict[str, Any]:
    """Counts, versions and DLQ sizes: what `musechat catalog stats` prints."""
    stats: dict[str, Any] = {"collection": None, "tracks": 0, "feature_models": {}, "index_models": {}}
    if store.collection_exists(TRACKS_COLLECTION):
        stats["collection"] = store.resolve(TRACKS_COLLECTION)
        stats["tracks"] = store.count(TRACKS_COLLECTION)
        for key, bucket in (("feature_model", "feature_models"), ("index_model", "index_models")):
            for version in _distinct(store, key):
                from musechat.store import MatchValue, SearchFilter

                stats[bucket][version] = store.count(
                    TRACKS_COLLECTION, SearchFilter(must=[MatchValue(key=key, value=version)]))
    if bus is not None:
        stats["dlq"] = {topic: topic_size(bus.bootstrap_servers, topic) for topic in PIPELINE_OUTCOME_TOPICS[1:]}
    return stats


def _distinct(store: VectorStore, key: str) -> list[str]:
    values: set[str] = set()
    for record in store.scroll(TRACKS_COLLECTION, fields=[key]):
        values.add(str(record.payload.get(key)))
    return sorted(values)


def format_stats(stats: dict[str, Any]) -> str:
    return json.dumps(stats, indent=2, sort_keys=True)
