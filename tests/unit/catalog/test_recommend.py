"""Facts-only recommendation: words (read by request understanding) -> facts request, hard refusals, tempo
direction and range, "less X", duration bounds, the fusion fit check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from musechat.catalog.recommend import MusicRequest, from_understood, rank
from musechat.catalog.serve import check_fit, conversation
from musechat.encoders.music_facts import Tempo, build_facts
from musechat.understanding import understand

pytestmark = pytest.mark.unit


def words(text: str) -> MusicRequest:
    return from_understood(understand(text))


def test_words_become_wanted_refused_less_and_tempo() -> None:
    assert words("More strings, please.") == MusicRequest(["strings"], [], 0)
    assert words("No vocals, please.") == MusicRequest([], ["vocals"], 0)
    assert "metal" in words("Heavy metal with distorted guitars").wanted
    request = words("Faster, and without drums or synth")
    assert request.tempo == 1 and sorted(request.refused) == ["drums", "synth"] and request.wanted == []
    assert words("no drums, more piano") == MusicRequest(["piano"], ["drums"], 0)
    assert words("less synth").less == ["synth"]
    assert words("a female singer").wanted == ["female_vocals"]
    ranged = words("around 120 to 130 bpm, under 3 minutes")
    assert (ranged.min_bpm, ranged.max_bpm, ranged.max_duration_s) == (120, 130, 180)


def payload(track_id: str, mtt: dict[str, float], msd: dict[str, float], bpm: float | None) -> dict[str, Any]:
    facts = build_facts({"MTT": mtt, "MSD": msd}, Tempo(bpm, 0.9 if bpm else 0.0), -14.0, 120.0)
    return {"track_id": track_id, "title": track_id, "artist": "a", "facts": facts.model_dump(mode="json")}


CATALOG = [
    payload("orch", {"strings": 0.7, "classical": 0.6, "violin": 0.4, "electronic": 0.08}, {"instrumental": 0.3}, 90.0),
    payload("metal", {"guitar": 0.6, "rock": 0.5, "metal": 0.4, "drums": 0.5}, {"metal": 0.7}, 150.0),
    payload("synth", {"electronic": 0.7, "synth": 0.6, "techno": 0.5}, {"electronic": 0.7}, 128.0),
    payload("song", {"vocal": 0.5, "female": 0.5, "pop": 0.5}, {"female vocalists": 0.5}, 110.0),
    {"track_id": "old", "title": "no facts", "tags": ["strings"]},
]


def test_a_synthesized_style_outranks_an_orchestral_piece_its_tag_also_fires_on() -> None:
    # the shape of the real-music suite: MusiCNN's 'ambient' fires on calm orchestral recordings too
    calm_orchestra = payload("calm-orch", {"strings": 0.7, "classical": 0.6, "ambient": 0.6, "quiet": 0.5},
                             {"ambient": 0.6}, 80.0)
    synth_pad = payload("synth-pad", {"ambient": 0.4, "electronic": 0.3, "synth": 0.4}, {"ambient": 0.4}, 80.0)
    assert [p.track_id for p in rank([calm_orchestra, synth_pad], words("calm ambient music"))] == [
        "synth-pad", "calm-orch"]


def test_rank_puts_the_asked_attribute_first_and_refusals_never() -> None:
    assert rank(CATALOG, words("More strings"), limit=1)[0].track_id == "orch"
    assert rank(CATALOG, words("heavy metal"), limit=1)[0].track_id == "metal"
    no_vocals = [p.track_id for p in rank(CATALOG, words("no vocals"), limit=5)]
    assert "song" not in no_vocals and "old" not in no_vocals and len(no_vocals) == 3
    assert "synth" not in [p.track_id for p in rank(CATALOG, words("no electronic"), limit=5)]
    with pytest.raises(ValueError, match="unknown attributes"):
        rank(CATALOG, MusicRequest(["kazoo"]), limit=1)


def test_a_conversation_uses_the_previous_pick_as_tempo_reference() -> None:
    turns = conversation(CATALOG, ["More strings, please.", "Faster, please."], limit=2)
    assert [t["turn"] for t in turns] == [1, 2, 3]
    assert turns[1]["tracks"][0]["track_id"] == "orch"
    assert turns[1]["understood"] == {"instrument.strings": "more"}
    # turn 3 is read as "faster" alone ("more strings" was turn-scoped), excludes the already suggested
    # pick, and prefers tracks faster than it
    assert turns[2]["understood"] == {"tempo": "faster"}
    assert "orch" not in [t["track_id"] for t in turns[2]["tracks"]]


def test_a_later_direction_replaces_an_earlier_one() -> None:
    turns = conversation(CATALOG, ["Something electronic with a fast beat", "Slower, please."], limit=3)
    assert turns[1]["understood"]["tempo"] == "faster" and turns[2]["understood"]["tempo"] == "slower"
    reference = turns[1]["tracks"][0]["tempo_bpm"]
    assert turns[2]["tracks"][0]["tempo_bpm"] < reference


def test_less_of_an_attribute_prefers_tracks_without_it() -> None:
    order = [p.track_id for p in rank(CATALOG, words("less synth, please"), limit=4)]
    assert order[-1] == "synth"


def test_a_bpm_range_and_duration_bounds() -> None:
    assert rank(CATALOG, words("between 120 and 135 bpm"), limit=1)[0].track_id == "synth"
    short = {**CATALOG[0], "track_id": "short", "duration_s": 50.0}
    long = {**CATALOG[1], "track_id": "long", "duration_s": 400.0}
    assert [p.track_id for p in rank([short, long], words("under a minute please"), limit=5)] == ["short"]
    assert [p.track_id for p in rank([short, long], words("longer than 2 minutes"), limit=5)] == ["long"]


def test_shorter_and_longer_compare_with_the_previous_picks_length() -> None:
    tracks = [{**CATALOG[0], "track_id": f"len-{s}", "duration_s": float(s)} for s in (40, 90, 150, 240)]
    for text, expected in (("a shorter one", "len-40"), ("longer please", "len-240")):
        picks = rank(tracks, words(text), limit=1, exclude=["len-150"], candidate_duration_s=150.0)
        assert picks[0].track_id == expected
    turns = conversation(tracks, ["it's too long"], limit=1)  # the same facts: turn 1 is len-150 by id
    assert turns[1]["understood"] == {"duration": "shorter"}
    assert [turns[0]["tracks"][0]["track_id"], turns[1]["tracks"][0]["track_id"]] == ["len-150", "len-40"]


def test_fit_check(tmp_path: Path) -> None:
    assert check_fit(None, {"fm": 3}).path == "facts-only"
    (tmp_path / "config.json").write_text(json.dumps({"model": {"music_dim": 464, "feature_model": "other"}}))
    assert "trained on features other" in check_fit(tmp_path, {"fm": 3}).reason
    (tmp_path / "config.json").write_text(json.dumps({"model": {"music_dim": 464, "feature_model": "fm"}}))
    assert check_fit(tmp_path, {"fm": 3}).path == "fusion+facts"
    assert check_fit(tmp_path, {"fm": 3, "other": 1}).path == "facts-only"


def test_faster_and_slower_compare_tempi_modulo_an_octave() -> None:
    reference = payload("ref", {"electronic": 0.6}, {"electronic": 0.6}, 140.0)["facts"]
    from musechat.contracts.music import TrackFacts

    reference = TrackFacts.model_validate(reference)
    at = {bpm: payload(f"t{bpm:.0f}", {"electronic": 0.6}, {"electronic": 0.6}, bpm)
          for bpm in (70.0, 84.0, 120.0, 160.0)}
    slower = [p.track_id for p in rank(at.values(), words("slower"), limit=4, candidate=reference)]
    faster = [p.track_id for p in rank(at.values(), words("faster"), limit=4, candidate=reference)]
    # 84 BPM is counted in the other octave: 168, faster than 140 (the tracker's usual error is the octave);
    # 70 BPM (half of 140) is the same pulse, neither faster nor slower
    assert slower == ["t120", "t70", "t160", "t84"]
    assert faster == ["t84", "t160", "t70", "t120"]


def test_after_a_pick_the_words_adjust_its_style() -> None:
    # "slower" after an electronic pick at 128 BPM: the slower electronic track, not the slower orchestral one
    from musechat.contracts.music import TrackFacts

    electro = payload("electro", {"electronic": 0.7, "synth": 0.6, "techno": 0.5}, {"electronic": 0.7}, 100.0)
    orch = payload("orch2", {"strings": 0.7, "classical": 0.6, "violin": 0.4}, {"instrumental": 0.3}, 100.0)
    picked = TrackFacts.model_validate(CATALOG[2]["facts"])
    assert [p.track_id for p in rank([orch, electro], words("Slower, please."), candidate=picked)] == [
        "electro", "orch2"]


def test_a_turn_with_fewer_tracks_than_asked_says_which_constraint_removed_them() -> None:
    turns = conversation(CATALOG, ["no electronic, no vocals"], limit=3)
    assert "shortfall" not in turns[0] and turns[0]["tracks"][0]["track_id"] == "metal"
    # "metal" was turn 1's pick (not suggested again), "synth" is electronic, "song" has vocals
    assert [t["track_id"] for t in turns[1]["tracks"]] == ["orch"]
    assert turns[1]["shortfall"] == ('1 of 3 asked: of 4 tracks with facts: "no vocals" (probability >= 0.5) '
                                     'removes 1, "no electronic" (probability >= 0.5) removes 1, already suggested '
                                     "removes 1")
