from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from musechat.explain.projector import ProjectorConfig, build_projector, load_projector, project, save_projector

pytestmark = pytest.mark.unit


def test_projection_shape_and_round_trip(tmp_path: Path) -> None:
    cfg = ProjectorConfig(in_dim=8, hidden_size=16, num_tokens=2)
    proj = build_projector(cfg, target_std=0.05)
    feats = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    out = project(proj, cfg, feats)
    assert out.shape == (2, 16)
    save_projector(proj, cfg, tmp_path)
    loaded, loaded_cfg = load_projector(tmp_path)
    assert loaded_cfg == cfg
    assert torch.allclose(project(loaded, loaded_cfg, feats), out)


def test_initial_scale_follows_the_embedding_rows() -> None:
    cfg = ProjectorConfig(in_dim=256, hidden_size=512)
    feats = np.random.default_rng(1).standard_normal((12, 256)).astype(np.float32)
    std = float(project(build_projector(cfg, target_std=0.04), cfg, feats).std())
    assert 0.02 < std < 0.08


def test_wrong_feature_width_is_a_clear_error() -> None:
    cfg = ProjectorConfig(in_dim=8, hidden_size=4)
    with pytest.raises(ValueError, match=r"\[segments, 8\]"):
        project(build_projector(cfg), cfg, np.zeros((3, 9), dtype=np.float32))


def test_unknown_format_version_is_refused(tmp_path: Path) -> None:
    cfg = ProjectorConfig(in_dim=4, hidden_size=4)
    save_projector(build_projector(cfg), cfg, tmp_path)
    raw = json.loads((tmp_path / "projector.json").read_text())
    (tmp_path / "projector.json").write_text(json.dumps({**raw, "version": 99}))
    with pytest.raises(ValueError, match="version 99"):
        load_projector(tmp_path)
