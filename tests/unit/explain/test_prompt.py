from __future__ import annotations

import pytest

from musechat.explain.data import TrackMeta, Turn
from musechat.explain.prompt import MAX_HISTORY_TURNS, MUSIC_PLACEHOLDER, build_prompt, split_at_music

pytestmark = pytest.mark.unit

TRACK = TrackMeta(title="Deliverer", artist="Weston Skaggs", album="Hollow Roads", tags=("rock", "guitar"))


def test_prompt_carries_metadata_words_and_history() -> None:
    history = [Turn("assistant", "I suggest Paper Lanterns by Ada Quinn."), Turn("user", "too slow")]
    prompt = build_prompt(TRACK, "more guitar, a male voice", history)
    assert '"Deliverer" by Weston Skaggs' in prompt.user
    assert "Album: Hollow Roads" in prompt.user
    assert "Tags: rock, guitar" in prompt.user
    assert "Assistant: I suggest Paper Lanterns by Ada Quinn.\nUser: too slow" in prompt.user
    assert "The user's latest words: more guitar, a male voice" in prompt.user
    assert not prompt.has_music_slot
    assert [m["role"] for m in prompt.messages()] == ["system", "user"]


def test_music_slot_only_when_asked() -> None:
    prompt = build_prompt(TRACK, "x", music=True)
    assert prompt.has_music_slot
    before, after = split_at_music(prompt.user)
    assert before.endswith("Music: ") and after.startswith("\n")


def test_history_is_bounded() -> None:
    history = [Turn("user", f"turn {i}") for i in range(20)]
    prompt = build_prompt(TRACK, "x", history)
    assert "turn 19" in prompt.user and f"turn {19 - MAX_HISTORY_TURNS}" not in prompt.user


def test_split_requires_exactly_one_placeholder() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        split_at_music(f"{MUSIC_PLACEHOLDER} {MUSIC_PLACEHOLDER}")


def test_track_needs_title_and_artist() -> None:
    with pytest.raises(ValueError, match="title"):
        TrackMeta(title=" ", artist="a")
