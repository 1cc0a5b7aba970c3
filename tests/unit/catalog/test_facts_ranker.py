"""The facts-only path behind /v1: the typed request read as the facts path's request, the gateway's
`FactsRanker` over a real qdrant-edge store, and the indexer's payload without the duplicate tag scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musechat.catalog.indexer import ensure_tracks_collection, track_payload
from musechat.catalog.recommend import MusicRequest, from_understood
from musechat.catalog.vectorizer import INDEX_DIM
from musechat.contracts.catalog import MUSIC_VECTOR, TrackEncoded, TrackMetadata
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.music import MusicEncoding, TagScore
from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.encoders.music_facts import Tempo, build_facts
from musechat.gateway.facts_ranker import FACTS_ONLY_VERSION, FactsRanker
from musechat.ranker.errors import TrackNotFoundError
from musechat.store import PointRecord
from musechat.store.settings import StoreSettings, open_store
from musechat.understanding import to_filters, understand

pytestmark = pytest.mark.unit


def test_the_typed_request_becomes_the_facts_request() -> None:
    assert from_understood(None) == MusicRequest()
    assert from_understood(understand("No vocals, more piano, faster")) == MusicRequest(["piano"], ["vocals"], 1)
    assert from_understood(understand("slower, with a female singer")) == MusicRequest(["female_vocals"], [], -1)
    assert from_understood(understand("no drums, more strings")) == MusicRequest(["strings"], ["drums"], 0)
    assert from_understood(understand("less piano")) == MusicRequest(less=["piano"])


def _track(track_id: str, mtt: dict[str, float], msd: dict[str, float], bpm: float) -> dict[str, Any]:
    facts = build_facts({"MTT": mtt, "MSD": msd}, Tempo(bpm, 0.9), -14.0, 120.0)
    encoded = TrackEncoded(
        track=TrackMetadata(track_id=track_id, title=track_id, artist="a"), batch_id="b",
        encoding=MusicEncoding(features=FeatureMatrix.from_array(np.zeros((1, 4), np.float32)), num_segments=1,
                               duration_s=120.0, tags=[], feature_model="test", feature_dim=4, facts=facts))
    return track_payload(encoded, "test").model_dump(mode="json")


CATALOG = [
    _track("piano-slow", {"piano": 0.7, "classical": 0.5, "quiet": 0.4}, {"instrumental": 0.4}, 80.0),
    _track("piano-fast", {"piano": 0.6, "classical": 0.4}, {"instrumental": 0.4}, 100.0),
    _track("drums", {"drums": 0.7, "techno": 0.6, "electronic": 0.6}, {"electronic": 0.6}, 110.0),
    _track("song", {"vocal": 0.6, "female": 0.5, "pop": 0.5, "piano": 0.5}, {"female vocalists": 0.6}, 110.0),
]


@pytest.fixture
def ranker(tmp_path: Path) -> Any:
    store = open_store(StoreSettings(backend="edge", path=tmp_path / "edge"))
    collection = ensure_tracks_collection(store, "test")
    store.upsert(collection, [PointRecord(id=p["track_id"], vectors={MUSIC_VECTOR: [1.0] + [0.0] * (INDEX_DIM - 1)},
                                          payload=p) for p in CATALOG])
    yield FactsRanker(store)
    store.close()


def _rank(ranker: FactsRanker, words: str, candidate: str | None = None, limit: int = 5) -> RankResponse:
    understood = understand(words)
    [answer] = ranker.rank_many([RankRequest(video_id="v", candidate_track_id=candidate, filters=to_filters(understood),
                                             understood=understood, limit=limit)])
    assert isinstance(answer, RankResponse)
    return answer


def test_facts_ranker_honours_the_words_by_the_stored_facts(ranker: FactsRanker) -> None:
    [opening] = ranker.rank_many([RankRequest(video_id="v", limit=10)])
    assert isinstance(opening, RankResponse) and opening.model_version == FACTS_ONLY_VERSION
    assert len(opening.tracks) == len(CATALOG)

    no_vocals = _rank(ranker, "More piano, no vocals", limit=10)
    assert [t.track_id for t in no_vocals.tracks][:2] in (["piano-slow", "piano-fast"], ["piano-fast", "piano-slow"])
    assert "song" not in [t.track_id for t in no_vocals.tracks]
    assert opening.shortfall == ("4 of 10 asked: the applied filters leave 4 of the catalog's 4 tracks; of 4 left "
                                 "with facts: none was removed, all are shown")
    assert _rank(ranker, "more piano", limit=2).shortfall is None  # a full list needs no reason
    # "no vocals" is a store filter here (the indexed vocals flag), so the filters are what removed the song
    assert no_vocals.shortfall == ("3 of 10 asked: the applied filters leave 3 of the catalog's 4 tracks; of 3 left "
                                   "with facts: none was removed, all are shown")

    faster = _rank(ranker, "Faster, no vocals", candidate="piano-slow", limit=10)
    # both are faster than 80 BPM (100 and 110); the piano one keeps the previous pick's style
    assert [t.track_id for t in faster.tracks] == ["piano-fast", "drums"]
    assert "piano-slow" not in [t.track_id for t in faster.tracks]  # the previous pick is not offered again
    assert _rank(ranker, "more piano, faster, no vocals", candidate="piano-slow").tracks[0].track_id == "piano-fast"
    assert _rank(ranker, "slower", candidate="drums").tracks[0].track_id == "piano-slow"  # 80 vs 110 BPM


def test_facts_ranker_reports_an_unknown_candidate_as_its_error(ranker: FactsRanker) -> None:
    [answer] = ranker.rank_many([RankRequest(video_id="v", candidate_track_id="nope")])
    assert isinstance(answer, TrackNotFoundError) and answer.status == 404


def test_track_payload_keeps_tag_scores_only_in_the_facts() -> None:
    payload = CATALOG[0]
    assert payload["tag_scores"] == []  # the same scores are in facts.tag_scores, once
    assert payload["facts"]["tag_scores"]["mtt:piano"] == pytest.approx(0.7)
    without_facts = TrackEncoded(
        track=TrackMetadata(track_id="old", title="old", artist="a"),
        encoding=MusicEncoding(features=FeatureMatrix.from_array(np.zeros((1, 4), np.float32)), num_segments=1,
                               duration_s=60.0, tags=[TagScore(name="guitar", score=0.9, vocabulary="MTT")],
                               feature_model="test", feature_dim=4), batch_id="b")
    assert [t.name for t in track_payload(without_facts, "test").tag_scores] == ["guitar"]  # older encoders


def test_the_gateway_takes_the_facts_ranker_without_a_fusion_checkpoint(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from musechat.gateway.settings import GatewaySettings

    keys = tmp_path / "keys.jsonl"
    assert GatewaySettings(state_secret="s", api_keys_file=keys, ranker="facts").fusion_checkpoint is None
    with pytest.raises(ValidationError, match="MUSECHAT_GATEWAY_FUSION_CHECKPOINT"):
        GatewaySettings(state_secret="s", api_keys_file=keys)
