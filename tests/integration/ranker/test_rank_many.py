"""The fusion ranker on the real embedded engine: a micro-batch of turns (one query-tower pass, one engine
call) answers each turn exactly as ranking it alone does, and one bad turn fails only itself."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from musechat.contracts.ranking import RankResponse
from musechat.ranker.core import FusionRanker
from musechat.ranker.errors import RankingError, TrackNotFoundError, VideoNotFoundError
from musechat.store.edge import EdgeStore
from tests.fixtures_ranker import RankerWorld, build_ranker_world

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
