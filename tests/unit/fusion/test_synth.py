from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musechat.fusion.data import TrackMeta
from musechat.fusion.synth import (
    ATTRIBUTES,
    SentenceBank,
    SynthConfig,
    SynthError,
    explanation_text,
    load_phrasebook,
    split_wordings,
    user_sentence,
)
from musechat.understanding.banks import load_bank

pytestmark = pytest.mark.unit


def test_bundled_phrasebooks_load_and_test_wording_is_disjoint() -> None:
    train, test = load_phrasebook("default"), load_phrasebook("paraphrase_test")
    for attr, values in ATTRIBUTES.items():
        for value in values:
            assert not set(train.want[attr][value]) & set(test.want[attr][value])
    assert not set(train.one) & set(test.one) and not set(train.two) & set(test.two)


def test_bad_phrasebook_is_a_clear_error(tmp_path: Path) -> None:
    raw = json.loads(load_phrasebook().model_dump_json())
    del raw["want"]["vocals"]["none"]
    path = tmp_path / "book.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(SynthError, match=r"want.vocals.none"):
        load_phrasebook(path)
    with pytest.raises(SynthError, match="neither a bundled name nor an existing file"):
        load_phrasebook(tmp_path / "missing.json")


def test_sentence_names_the_new_values() -> None:
    book = load_phrasebook()
    rng = np.random.default_rng(0)
    for _ in range(20):
        text = user_sentence(book, [("vocals", 0, 1), ("instrument", 2, 0)], rng, p_relative_tempo=0.0)
        assert any(p in text for p in book.want["vocals"]["female"])
        assert any(p in text for p in book.want["instrument"]["guitar"])
        assert text[0].isupper()


def test_relative_tempo_uses_the_step_from_the_candidate() -> None:
    book = load_phrasebook()
    text = user_sentence(book, [("tempo", 2, 0)], np.random.default_rng(1), p_relative_tempo=1.0)
    assert any(p in text for p in book.tempo_change["-2"])


def test_sentence_bank_bounds_the_wordings() -> None:
    bank = SentenceBank(load_phrasebook(), per_request=3, p_relative_tempo=0.5)
    rng = np.random.default_rng(0)
    seen = {bank.sentence([("instrument", 1, 4)], rng) for _ in range(200)}
    assert 1 < len(seen) <= 3


def test_explanation_uses_only_metadata() -> None:
    meta = TrackMeta("Deliverer", "Weston Skaggs", ("rock", "indie", "guitar", "male vocals", "fast"))
    text = explanation_text(meta)
    assert text.startswith("I suggest Deliverer by Weston Skaggs.")
    assert "rock and indie" in text and "guitar and male vocals" in text


def test_phrasebook_parts_share_no_phrase_and_each_is_complete() -> None:
    book = load_phrasebook()
    a, b = book.part(0, 2), book.part(1, 2)
    assert set(a.openers) & set(b.openers) <= {""}  # "no opener" is a choice in both
    assert not set(a.one) & set(b.one) and not set(a.two) & set(b.two)
    for attr, values in a.want.items():
        for value, phrases in values.items():
            assert phrases and not set(phrases) & set(b.want[attr][value])
    with pytest.raises(SynthError, match="does not exist"):
        book.part(2, 2)


def test_split_wordings_say_every_change_and_never_the_same_sentence_in_two_splits() -> None:
    wordings = split_wordings(SynthConfig(), p_bank=0.5)
    changes = [[("instrument", 0, i)] for i in range(1, 5)] + [[("vocals", 0, 2)], [("tempo", 0, 2), ("vocals", 1, 0)]]
    rng = np.random.default_rng(0)
    said = {split: {w.sentence(c, rng) for c in changes for _ in range(40)} for split, w in wordings.items()}
    assert not said["train"] & said["val"] and not said["train"] & said["test"] and not said["val"] & said["test"]
    bank_sentences = {row["text"] for row in load_bank("train")}
    assert any(s in bank_sentences or s.rstrip(".") in bank_sentences for s in said["train"])  # the bank is spoken
