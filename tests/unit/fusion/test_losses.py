from __future__ import annotations

import math

import pytest
import torch

from musechat.fusion.losses import MAX_LOGIT_SCALE, info_nce

pytestmark = pytest.mark.unit

Q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
T = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
ZERO = torch.tensor(0.0)  # log scale 0 -> logits are plain cosines


def test_in_batch_infonce_hand_computed() -> None:
    expected = math.log(1 + math.exp(-1))  # each row: softmax over (1, 0)
    assert info_nce(Q, T, None, ZERO).item() == pytest.approx(expected, abs=1e-6)


def test_candidate_is_an_extra_hard_negative() -> None:
    c = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    row0 = math.log(3 + math.exp(-1))  # logits (1, 0 | 1, 1), positive first
    row1 = math.log(1 + 3 * math.exp(-1))  # logits (0, 1 | 0, 0), positive second
    music_side = math.log(1 + math.exp(-1))  # candidates are no queries: music->query unchanged
    expected = 0.5 * ((row0 + row1) / 2 + music_side)
    assert info_nce(Q, T, c, ZERO).item() == pytest.approx(expected, abs=1e-6)


def test_a_turn1_query_does_not_push_away_its_own_unseen_candidate() -> None:
    c = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    unseen = torch.tensor([True, False])
    row0 = math.log(2 + math.exp(-1))  # logits (1, 0 | hidden, 1): another row's candidate still counts
    row1 = math.log(1 + 3 * math.exp(-1))  # saw its candidate: unchanged
    music_side = math.log(1 + math.exp(-1))
    expected = 0.5 * ((row0 + row1) / 2 + music_side)
    assert info_nce(Q, T, c, ZERO, unseen_candidate=unseen).item() == pytest.approx(expected, abs=1e-6)


def test_temperature_scales_and_is_clamped() -> None:
    sharp = info_nce(Q, T, None, torch.tensor(math.log(10.0))).item()
    assert sharp == pytest.approx(math.log(1 + math.exp(-10)), abs=1e-6)
    clamped = info_nce(Q, T * 0.01, None, torch.tensor(math.log(1e6))).item()
    assert clamped == pytest.approx(math.log(1 + math.exp(-MAX_LOGIT_SCALE * 0.01)), abs=1e-6)


def test_the_same_track_twice_is_not_a_negative() -> None:
    q = torch.tensor([[1.0, 0.0], [0.8, 0.6]])
    t = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    keys = torch.tensor([5, 5])
    assert info_nce(q, t, None, ZERO, keys).item() == pytest.approx(0.0, abs=1e-6)
    assert info_nce(q, t, None, ZERO).item() > 0.5


def test_candidate_equal_to_another_rows_target_is_hidden() -> None:
    c = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    tk, ck = torch.tensor([1, 2]), torch.tensor([2, 1])  # candidate of row i is the target of the other row
    # row 0 sees logits (1, 0 | 0, hidden): c1 is its own target track; likewise for row 1
    expected = 0.5 * (math.log(1 + 2 * math.exp(-1)) + math.log(1 + math.exp(-1)))
    assert info_nce(Q, T, c, ZERO, tk, ck).item() == pytest.approx(expected, abs=1e-6)
    unmasked = 0.5 * (math.log(1 + 2 * math.exp(-1) + 1 / math.e * math.e) + math.log(1 + math.exp(-1)))
    assert info_nce(Q, T, c, ZERO).item() == pytest.approx(unmasked, abs=1e-6)


def test_gradient_reaches_the_temperature() -> None:
    log_scale = torch.tensor(0.5, requires_grad=True)
    info_nce(Q, T, None, log_scale).backward()
    assert log_scale.grad is not None and log_scale.grad.item() < 0  # sharper helps a separable batch
