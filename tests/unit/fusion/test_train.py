from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from musechat.fusion.model import FusionConfig, TrainConfig
from musechat.fusion.train import _lr_factor, apply_modality_dropout, train_variant

pytestmark = pytest.mark.unit


def small(variant: str = "musechat", **train: object) -> FusionConfig:
    tc = TrainConfig.model_validate({"batch_size": 8, "checkpoint_every": 2, **train})
    return FusionConfig(variant=variant, d_model=16, n_heads=2, out_dim=16, train=tc)


def test_lr_schedule_warms_up_then_decays() -> None:
    f = [_lr_factor(s, total=10, warmup=2) for s in range(10)]
    assert f[0] == 0.5 and f[1] == 1.0 and f[2] == 1.0
    assert all(a >= b for a, b in itertools.pairwise(f[2:])) and f[-1] < 0.05


def test_modality_dropout_hides_candidate_and_words_together() -> None:
    b = {
        "video": torch.zeros(1000, 2, 3),
        "candidate_mask": torch.ones(1000, 4, dtype=torch.bool),
        "text_mask": torch.ones(1000, 5, dtype=torch.bool),
    }
    turn1 = apply_modality_dropout(b, p_turn1=0.3, p_token=0.0, gen=torch.Generator().manual_seed(0))
    cand_off, text_off = ~b["candidate_mask"].any(1), ~b["text_mask"].any(1)
    assert torch.equal(cand_off, text_off) and torch.equal(turn1, cand_off)
    assert 0.25 < cand_off.float().mean().item() < 0.35


def test_token_dropout_keeps_the_first_token() -> None:
    b = {
        "video": torch.zeros(50, 2, 3),
        "candidate_mask": torch.ones(50, 4, dtype=torch.bool),
        "text_mask": torch.ones(50, 6, dtype=torch.bool),
    }
    apply_modality_dropout(b, p_turn1=0.0, p_token=0.5, gen=torch.Generator().manual_seed(1))
    assert b["text_mask"][:, 0].all() and not b["text_mask"].all()


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "model.safetensors"))


def test_training_is_seeded(tiny_dataset: Path, tmp_path: Path) -> None:
    a = train_variant(small(), tiny_dataset, tmp_path / "a", steps=3, progress=False)
    train_variant(small(), tiny_dataset, tmp_path / "b", steps=3, progress=False)
    wa, wb = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    train_variant(small(seed=1), tiny_dataset, tmp_path / "c", steps=3, progress=False)
    assert not all(torch.equal(wa[k], _weights(tmp_path / "c")[k]) for k in wa)
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["schema_version"] == 2 and config["dims"]["video"] == 12  # dims from the manifest
    assert a.steps == 3 and a.samples == 24


def test_resume_replays_the_uninterrupted_run(tiny_dataset: Path, tmp_path: Path) -> None:
    straight = tmp_path / "straight"
    train_variant(small(), tiny_dataset, straight, steps=6, progress=False)
    crashed = tmp_path / "crashed"
    first = train_variant(small(checkpoint_every=3), tiny_dataset, crashed, steps=6, stop_after=3, progress=False)
    assert first.steps == 3
    assert torch.load(crashed / "train_state.pt", weights_only=True)["step"] == 3
    result = train_variant(small(checkpoint_every=3), tiny_dataset, crashed, steps=6, resume=True, progress=False)
    assert result.samples == 3 * 8
    ws, wc = _weights(straight), _weights(crashed)
    assert all(torch.allclose(ws[k], wc[k], atol=1e-6) for k in ws)


def test_dataset_smaller_than_a_batch_is_refused(tiny_dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fewer than batch_size 64"):
        train_variant(small(batch_size=64), tiny_dataset, tmp_path / "r", steps=1, progress=False)
