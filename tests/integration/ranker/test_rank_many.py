"""The fusion ranker on the real embedded engine: a micro-batch of turns (one query-tower pass, one engine
call) answers each turn exactly as ranking it alone does, and one bad turn fails only itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import pytest

from musechat.contracts.api import TrackFilters
from musechat.contracts.catalog import has_vocals
from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.ranker.core import FusionRanker
from musechat.ranker.errors import RankingError, TrackNotFoundError, VideoNotFoundError
from musechat.store.edge import EdgeStore
from tests.fixtures_ranker import TRACKS, RankerWorld, build_ranker_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> RankerWorld:
    return build_ranker_world(tmp_path_factory.mktemp("ranker"))


@pytest.fixture
def ranker(world: RankerWorld) -> Iterator[FusionRanker]:
    store = EdgeStore(world.store_path)
    yield FusionRanker.load(store, world.checkpoint)
    store.close()


def _ok(response: RankResponse | RankingError) -> RankResponse:
    assert isinstance(response, RankResponse), response
    return response


def _ids(response: RankResponse | RankingError) -> list[str]:
    return [t.track_id for t in _ok(response).tracks]


def test_a_batch_answers_each_turn_as_ranking_it_alone(world: RankerWorld, ranker: FusionRanker) -> None:
    turns = world.turns()
    batched = ranker.rank_many(turns)
    assert len(batched) == len(turns)
    for turn, answer in zip(turns, batched, strict=True):
        if isinstance(answer, RankingError):
            with pytest.raises(type(answer)):
                ranker.rank(turn)
            continue
        alone = ranker.rank(turn)
        assert _ids(answer) == _ids(alone)
        assert np.allclose([t.score for t in answer.tracks], [t.score for t in alone.tracks], atol=1e-5)
        assert len(answer.tracks) == turn.limit
        assert answer.index_collection == "tracks-v1"
    assert isinstance(batched[2], VideoNotFoundError) and "nope" in batched[2].message
    assert isinstance(batched[4], TrackNotFoundError)
    # Exclusions and filters hold per turn inside the batch.
    assert {"trk-3", "trk-9"}.isdisjoint(_ids(batched[1]))
    assert all("male vocals" not in t.tags and t.track_id != "trk-7" for t in _ok(batched[3]).tracks)
    assert all(t.duration_s <= 90 for t in _ok(batched[5]).tracks)


def test_a_batch_of_only_bad_turns_returns_their_errors(ranker: FusionRanker) -> None:
    from musechat.contracts.ranking import RankRequest

    answers = ranker.rank_many([RankRequest(video_id="nope"), RankRequest(video_id="also-nope")])
    assert [type(a) for a in answers] == [VideoNotFoundError, VideoNotFoundError]


class CountingStore:
    """The real engine, with a count of the feature lookups (`retrieve`) the ranker makes."""

    def __init__(self, inner: EdgeStore) -> None:
        self.inner = inner
        self.retrieved: list[list[str]] = []
        self.collections: list[str] = []

    def retrieve(self, collection: str, ids: list[str]) -> Any:
        self.retrieved.append(list(ids))
        self.collections.append(collection)
        return self.inner.retrieve(collection, ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_features_come_from_the_cache_after_the_first_turn_but_a_pending_video_is_asked_again(
        world: RankerWorld) -> None:
    from musechat.contracts.api import VideoStatus
    from musechat.contracts.conversation import VideoEncoded
    from musechat.contracts.features import FeatureMatrix
    from musechat.contracts.ranking import RankRequest
    from musechat.ranker.errors import VideoNotReadyError
    from musechat.video.registry import VideoRegistry

    store = EdgeStore(world.store_path)
    try:
        counting = CountingStore(store)
        ranker = FusionRanker.load(cast(Any, counting), world.checkpoint)
        turn = RankRequest(video_id="vid-a", candidate_track_id="trk-3", text_tokens=world.words[5])
        first = ranker.rank(turn)
        lookups = len(counting.retrieved)
        assert lookups == 2  # the video and the candidate, one engine call each
        assert _ids(ranker.rank(turn)) == _ids(first) and len(counting.retrieved) == lookups

        known = ranker.video_features(["vid-a"])["vid-a"]
        assert isinstance(known, np.ndarray)
        registry = VideoRegistry(store, known.shape[1])
        registry.mark_pending("vid-late")
        late = RankRequest(video_id="vid-late")
        with pytest.raises(VideoNotReadyError):
            ranker.rank(late)
        registry.record(VideoEncoded(video_id="vid-late", status=VideoStatus.READY, feature_model="v",
                                     features=FeatureMatrix.from_array(np.ones((4, known.shape[1])))))
        assert len(ranker.rank(late).tracks) == late.limit  # the pending answer was not remembered
    finally:
        store.close()


def test_the_vocals_filter_matches_the_flag_derived_from_the_tags(ranker: FusionRanker) -> None:
    instrumental = _ok(ranker.rank(RankRequest(video_id="vid-a", limit=30, filters=TrackFilters(vocals=False))))
    sung = _ok(ranker.rank(RankRequest(video_id="vid-a", limit=50, filters=TrackFilters(vocals=True))))
    assert instrumental.tracks and sung.tracks
    assert not any(has_vocals(t.tags) for t in instrumental.tracks)
    assert all(has_vocals(t.tags) for t in sung.tracks)
    # Every track is on exactly one side (the world tags two tracks in three with vocals, "no vocals" is not one).
    assert len(instrumental.tracks) + len(sung.tracks) == TRACKS


def test_the_candidate_comes_from_the_feature_collection_and_an_old_stores_payload_still_serves(
        world: RankerWorld, tmp_path: Any) -> None:
    """The world writes the features to `track_features` only; a store indexed before the split (features
    in the `tracks` payload, no feature collection) ranks the same turn identically."""
    import shutil

    from musechat.contracts.catalog import TRACK_FEATURES_COLLECTION, TRACKS_COLLECTION
    from musechat.store import PointRecord

    turn = RankRequest(video_id="vid-a", candidate_track_id="trk-3", text_tokens=world.words[5])
    store = EdgeStore(world.store_path)
    try:
        assert all("features" not in r.payload for r in store.scroll(TRACKS_COLLECTION))
        counting = CountingStore(store)
        new_layout = FusionRanker.load(cast(Any, counting), world.checkpoint).rank(turn)
        # The candidate is read by id from the cold collection, never from the index.
        assert TRACK_FEATURES_COLLECTION in counting.collections and "tracks-v1" not in counting.collections
    finally:
        store.close()

    old = tmp_path / "old-store"
    shutil.copytree(world.store_path, old)
    store = EdgeStore(old)
    try:
        features = {r.id: r.payload["features"] for r in store.scroll(TRACK_FEATURES_COLLECTION)}
        store.upsert("tracks-v1", [
            PointRecord(id=r.id, vectors=r.vectors, payload={**r.payload, "features": features[r.id]})
            for r in store.scroll("tracks-v1", with_vectors=True)])
        store.drop_collection(TRACK_FEATURES_COLLECTION)
        old_layout = FusionRanker.load(store, world.checkpoint).rank(turn)
    finally:
        store.close()
    assert _ids(old_layout) == _ids(new_layout)
    assert np.allclose([t.score for t in old_layout.tracks], [t.score for t in new_layout.tracks], atol=1e-5)
