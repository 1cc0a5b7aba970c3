"""The AST featurizer through the real `from_pretrained` path, on tiny seeded random checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musechat.encoders.ast import AstFeaturizer, make_tiny_ast, tiny_ast_id

pytestmark = pytest.mark.unit


def test_tiny_checkpoint_is_deterministic_per_seed(tmp_path: Path) -> None:
    a = AstFeaturizer.load(make_tiny_ast(tmp_path / "a", seed=0))
    b = AstFeaturizer.load(make_tiny_ast(tmp_path / "b", seed=0))
    c = AstFeaturizer.load(make_tiny_ast(tmp_path / "c", seed=1))
    assert a.sha8 == b.sha8 != c.sha8
    # the version names the random init, so nobody mistakes these features for a trained AST's
    assert a.version == f"{tiny_ast_id(0)}@{a.sha8}" and a.version.startswith("random-init-tiny-seed0@")
    assert a.hidden_size == 64


def test_featurize_returns_one_pooled_vector_per_segment(tmp_path: Path) -> None:
    ast = AstFeaturizer.load(make_tiny_ast(tmp_path / "ast"), batch_size=2)
    rng = np.random.default_rng(0)
    segments = (0.1 * rng.standard_normal((3, 16000 * 10))).astype(np.float32)
    features = ast.featurize(segments)
    assert features.shape == (3, 64) and features.dtype == np.float32 and np.all(np.isfinite(features))
    assert not np.allclose(features[0], features[1])
    # batching (2 + 1) does not change a segment's features
    np.testing.assert_allclose(ast.featurize(segments[2:]), features[2:], atol=1e-5)
    with pytest.raises(ValueError, match="segments, samples"):
        ast.featurize(segments[0])


def test_loading_rejects_a_missing_checkpoint_and_a_mismatched_front_end(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot load an AST checkpoint"):
        AstFeaturizer.load(tmp_path / "nothing-here")
    path = make_tiny_ast(tmp_path / "ast")
    cfg = json.loads((path / "preprocessor_config.json").read_text())
    (path / "preprocessor_config.json").write_text(json.dumps({**cfg, "num_mel_bins": 64}))
    with pytest.raises(ValueError, match="does not match the model"):
        AstFeaturizer.load(path)
