"""Facts-only recommendation: words -> request, hard refusals, tempo direction, the fusion fit check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from musechat.catalog.recommend import MusicRequest, parse_words, rank
from musechat.catalog.serve import check_fit, conversation
from musechat.encoders.music_facts import Tempo, build_facts

pytestmark = pytest.mark.unit


def test_words_become_wanted_refused_and_tempo() -> None:
    assert parse_words("More strings, please.") == MusicRequest(["strings"], [], 0)
    assert parse_words("No vocals, please.") == MusicRequest([], ["vocals"], 0)
    assert parse_words("Heavy metal with distorted guitars").wanted == ["metal"]
    request = parse_words("Faster, and without drums or synth")
    assert request.tempo == 1 and request.refused == ["drums", "synth"] and request.wanted == []
    assert parse_words("no drums, more piano") == MusicRequest(["piano"], ["drums"], 0)
    assert parse_words("slower piano, no electronic") == MusicRequest(["piano"], ["electronic"], -1)
    merged = parse_words("no strings").merge(parse_words("strings after all"))
    assert merged.wanted == ["strings"] and merged.refused == []


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
    assert [p.track_id for p in rank([calm_orchestra, synth_pad], parse_words("calm ambient music"))] == [
        "synth-pad", "calm-orch"]


def test_rank_puts_the_asked_attribute_first_and_refusals_never() -> None:
    assert rank(CATALOG, parse_words("More strings"), limit=1)[0].track_id == "orch"
    assert rank(CATALOG, parse_words("heavy metal"), limit=1)[0].track_id == "metal"
    no_vocals = [p.track_id for p in rank(CATALOG, parse_words("no vocals"), limit=5)]
    assert "song" not in no_vocals and "old" not in no_vocals and len(no_vocals) == 3
    assert "synth" not in [p.track_id for p in rank(CATALOG, parse_words("no electronic"), limit=5)]
    with pytest.raises(ValueError, match="unknown attributes"):
        rank(CATALOG, MusicRequest(["kazoo"]), limit=1)


def test_a_conversation_uses_the_previous_pick_as_tempo_reference() -> None:
    turns = conversation(CATALOG, ["More strings, please.", "Faster, please."], limit=2)
    assert [t["turn"] for t in turns] == [1, 2, 3]
    assert turns[1]["tracks"][0]["track_id"] == "orch"
    # turn 3 keeps wanting strings, excludes the already suggested picks, and prefers faster tracks
    assert turns[2]["request"]["tempo"] == 1
    assert "orch" not in [t["track_id"] for t in turns[2]["tracks"]]


def test_fit_check(tmp_path: Path) -> None:
    assert check_fit(None, {"fm": 3}).path == "facts-only"
    (tmp_path / "config.json").write_text(json.dumps({"model": {"music_dim": 464, "feature_model": "other"}}))
    assert "trained on features other" in check_fit(tmp_path, {"fm": 3}).reason
    (tmp_path / "config.json").write_text(json.dumps({"model": {"music_dim": 464, "feature_model": "fm"}}))
    assert check_fit(tmp_path, {"fm": 3}).path == "fusion+facts"
    assert check_fit(tmp_path, {"fm": 3, "other": 1}).path == "facts-only"
