from __future__ import annotations

from pathlib import Path

import pytest
import torch

from musechat.fusion.model import (
    VARIANTS,
    FusionConfig,
    FusionModel,
    InputDims,
    load_checkpoint,
    load_config,
    save_checkpoint,
)

pytestmark = pytest.mark.unit

DIMS = InputDims(video=12, music=10, text=8, max_segments=6)
B, S, L = 3, 5, 4


def cfg(variant: str) -> FusionConfig:
    return FusionConfig(variant=variant, dims=DIMS, d_model=16, n_heads=2, out_dim=24)


def inputs(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(B, S, dtype=torch.bool)
    mask[0, 3:] = False  # a shorter clip
    tmask = torch.ones(B, L, dtype=torch.bool)
    tmask[1, 2:] = False
    return {
        "video": torch.randn(B, S, DIMS.video, generator=g),
        "video_mask": mask,
        "candidate": torch.randn(B, S, DIMS.music, generator=g),
        "candidate_mask": mask.clone(),
        "text_tokens": torch.randn(B, L, DIMS.text, generator=g),
        "text_mask": tmask,
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_shapes_norms_and_gradients(variant: str) -> None:
    torch.manual_seed(0)
    model = FusionModel(cfg(variant))
    x = inputs()
    q = model.encode_query(**x)
    m = model.encode_music(x["candidate"], x["candidate_mask"])
    assert q.shape == (B, 24) and m.shape == (B, 24)
    assert torch.allclose(q.norm(dim=-1), torch.ones(B), atol=1e-5)
    (q * m).sum().backward()
    used = [n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert any(n.startswith("query.") for n in used) and any(n.startswith("music.") for n in used)
    video_used, _cand_used, text_used = model.config.uses
    assert any(n.startswith("query.video_in") for n in used) == video_used
    assert any(n.startswith("query.text_in") for n in used) == text_used


@pytest.mark.parametrize("variant", VARIANTS)
def test_turn1_none_equals_absent_masks(variant: str) -> None:
    model = FusionModel(cfg(variant)).eval()
    x = inputs()
    turn1 = model.encode_query(x["video"], x["video_mask"])
    hidden = model.encode_query(
        x["video"],
        x["video_mask"],
        x["candidate"],
        torch.zeros_like(x["candidate_mask"]),
        x["text_tokens"],
        torch.zeros_like(x["text_mask"]),
    )
    assert torch.allclose(turn1, hidden, atol=1e-5)


def test_turn1_branch_answers_video_only_queries_and_nothing_else() -> None:
    torch.manual_seed(0)
    model = FusionModel(cfg("musechat").model_copy(update={"turn1_branch": True})).eval()
    x = inputs()
    turn1 = model.encode_query(x["video"], x["video_mask"])
    mixed = dict(x, candidate_mask=x["candidate_mask"].clone(), text_mask=x["text_mask"].clone())
    mixed["candidate_mask"][0] = False  # sample 0 is a turn-1 sample; 1 and 2 see candidate and words
    mixed["text_mask"][0] = False
    q = model.encode_query(**mixed)
    assert torch.allclose(q[0], turn1[0], atol=1e-6) and not torch.allclose(q[1:], turn1[1:], atol=1e-3)
    assert torch.allclose(q[1:], model.encode_query(**x)[1:], atol=1e-6)
    head = model.query.turn1_head
    assert head is not None
    with torch.no_grad():  # the branch alone decides turn 1; turn 2 never reads it
        for p in head.parameters():
            p.add_(1.0)
    assert not torch.allclose(model.encode_query(x["video"], x["video_mask"]), turn1, atol=1e-3)
    assert torch.allclose(model.encode_query(**mixed)[1:], q[1:], atol=1e-6)


def test_padding_rows_do_not_matter() -> None:
    model = FusionModel(cfg("musechat")).eval()
    x = inputs()
    y = {k: v.clone() for k, v in x.items()}
    y["video"][0, 3:] = 1e3  # masked rows of sample 0
    y["text_tokens"][1, 2:] = -7.0
    assert torch.allclose(model.encode_query(**x), model.encode_query(**y), atol=1e-5)


def test_ablations_ignore_their_missing_input() -> None:
    x, y = inputs(0), inputs(1)
    no_video = FusionModel(cfg("no_video")).eval()
    swapped = dict(x, video=y["video"])
    assert torch.allclose(no_video.encode_query(**x), no_video.encode_query(**swapped), atol=1e-6)
    no_cand = FusionModel(cfg("no_candidate")).eval()
    swapped = dict(x, candidate=y["candidate"])
    assert torch.allclose(no_cand.encode_query(**x), no_cand.encode_query(**swapped), atol=1e-6)
    full = FusionModel(cfg("musechat")).eval()
    assert not torch.allclose(full.encode_query(**x), full.encode_query(**swapped), atol=1e-4)


def test_same_seed_same_model() -> None:
    torch.manual_seed(3)
    a = FusionModel(cfg("musechat"))
    torch.manual_seed(3)
    b = FusionModel(cfg("musechat"))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_checkpoint_roundtrip(tmp_path: Path) -> None:
    model = FusionModel(cfg("cross_attn")).eval()
    save_checkpoint(model, tmp_path / "run")
    loaded, config = load_checkpoint(tmp_path / "run" / "model.safetensors")
    assert config == model.config
    x = inputs()
    assert torch.allclose(model.encode_query(**x), loaded.encode_query(**x))


def test_checkpoint_with_another_schema_version_is_refused(tmp_path: Path) -> None:
    save_checkpoint(FusionModel(cfg("mvp")), tmp_path)
    text = (tmp_path / "config.json").read_text().replace('"schema_version": 2', '"schema_version": 99')
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ValueError, match="schema_version 99"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("variant", VARIANTS)
def test_bundled_configs_load(variant: str) -> None:
    c = load_config(variant)
    assert c.variant == variant and c.dims is None  # dims always come from the data


def test_the_music_vectorizer_makes_no_vectors_for_no_tracks() -> None:
    """An answer with no tracks (seen once during a model flip) is an empty batch, not a crash."""
    import numpy as np

    from musechat.ranker.core import FusionVectorizer

    vectorizer = FusionVectorizer(FusionModel(cfg("musechat")), "check")
    assert vectorizer.embed_many([]).shape == (0, 24)
    one = np.random.default_rng(0).standard_normal((S, DIMS.music)).astype(np.float32)
    assert vectorizer.embed_many([one]).shape == (1, 24)
