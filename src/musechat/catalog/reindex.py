"""Blue/green re-indexing: embed every track with a new model into a fresh collection, then flip the
`tracks` alias in one step, so searches never see a half-built index (zero downtime).

The indexer runs this inside its consumer (on a model-published event), so no track-encoded event is
indexed concurrently into the collection being replaced: they wait in Kafka and land in the new one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from musechat.bus import decode_payload
from musechat.catalog.indexer import collection_for, tracks_spec
from musechat.catalog.track_features import LEGACY_KEY, legacy_features, read_track_features, write_track_features
from musechat.catalog.vectorizer import TrackVectorizer
from musechat.contracts.catalog import MUSIC_VECTOR, TRACK_FEATURES_COLLECTION, TRACKS_COLLECTION, ModelPublished
from musechat.contracts.envelope import EventEnvelope
from musechat.observability import set_index_info
from musechat.store import PointRecord, VectorStore

if TYPE_CHECKING:
    from musechat.registry.registry import ModelRegistry

log = logging.getLogger(__name__)


def reindex(store: VectorStore, vectorizer: TrackVectorizer, batch_size: int = 256, progress: bool = True) -> str:
    """Build `tracks-<version hash>` from the live collection's payloads and the tracks' features
    (`track_features`, which is read, never rewritten) and point the alias at it. A live collection indexed
    before the split still carries the features in its payloads: they move to `track_features` here and
    the new collection's payloads go without them."""
    source = store.resolve(TRACKS_COLLECTION)
    target = collection_for(vectorizer.version)
    if target == source:
        return target
    if store.collection_exists(target):  # a half-built leftover from an interrupted run
        store.drop_collection(target)
    store.create_collection(tracks_spec(target))
    total = store.count(source)
    batch: list[PointRecord] = []
    with tqdm(total=total, desc=f"re-index → {target}", unit="track", disable=not progress) as bar:
        for record in store.scroll(source, batch_size=batch_size):
            batch.append(record)
            if len(batch) >= batch_size:
                _write(store, target, batch, vectorizer)
                bar.update(len(batch))
                batch = []
        if batch:
            _write(store, target, batch, vectorizer)
            bar.update(len(batch))
    store.optimize(target)
    if store.count(target) != total:
        raise RuntimeError(f"re-index wrote {store.count(target)} of {total} tracks; alias left on {source}")
    store.set_alias(TRACKS_COLLECTION, target)
    set_index_info(TRACKS_COLLECTION, target, vectorizer.version)
    log.info("tracks alias switched %s -> %s (%d tracks, %s)", source, target, total, vectorizer.version)
    return target


def _write(store: VectorStore, target: str, records: list[PointRecord], vectorizer: TrackVectorizer) -> None:
    found = read_track_features(store, [r.id for r in records], tracks_collection=None)
    moved = []
    for r in records:
        if r.id not in found:
            legacy = legacy_features(r.id, r.payload)
            if legacy is None:
                raise RuntimeError(f"track {r.id!r} has no features (neither in {TRACK_FEATURES_COLLECTION!r} nor "
                                   "in its payload): cannot re-index it")
            found[r.id] = legacy
            moved.append(legacy)
    write_track_features(store, moved)  # idempotent: a re-run after a crash writes the same records
    vectors = vectorizer.embed_many([found[r.id].features.to_array() for r in records])
    store.upsert(target, [
        PointRecord(id=r.id, vectors={MUSIC_VECTOR: v.tolist()},
                    payload={**{k: x for k, x in r.payload.items() if k != LEGACY_KEY},
                             "index_model": vectorizer.version})
        for r, v in zip(records, vectors, strict=True)])


class ModelPublishedHandler:
    """Re-index on model-published, then use the new model for every later track.

    With a model registry, the handler then moves the registry's live pointer (the alias already resolves
    to the new collection, so "live" never names a version without its index) and drops the collections
    of versions older than the retention (gc). Publishing a version that is already live re-marks it and
    changes nothing else; publishing an earlier one (a rollback) rebuilds its collection from the live
    payloads, so tracks ingested since are in it too."""

    def __init__(self, store: VectorStore, indexer: Any, registry: ModelRegistry | None = None,
                 retention: int = 2) -> None:
        self._store = store
        self._indexer = indexer
        self._registry = registry
        self._retention = retention

    def handle(self, event: EventEnvelope[Any], *_context: Any) -> None:
        from musechat.ranker.core import FusionVectorizer

        published = decode_payload(event, ModelPublished)
        checkpoint = Path(published.checkpoint)
        if self._registry is not None and self._registry.has(published.version):
            checkpoint = self._registry.checkpoint(published.version)
        vectorizer = FusionVectorizer.load(checkpoint)
        live = reindex(self._store, vectorizer, progress=False)
        self._indexer.use(vectorizer)
        if self._registry is not None:
            if not self._registry.has(vectorizer.version):
                self._registry.register(checkpoint)
            self._registry.mark_live(vectorizer.version, live, event.id)
            drop_old_collections(self._store, self._registry, self._retention)


def drop_old_collections(store: VectorStore, registry: ModelRegistry, retention: int) -> list[str]:
    """Drop `tracks-*` collections that are neither live nor among the `retention` most recent earlier live
    versions' (gc). Returns the dropped names."""
    keep = set(registry.collections_to_keep(retention)) | {store.resolve(TRACKS_COLLECTION)}
    dropped = []
    for name in store.list_collections():
        if name.startswith(f"{TRACKS_COLLECTION}-") and name not in keep:
            store.drop_collection(name)
            dropped.append(name)
    if dropped:
        log.info("dropped %d old track collections (retention %d): %s", len(dropped), retention, dropped)
    return dropped
