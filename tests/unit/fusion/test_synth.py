from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musechat.fusion.data import TrackMeta
from musechat.fusion.synth import (
    ATTRIBUTES,
    SentenceBank,
    SynthError,
    explanation_text,
    load_phrasebook,
    user_sentence,
)

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
