"""Attribute-aware re-ranking on the real embedded engine (qdrant-edge) with a real (random-weight) fusion
checkpoint: the understood request holds where the learned model knows nothing. Half the tracks carry
music facts, half only tags (the fallback). Ground truth is read from each returned track's payload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from musechat.catalog.facts import PRESENT
from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.ranker.attributes import MIN_DURATION_STEP_S, presence
from musechat.ranker.core import FusionRanker
from musechat.store.edge import EdgeStore
from musechat.understanding import to_filters, understand
from tests.fixtures_understanding import TRACKS, FactsWorld, build_facts_world, track_spec, words

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> FactsWorld:
    return build_facts_world(tmp_path_factory.mktemp("facts-world"))


@pytest.fixture(scope="module")
def engine(world: FactsWorld) -> Iterator[tuple[FusionRanker, dict[str, dict[str, Any]]]]:
    store = EdgeStore(world.store_path)
    payloads = {r.id: r.payload for r in store.retrieve("tracks-v1", [f"trk-{i}" for i in range(TRACKS)])}
    yield FusionRanker.load(store, world.checkpoint), payloads
    store.close()


def _turn(ranker: FusionRanker, text: str, candidate: str | None, video: str = "vid-a") -> RankResponse:
    understood = understand(text)
    return ranker.rank(RankRequest(video_id=video, candidate_track_id=candidate, text_tokens=words(6),
                                   filters=to_filters(understood), understood=understood, limit=5))


CANDIDATES = [f"trk-{i}" for i in (0, 1, 3, 10, 11, 14, 22, 40, 57, 88)]


@pytest.mark.parametrize("text", ["no guitar please", "Can we avoid guitar", "without any guitar",
                                  "no vocals", "no drums at all"])
def test_a_removal_never_shows_the_removed_attribute_in_the_top_5(
        engine: tuple[FusionRanker, dict[str, dict[str, Any]]], text: str) -> None:
    ranker, payloads = engine
    key = {"guitar": "instrument.guitar", "vocals": "vocals", "drums": "instrument.drums"}[
        next(w for w in ("guitar", "vocals", "drums") if w in text)]
    for candidate in CANDIDATES:
        for video in ("vid-a", "vid-b"):
            tracks = _turn(ranker, text, candidate, video).tracks
            assert len(tracks) == 5
            for track in tracks:
                assert presence(payloads[track.track_id], key) < PRESENT, (text, candidate, track.track_id)


@pytest.mark.parametrize(("text", "key", "sign"), [
    ("I want vocals", "vocals", 1), ("Add some singing, the instrumental felt empty.", "vocals", 1),
    ("more piano", "instrument.piano", 1), ("some strings please", "instrument.strings", 1),
    ("less synth", "instrument.synth", -1), ("something jazzier", "genre.jazz", 1),
])
def test_the_top_pick_moves_the_asked_way(engine: tuple[FusionRanker, dict[str, dict[str, Any]]], text: str,
                                          key: str, sign: int) -> None:
    ranker, payloads = engine
    for candidate in CANDIDATES:
        before = presence(payloads[candidate], key)
        top = _turn(ranker, text, candidate).tracks[0].track_id
        after = presence(payloads[top], key)
        if sign > 0:
            assert after >= PRESENT, (text, candidate, top)
        elif before >= PRESENT:
            assert after < PRESENT, (text, candidate, top)


@pytest.mark.parametrize(("text", "sign"), [("faster", 1), ("a bit faster", 1), ("Slower, please.", -1)])
def test_tempo_directions_hold_by_measured_bpm(engine: tuple[FusionRanker, dict[str, dict[str, Any]]], text: str,
                                               sign: int) -> None:
    ranker, _ = engine
    for candidate in (f"trk-{i}" for i in (0, 2, 6, 8, 20, 24, 30, 48)):  # facts tracks, 70-166 BPM
        bpm = track_spec(int(candidate.split("-")[1]))[3]
        if (sign > 0 and bpm > 155) or (sign < 0 and bpm < 80):
            continue  # nothing left to move to
        top = _turn(ranker, text, candidate).tracks[0].track_id
        assert sign * (track_spec(int(top.split("-")[1]))[3] - bpm) > 0, (text, candidate, top)


@pytest.mark.parametrize(("text", "sign"), [("faster", 1), ("Slower, please.", -1)])
def test_tempo_from_a_candidate_of_unknown_tempo_goes_to_the_extreme(
        engine: tuple[FusionRanker, dict[str, dict[str, Any]]], text: str, sign: int) -> None:
    """A tags-only candidate says nothing about its tempo: the top pick is among the fastest (slowest)
    measured tracks, so it moves the asked way from all but the most extreme candidates."""
    ranker, _ = engine
    moved = 0
    candidates = [f"trk-{i}" for i in range(1, TRACKS, 2)]  # the tags-only half of the world
    for candidate in candidates:
        top = _turn(ranker, text, candidate).tracks[0].track_id
        moved += sign * (track_spec(int(top.split("-")[1]))[3] - track_spec(int(candidate.split("-")[1]))[3]) > 0
    assert moved >= 0.8 * len(candidates), (text, moved, len(candidates))


@pytest.mark.parametrize(("text", "sign"), [("a shorter one please", -1), ("this one is way too long", -1),
                                            ("a longer track", 1)])
def test_a_shorter_or_longer_pick_by_payload_duration(engine: tuple[FusionRanker, dict[str, dict[str, Any]]],
                                                      text: str, sign: int) -> None:
    ranker, payloads = engine
    lengths = [p["duration_s"] for p in payloads.values()]
    for candidate in CANDIDATES:
        length = payloads[candidate]["duration_s"]
        if (sign < 0 and length < min(lengths) + MIN_DURATION_STEP_S) or (
                sign > 0 and length > max(lengths) - MIN_DURATION_STEP_S):
            continue  # nothing left to move to
        top = _turn(ranker, text, candidate).tracks[0].track_id
        assert sign * (payloads[top]["duration_s"] - length) > 0, (text, candidate, top)


def test_words_without_a_candidate_are_ranked(engine: tuple[FusionRanker, dict[str, dict[str, Any]]]) -> None:
    ranker, payloads = engine
    tracks = _turn(ranker, "more piano, no vocals", None).tracks
    assert len(tracks) == 5
    assert presence(payloads[tracks[0].track_id], "instrument.piano") >= PRESENT
    assert all(presence(payloads[t.track_id], "vocals") < PRESENT for t in tracks)


def test_a_request_without_soft_asks_is_the_plain_nearest_search(
        engine: tuple[FusionRanker, dict[str, dict[str, Any]]]) -> None:
    ranker, _ = engine
    plain = ranker.rank(RankRequest(video_id="vid-a", candidate_track_id="trk-3", text_tokens=words(6), limit=5))
    understood = understand("thanks, nice one")
    same = ranker.rank(RankRequest(video_id="vid-a", candidate_track_id="trk-3", text_tokens=words(6), limit=5,
                                   understood=understood))
    assert [t.track_id for t in same.tracks] == [t.track_id for t in plain.tracks]
