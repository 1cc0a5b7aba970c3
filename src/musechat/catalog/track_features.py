"""The `track_features` collection: each track's per-segment music features, out of the hot `tracks` payload.

A `tracks` point carries what a turn filters, ranks and shows (~3 KB); the features (12 x 464 float16,
~15 KB as base64 JSON with `music-ast-tiny`) are read by id only, for a handful of tracks at a time: the
ranker's candidate, a re-index, a training set, the explainer's music token. So they live in a collection of
their own, keyed by the track id, without vectors (nothing searches them) and with the payload on disk
(docs/vector-store.md). It has no alias: features depend on the music encoder, not on the fusion model, so a
blue/green re-index of `tracks` reads them and never rewrites them.

Stores indexed before the split keep the features in the `tracks` payload: every reader here falls back to
it for the ids the feature collection lacks, and a re-index (or a re-ingest) moves them over.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from musechat.contracts.catalog import TRACK_FEATURES_COLLECTION, TRACKS_COLLECTION, TrackFeaturesPayload
from musechat.store import CollectionNotFoundError, CollectionSpec, PointRecord, VectorStore

# The key the `tracks` payload held the features under before the split (read for old stores only).
LEGACY_KEY = "features"


def track_features_spec() -> CollectionSpec:
    return CollectionSpec(name=TRACK_FEATURES_COLLECTION, vectors={}, payload_on_disk=True)


def ensure_track_features_collection(store: VectorStore) -> None:
    if not store.collection_exists(TRACK_FEATURES_COLLECTION):
        store.create_collection(track_features_spec())


def write_track_features(store: VectorStore, records: Sequence[TrackFeaturesPayload]) -> None:
    """Upsert the records (idempotent by track id), creating the collection on first use."""
    if not records:
        return
    ensure_track_features_collection(store)
    store.upsert(TRACK_FEATURES_COLLECTION, [
        PointRecord(id=r.track_id, vectors={}, payload=r.model_dump(mode="json")) for r in records])


def read_track_features(store: VectorStore, track_ids: Sequence[str],
                        tracks_collection: str | None = TRACKS_COLLECTION) -> dict[str, TrackFeaturesPayload]:
    """The features of the tracks that have them (one engine call; one more, to `tracks_collection`, only
    for ids the feature collection lacks: a store indexed before the split; None: no fallback)."""
    ids = list(dict.fromkeys(track_ids))
    if not ids:
        return {}
    # No `collection_exists` first: on a server that would be one more round trip on every turn's lookup.
    found = {r.id: TrackFeaturesPayload.model_validate(r.payload)
             for r in _retrieve_if_exists(store, TRACK_FEATURES_COLLECTION, ids)}
    missing = [i for i in ids if i not in found]
    if missing and tracks_collection is not None:
        for record in _retrieve_if_exists(store, tracks_collection, missing):
            legacy = legacy_features(record.id, record.payload)
            if legacy is not None:
                found[record.id] = legacy
    return found


def _retrieve_if_exists(store: VectorStore, collection: str, ids: list[str]) -> list[PointRecord]:
    try:
        return store.retrieve(collection, ids)
    except CollectionNotFoundError:
        return []


def legacy_features(track_id: str, payload: Mapping[str, Any]) -> TrackFeaturesPayload | None:
    """The features a `tracks` payload written before the split carries, or None."""
    if payload.get(LEGACY_KEY) is None:
        return None
    return TrackFeaturesPayload(track_id=track_id, features=payload[LEGACY_KEY],
                                feature_model=str(payload.get("feature_model", "unknown")),
                                content_sha256=payload.get("content_sha256"))


def iter_track_features(store: VectorStore, tracks_collection: str = TRACKS_COLLECTION,
                        batch_size: int = 256) -> Iterator[TrackFeaturesPayload]:
    """The features of every track in `tracks_collection` that has them, in batches of `batch_size`."""
    batch: list[str] = []
    for record in store.scroll(tracks_collection, fields=["track_id"], batch_size=batch_size):
        batch.append(record.id)
        if len(batch) >= batch_size:
            yield from read_track_features(store, batch, tracks_collection).values()
            batch = []
    if batch:
        yield from read_track_features(store, batch, tracks_collection).values()
