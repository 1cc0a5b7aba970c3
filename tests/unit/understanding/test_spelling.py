"""Typo repair: a misspelt word the reader knows is read as that word; known English words, short words
and ambiguous typos are left alone."""

from __future__ import annotations

import pytest

from musechat.understanding import flatten, parse_utterance, spelling

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "expected"), [
    ("withoutt vocals", {"vocals": "off"}),  # before: the negator was lost and this read as vocals wanted
    ("no vocls", {"vocals": "off"}),
    ("a bit slowr", {"tempo": "slower", "tempo.intensity": "slight"}),
    ("slwoer please", {"tempo": "slower"}),
    ("more pianno", {"instrument.piano": "more"}),
    ("less drmus", {"instrument.drums": "less"}),
    ("more energtic", {"mood.energetic": "more"}),
    # test37's kinds of slip: a swap beats a wrong letter, a doubled letter, a letter left out of a short word,
    # a swap in a word that reads as a known stem plus a suffix, "-yer", words run together
    ("a bit fatser", {"tempo": "faster", "tempo.intensity": "slight"}),
    ("nothing too sloww", {"tempo": "faster"}),
    ("a tuch calmer", {"mood.calm": "more", "mood.calm.intensity": "slight"}),
    ("no choire", {"instrument.choir": "none"}),
    ("happyer", {"mood.happy": "more"}),
    ("morejazz, lessrock", {"genre.jazz": "more", "genre.rock": "less"}),
    ("nahh, nexxt", {"something_else": True}),
])
def test_misspelt_lexicon_words_are_read_as_meant(text: str, expected: dict[str, object]) -> None:
    assert flatten(parse_utterance(text)) == expected


@pytest.mark.parametrize("word", ["flower", "quartets", "retrain", "last", "cast", "fast", "slower", "jazzier",
                                  "cheesy", "dropout", "backtrack"])
def test_known_lexicon_and_short_words_stay(word: str) -> None:
    assert spelling.repair(word) == word


def test_the_last_letter_breaks_a_tie_and_a_true_tie_is_left_alone() -> None:
    assert spelling.repair("fastr") == "faster"  # one edit from "faster" and from "fast"
    assert spelling.repair("abient") == "abient"  # one edit from "ambient" and from "absent"


def test_without_a_word_list_nothing_is_repaired(monkeypatch: pytest.MonkeyPatch) -> None:
    spelling.repair.cache_clear()
    monkeypatch.setattr(spelling, "known_words", lambda: None)
    try:
        assert spelling.repair("vocls") == "vocls"
        assert parse_utterance("no vocls").vocals is None
    finally:
        spelling.repair.cache_clear()  # repairs memoized without the word list must not outlive the test
