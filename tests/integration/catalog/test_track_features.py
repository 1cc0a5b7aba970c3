"""The per-segment features live in `track_features`, not in the `tracks` payload: the indexer writes them
there, re-index reads them from there (and moves an old store's over), and every reader finds them, on both
engines (Qdrant Edge, qdrant-client's local mode)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musechat.catalog.indexer import Indexer, ensure_tracks_collection, track_payload
from musechat.catalog.reindex import reindex
from musechat.catalog.track_features import iter_track_features, read_track_features
from musechat.catalog.vectorizer import FixedProjection
from musechat.contracts.catalog import (
    MUSIC_VECTOR,
    TRACK_FEATURES_COLLECTION,
    TRACKS_COLLECTION,
    IndexOutcome,
    TrackEncoded,
    TrackIndexed,
    TrackMetadata,
)
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.music import MusicEncoding, TagScore, TrackFacts
from musechat.contracts.topics import Topic
from musechat.dataset.writer import StoreFeatures
from musechat.demo.training import track_features_from_store
from musechat.store import PointRecord, VectorStore
from musechat.store.edge import EdgeStore
from musechat.store.qdrant import QdrantServerStore

pytestmark = pytest.mark.integration
DIM = 48


class Producer:
    def __init__(self) -> None:
        self.indexed: list[TrackIndexed] = []

    def publish(self, topic: Topic, envelope: EventEnvelope[Any], key: str | None = None) -> None:
        assert topic is Topic.TRACK_INDEXED
        self.indexed.append(envelope.data)


@pytest.fixture(params=["edge", "qdrant-local"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], VectorStore]]:
    if request.param == "edge":
        yield lambda: EdgeStore(tmp_path / "edge")
    else:
        from qdrant_client import QdrantClient

        yield lambda: QdrantServerStore(QdrantClient(path=str(tmp_path / "local")))


@pytest.fixture
def store(opener: Callable[[], VectorStore]) -> Iterator[VectorStore]:
    s = opener()
    yield s
    s.close()


def _facts(rng: np.random.Generator) -> TrackFacts:
    scores = {f"mtt:tag{i}": round(float(rng.random()), 5) for i in range(20)} | {"mtt:guitar": 0.91234}
    return TrackFacts(tempo_bpm=120.0, tempo_confidence=0.8, loudness_db=-12.0, duration_s=30.0,
                      vocals_probability=0.1234, tag_scores=scores, groups={"guitar": 0.87654, "calm": 0.01234})


def _encoded(i: int, seed: int = 0, content: str | None = "hash") -> TrackEncoded:
    rng = np.random.default_rng([i, seed])
    features = rng.standard_normal((3 + i % 4, DIM)).astype(np.float32)
    return TrackEncoded(
        track=TrackMetadata(track_id=f"trk-{i}", title=f"Song {i}", artist="Tester"),
        encoding=MusicEncoding(features=FeatureMatrix.from_array(features), num_segments=len(features),
                               duration_s=30.0, tags=[TagScore(name="guitar", score=0.9, vocabulary="MTT")],
                               feature_model="ast-test@0", feature_dim=DIM, facts=_facts(rng)),
        content_sha256=None if content is None else f"{content}-{i}", batch_id="b")


def _event(encoded: TrackEncoded, n: int = 0) -> EventEnvelope[Any]:
    return EventEnvelope[TrackEncoded](id=f"enc-{encoded.track.track_id}-{n}", type=Topic.TRACK_ENCODED.event_type,
                                       source="test", subject=encoded.track.track_id, data=encoded)


def _indexer(store: VectorStore, producer: Producer) -> Indexer:
    vectorizer = FixedProjection()
    ensure_tracks_collection(store, vectorizer.version)
    return Indexer(store, vectorizer, producer)  # type: ignore[arg-type]


def test_the_indexer_writes_features_to_their_collection_and_not_to_the_tracks_payload(store: VectorStore) -> None:
    producer = Producer()
    indexer = _indexer(store, producer)
    encoded = [_encoded(i) for i in range(6)]
    for e in encoded:
        indexer.handle(_event(e))
    assert [x.outcome for x in producer.indexed] == [IndexOutcome.CREATED] * 6
    assert store.count(TRACKS_COLLECTION) == store.count(TRACK_FEATURES_COLLECTION) == 6
    for point in store.retrieve(TRACKS_COLLECTION, [e.track.track_id for e in encoded]):
        assert "features" not in point.payload
    stored = read_track_features(store, [e.track.track_id for e in encoded], tracks_collection=None)
    for e in encoded:
        record = stored[e.track.track_id]
        assert record.features == e.encoding.features
        assert (record.feature_model, record.content_sha256) == ("ast-test@0", e.content_sha256)
    # A redelivery changes nothing; new bytes rewrite both points.
    indexer.handle(_event(encoded[0], 1))
    changed = _encoded(1, seed=7, content="other")
    indexer.handle(_event(changed, 1))
    assert [x.outcome for x in producer.indexed[-2:]] == [IndexOutcome.UNCHANGED, IndexOutcome.UPDATED]
    assert read_track_features(store, ["trk-1"])["trk-1"].features == changed.encoding.features
    assert store.count(TRACK_FEATURES_COLLECTION) == 6


def test_without_a_content_hash_new_features_alone_are_a_change(store: VectorStore) -> None:
    producer = Producer()
    indexer = _indexer(store, producer)
    first = _encoded(2, content=None)
    indexer.handle(_event(first))
    indexer.handle(_event(first, 1))
    # Same metadata and facts, other features: only the feature collection can tell.
    features = _encoded(2, seed=9, content=None).encoding.features
    other = TrackEncoded.model_validate(
        {**first.model_dump(), "encoding": {**first.encoding.model_dump(), "features": features.model_dump()}})
    assert other.encoding.features != first.encoding.features and other.encoding.facts == first.encoding.facts
    indexer.handle(_event(other, 2))
    assert [x.outcome for x in producer.indexed] == [IndexOutcome.CREATED, IndexOutcome.UNCHANGED,
                                                     IndexOutcome.UPDATED]
    assert read_track_features(store, ["trk-2"])["trk-2"].features == other.encoding.features


def test_stored_facts_keep_three_decimals_and_the_tags_are_decided_on_the_full_scores() -> None:
    encoded = _encoded(0)
    payload = track_payload(encoded, "fixed").model_dump(mode="json")
    facts = payload["facts"]
    assert facts["tag_scores"]["mtt:guitar"] == 0.912 and facts["groups"] == {"guitar": 0.877, "calm": 0.012}
    assert all(round(v, 3) == v for v in facts["tag_scores"].values())
    assert facts["vocals_probability"] == 0.1234  # not a score list: kept as measured
    TrackFacts.model_validate(facts)  # still a valid facts contract


def _legacy_store(store: VectorStore, n: int = 5) -> dict[str, FeatureMatrix]:
    """A `tracks` collection as indexed before the split: features in the payload, no feature collection."""
    vectorizer = FixedProjection()
    ensure_tracks_collection(store, vectorizer.version)
    points, features = [], {}
    for i in range(n):
        encoded = _encoded(i)
        payload = track_payload(encoded, vectorizer.version).model_dump(mode="json")
        payload["features"] = encoded.encoding.features.model_dump(mode="json")
        features[encoded.track.track_id] = encoded.encoding.features
        vector = vectorizer.embed(encoded.encoding.features.to_array())
        points.append(PointRecord(id=encoded.track.track_id, vectors={MUSIC_VECTOR: vector.tolist()}, payload=payload))
    store.upsert(TRACKS_COLLECTION, points)
    return features


def test_readers_fall_back_to_the_payload_of_a_store_indexed_before_the_split(store: VectorStore) -> None:
    features = _legacy_store(store)
    assert not store.collection_exists(TRACK_FEATURES_COLLECTION)
    found = read_track_features(store, [*features, "nope"])
    assert {k: v.features for k, v in found.items()} == features
    assert read_track_features(store, list(features), tracks_collection=None) == {}
    assert {r.track_id for r in iter_track_features(store, batch_size=2)} == set(features)
    assert set(track_features_from_store(store)) == set(features)
    tracks = StoreFeatures(store).tracks(["trk-0", "trk-3"])
    assert np.array_equal(tracks["trk-3"].features, features["trk-3"].to_array())


def test_a_reingest_moves_an_old_stores_features_out_of_the_payload(store: VectorStore) -> None:
    _legacy_store(store, n=2)
    producer = Producer()
    indexer = _indexer(store, producer)
    indexer.handle(_event(_encoded(0)))  # same bytes, same models: still rewritten, to drop the features
    assert producer.indexed[-1].outcome is IndexOutcome.UPDATED
    [point] = store.retrieve(TRACKS_COLLECTION, ["trk-0"])
    assert "features" not in point.payload
    assert store.retrieve(TRACK_FEATURES_COLLECTION, ["trk-0"])[0].payload["features"] == (
        _encoded(0).encoding.features.model_dump(mode="json"))
    indexer.handle(_event(_encoded(0), 1))
    assert producer.indexed[-1].outcome is IndexOutcome.UNCHANGED


def test_reindex_reads_the_feature_collection_and_never_rewrites_it(store: VectorStore) -> None:
    producer = Producer()
    indexer = _indexer(store, producer)
    for i in range(7):
        indexer.handle(_event(_encoded(i)))
    before = {r.id: r.payload for r in store.scroll(TRACK_FEATURES_COLLECTION)}
    new = FixedProjection(seed=3)
    target = reindex(store, new, batch_size=3, progress=False)
    assert store.resolve(TRACKS_COLLECTION) == target and store.count(target) == 7
    assert {r.id: r.payload for r in store.scroll(TRACK_FEATURES_COLLECTION)} == before
    for point in store.retrieve(target, [f"trk-{i}" for i in range(7)]):
        assert "features" not in point.payload and point.payload["index_model"] == new.version
        expected = new.embed(FeatureMatrix.model_validate(before[point.id]["features"]).to_array())
        assert np.allclose(point.vectors[MUSIC_VECTOR], expected, atol=1e-5)


def test_reindex_of_an_old_store_moves_the_features_to_their_collection(store: VectorStore) -> None:
    features = _legacy_store(store, n=5)
    target = reindex(store, FixedProjection(seed=4), batch_size=2, progress=False)
    assert store.count(TRACK_FEATURES_COLLECTION) == 5
    assert {k: v.features for k, v in read_track_features(store, list(features), None).items()} == features
    assert all("features" not in r.payload for r in store.scroll(target))


def test_the_old_collections_gc_never_drops_the_feature_collection(store: VectorStore) -> None:
    from musechat.catalog.reindex import drop_old_collections

    class Registry:
        def collections_to_keep(self, retention: int) -> list[str]:
            return []

    indexer = _indexer(store, Producer())
    indexer.handle(_event(_encoded(0)))
    first = store.resolve(TRACKS_COLLECTION)
    reindex(store, FixedProjection(seed=5), progress=False)
    assert drop_old_collections(store, Registry(), retention=0) == [first]  # type: ignore[arg-type]
    assert store.count(TRACK_FEATURES_COLLECTION) == 1
