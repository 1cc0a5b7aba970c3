"""The learned reader's slot space (bank labels ↔ slot classes) and its classifier's training on a toy task
(benchmarks/understanding_learned_bench.py measures it on the real text model's token states)."""

from __future__ import annotations

import numpy as np
import pytest

from musechat.understanding.banks import BANKS, load_bank
from musechat.understanding.learned import SlotSpace, TrainSettings, predict, train_slot_reader

pytestmark = pytest.mark.unit


def test_almost_every_bank_label_is_a_slot_reading() -> None:
    # One degree per utterance cannot say "a bit slower and darker" (slight tempo, plain mood): 10 of 2,244 before
    # the independently written banks, 35 of 3,295 with them (test32's multi-part asks hold 12).
    slots = SlotSpace()
    rows = [row for bank in BANKS for row in load_bank(bank) if "conflict" not in row["expect"]]
    same = sum(slots.decode(slots.encode(row["expect"]), row["expect"]) == row["expect"]
               for row in rows)
    assert same / len(rows) >= 0.985


def test_decode_grades_directions_not_removals_and_takes_numbers_from_the_patterns() -> None:
    slots = SlotSpace()
    expect = {"tempo": "faster", "tempo.intensity": "slight", "instrument.guitar": "none",
              "lifted": ["vocals"], "duration.max_s": 60.0}
    assert slots.decode(slots.encode(expect), {"duration.max_s": 60.0, "tempo": "slower"}) == expect


def test_a_conflict_has_no_slot_reading() -> None:
    with pytest.raises(ValueError, match="conflict"):
        SlotSpace().encode({"conflict": "tempo"})


def test_the_classifier_learns_which_token_comes_first() -> None:
    # Order decides the class (like negation scope), so a bag of tokens cannot solve it: [a, b] → 1, [b, a] → 0.
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16), rng.normal(size=16)
    features, labels = [], []
    for i in range(64):
        filler = [rng.normal(size=16) * 0.1 for _ in range(i % 3)]
        first, label = ((a, b), 1) if i % 2 else ((b, a), 0)
        features.append(np.stack([*filler, *first]).astype(np.float32))
        labels.append([label])
    model = train_slot_reader(features, labels, [2], TrainSettings(hidden=16, epochs=60, dropout=0.0))
    assert predict(model, features) == labels
