"""The fusion ranker on the real embedded engine: a micro-batch of turns (one query-tower pass, one engine
call) answers each turn exactly as ranking it alone does, and one bad turn fails only itself."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from musechat.catalog.indexer import tracks_spec
from musechat.contracts.api import TrackFilters, VideoStatus
from musechat.contracts.catalog import MUSIC_VECTOR, TRACKS_COLLECTION, TrackPayload
from musechat.contracts.conversation import VideoEncoded
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.fusion.model import FusionConfig, FusionModel, InputDims, save_checkpoint
from musechat.ranker.core import FusionRanker, FusionVectorizer
from musechat.ranker.errors import RankingError, TrackNotFoundError, VideoNotFoundError
from musechat.store import PointRecord
from musechat.store.edge import EdgeStore
from musechat.video.registry import VideoRegistry

pytestmark = pytest.mark.integration

VIDEO_DIM, MUSIC_DIM, TEXT_DIM, TRACKS = 24, 40, 16, 60
Ranked = tuple[FusionRanker, dict[int, FeatureMatrix]]
TAGS = (["rock", "male vocals"], ["piano", "no vocals"], ["electronic", "female vocals"])


@pytest.fixture(scope="module")
def ranker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ranked]:
    import torch

    root = tmp_path_factory.mktemp("ranker")
    torch.manual_seed(0)
    config = FusionConfig(variant="musechat", d_model=32, n_heads=2,
                          dims=InputDims(video=VIDEO_DIM, music=MUSIC_DIM, text=TEXT_DIM))
    save_checkpoint(FusionModel(config).eval(), root / "fusion")
    store = EdgeStore(root / "store")
    rng = np.random.default_rng(0)
    features = [rng.standard_normal((int(rng.integers(6, 13)), MUSIC_DIM)).astype(np.float32) for _ in range(TRACKS)]
    vectors = FusionVectorizer.load(root / "fusion").embed_many(features)
    store.create_collection(tracks_spec("tracks-v1"))
    store.upsert("tracks-v1", [PointRecord(id=f"trk-{i}", vectors={MUSIC_VECTOR: vectors[i].tolist()},
                                           payload=TrackPayload(
                                               track_id=f"trk-{i}", title=f"Song {i}", artist="A", duration_s=60 + i,
                                               tags=TAGS[i % 3], tag_scores=[], features=FeatureMatrix.from_array(f),
                                               feature_model="m", index_model="fusion").model_dump(mode="json"))
                               for i, f in enumerate(features)])
    store.set_alias(TRACKS_COLLECTION, "tracks-v1")
    videos = VideoRegistry(store, VIDEO_DIM)
    videos.ensure_collection()
    for name, segments in (("vid-a", 12), ("vid-b", 7)):
        videos.record(VideoEncoded(video_id=name, status=VideoStatus.READY, feature_model="v",
                                   features=FeatureMatrix.from_array(rng.standard_normal((segments, VIDEO_DIM)))))
    words = {n: FeatureMatrix.from_array(rng.standard_normal((n, TEXT_DIM))) for n in (5, 11)}
    yield FusionRanker.load(store, root / "fusion"), words
    store.close()


def _turns(words: dict[int, FeatureMatrix]) -> list[RankRequest]:
    return [
        RankRequest(video_id="vid-a"),  # turn 1: video alone
        RankRequest(video_id="vid-b", candidate_track_id="trk-3", text_tokens=words[5], exclude_track_ids=["trk-9"]),
        RankRequest(video_id="nope"),
        RankRequest(video_id="vid-a", candidate_track_id="trk-7", text_tokens=words[11], limit=8,
                    filters=TrackFilters(exclude_tags=["male vocals"])),
        RankRequest(video_id="vid-a", candidate_track_id="trk-missing", text_tokens=words[5]),
        RankRequest(video_id="vid-b", limit=3, filters=TrackFilters(max_duration_s=90)),
    ]


def _ok(response: RankResponse | RankingError) -> RankResponse:
    assert isinstance(response, RankResponse), response
    return response


def _ids(response: RankResponse | RankingError) -> list[str]:
    return [t.track_id for t in _ok(response).tracks]


def test_a_batch_answers_each_turn_as_ranking_it_alone(ranker: Ranked) -> None:
    fusion, words = ranker
    turns = _turns(words)
    batched = fusion.rank_many(turns)
    assert len(batched) == len(turns)
    for turn, answer in zip(turns, batched, strict=True):
        if isinstance(answer, RankingError):
            with pytest.raises(type(answer)):
                fusion.rank(turn)
            continue
        alone = fusion.rank(turn)
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


def test_a_batch_of_only_bad_turns_returns_their_errors(ranker: Ranked) -> None:
    fusion, _ = ranker
    answers = fusion.rank_many([RankRequest(video_id="nope"), RankRequest(video_id="also-nope")])
    assert [type(a) for a in answers] == [VideoNotFoundError, VideoNotFoundError]
