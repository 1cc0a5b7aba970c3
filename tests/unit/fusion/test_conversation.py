from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from musechat.fusion.conversation import (
    Change,
    changes_toward,
    ranks_with_words,
    recorded_changes,
    relative_drop_pct,
    sentence_overlap,
    simulate,
    success_at_turn,
    top_picks,
    track_attributes,
)
from musechat.fusion.data import QuartetDataset
from musechat.fusion.evaluate import EvalError, EvalSet, evaluate_model
from musechat.fusion.model import FusionModel, load_config
from musechat.fusion.synth import BankWording, SynthError, bank_labels
from musechat.fusion.train import with_dataset_dims
from musechat.understanding.banks import load_bank

pytestmark = pytest.mark.unit


def test_track_attributes_read_the_tags() -> None:
    meta = {"tags": ["rock", "jazz", "piano", "no vocals", "slow"]}
    assert track_attributes(meta) == {"instrument": 1, "vocals": 2, "tempo": 0}


def test_changes_name_the_wrong_attributes_at_most_two() -> None:
    target = {"instrument": 1, "vocals": 2, "tempo": 0}
    assert changes_toward({"instrument": 1, "vocals": 0, "tempo": 0}, target) == [("vocals", 0, 2)]
    two_wrong_of_three = {"instrument": 0, "vocals": 0, "tempo": 2}
    assert changes_toward(two_wrong_of_three, target) == [("instrument", 0, 1), ("vocals", 0, 2)]
    # Nothing wrong but the style: the user restates the target's instrument.
    assert changes_toward(target, target) == [("instrument", 1, 1)]


def test_bank_labels_follow_direction_and_step() -> None:
    assert bank_labels(("vocals", 0, 2)) == [{"vocals": "off"}]
    assert {"tempo": "faster", "tempo.intensity": "strong"} in bank_labels(("tempo", 0, 2))
    assert bank_labels(("tempo", 2, 1))[0] == {"tempo": "slower"}
    assert bank_labels(("instrument", 0, 3))[0] == {"instrument.strings": "more"}


def test_heldout_wording_uses_the_test_bank_then_val_and_says_so() -> None:
    test = [{"text": "Add strings", "expect": {"instrument.strings": "more"}}]
    val = [{"text": "more synthesizer", "expect": {"instrument.synth": "more"}}]
    wording = BankWording([test, val])
    rng = np.random.default_rng(0)
    assert wording.sentence([("instrument", 0, 3)], rng) == "Add strings."
    assert wording.sentence([("instrument", 0, 2), ("instrument", 0, 3)], rng) == "more synthesizer. Add strings."
    assert wording.fallbacks == {"instrument=synth"}
    with pytest.raises(SynthError, match="no wording bank"):
        wording.sentence([("vocals", 0, 2)], rng)


def test_real_banks_cover_every_change_of_the_synthetic_world() -> None:
    wording = BankWording([load_bank("test"), load_bank("val")])
    changes = [("instrument", 0, i) for i in range(5)] + [("vocals", 0, v) for v in range(3)]
    changes += [("tempo", a, b) for a in range(3) for b in range(3) if a != b]
    for change in changes:
        assert wording.options(change)


def test_sentence_overlap_per_query_and_per_distinct() -> None:
    got = sentence_overlap(["a", "b"], ["a", "a", "a", "c"])
    assert got == {"per_query_pct": 75.0, "per_distinct_sentence_pct": 50.0}
    with pytest.raises(EvalError):
        sentence_overlap(["a"], [])


def test_relative_drop_and_success_at_turn_hand_computed() -> None:
    assert relative_drop_pct(20.0, 17.0) == 15.0
    assert relative_drop_pct(20.0, 22.0) == -10.0
    first_hit = np.array([1, 0, 2, 5, 3])
    assert success_at_turn(first_hit, 5) == {"1": 20.0, "2": 40.0, "3": 60.0, "4": 60.0, "5": 80.0}


def test_top_picks_skip_shown_tracks_and_break_ties_by_priority() -> None:
    scores = np.array([[0.9, 0.5, 0.5, 0.1]])
    priority = np.array([[3, 2, 1, 0]])
    shown = np.array([[True, False, False, False]])
    assert top_picks(scores, priority, shown).tolist() == [2]


def _fake_tokens(texts: Sequence[str], dim: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(len(texts))
    return [rng.standard_normal((3, dim)).astype(np.float32) for _ in texts]


@pytest.fixture
def model_and_set(tiny_dataset: Path) -> tuple[FusionModel, EvalSet]:
    import torch

    torch.manual_seed(0)
    ds = QuartetDataset(tiny_dataset)
    return FusionModel(with_dataset_dims(load_config("musechat"), ds)).eval(), EvalSet.build(ds, pool_size=8)


def test_simulation_turn_one_is_the_video_only_ranking(model_and_set: tuple[FusionModel, EvalSet]) -> None:
    model, es = model_and_set
    said: list[Sequence[Change]] = []

    def speak(changes: Sequence[Change], rng: np.random.Generator) -> str:
        said.append(changes)
        return "more guitar"

    first_hit = simulate(model, es, speak, lambda t: _fake_tokens(t), turns=3)
    turn1 = evaluate_model(model, es)[0]["turn1_R@1"]
    assert 100.0 * float((first_hit == 1).mean()) == pytest.approx(turn1, abs=0.01)
    assert said and all(len(c) >= 1 for c in said)
    assert first_hit.min() >= 0 and first_hit.max() <= 3


def test_simulation_never_repeats_a_pick_so_pool_size_turns_always_succeed(
    model_and_set: tuple[FusionModel, EvalSet],
) -> None:
    model, es = model_and_set
    first_hit = simulate(model, es, lambda c, r: "less drums", lambda t: _fake_tokens(t), turns=8)
    at = success_at_turn(first_hit, 8)
    assert at["8"] == 100.0
    assert list(at.values()) == sorted(at.values())


def test_ranks_with_words_need_one_sentence_per_query(model_and_set: tuple[FusionModel, EvalSet]) -> None:
    model, es = model_and_set
    ranks = ranks_with_words(model, es, _fake_tokens(["x"] * len(es.ds)))
    assert ranks.shape == (len(es.ds),) and ranks.min() >= 1 and ranks.max() <= 8
    with pytest.raises(EvalError, match="one token matrix per query"):
        ranks_with_words(model, es, _fake_tokens(["x"]))


def test_recorded_changes_become_value_indices() -> None:
    record = {"extra": {"changes": [{"attribute": "tempo", "from": "slow", "to": "fast"},
                                    {"attribute": "vocals", "from": "male", "to": "none"}]}}
    assert recorded_changes(record) == [("tempo", 0, 2), ("vocals", 0, 2)]
