"""The README's "point the services at real CLIP and AST checkpoint directories", proven with full-size
checkpoints of those architectures (random weights: no hub here). Slow: two 86-88M-parameter models."""

from __future__ import annotations

from pathlib import Path

import pytest

from musechat.encoders.checkpoints import write_random_checkpoint
from tests.fixtures_media import write_tone, write_video

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_full_size_ast_directory_through_the_music_encoder(tmp_path: Path) -> None:
    from transformers import ASTConfig, ASTModel

    from musechat.encoders.ast import ast_feature_extractor
    from musechat.encoders.music import MusicEncoder

    # ASTConfig's defaults are the AudioSet model's architecture (ViT-B/16, 768-d, 12 layers)
    checkpoint = write_random_checkpoint(tmp_path / "ast-audioset", 0, "random/ast-base", lambda: ASTModel(ASTConfig()),
                                         lambda tmp: ast_feature_extractor().save_pretrained(tmp))
    encoder = MusicEncoder.load("music-ast-base", ast_model=checkpoint, cache_dir=tmp_path)
    encoding = encoder.encode(write_tone(tmp_path / "song.wav", "wav", seconds=12.0))
    assert encoding.feature_dim == 1168 and encoding.features.shape[1] == 1168
    assert sum(p.numel() for p in encoder.ast.model.parameters()) > 80_000_000


def test_full_size_clip_directory_through_the_video_encoder(tmp_path: Path) -> None:
    from musechat.encoders.clip_video import VideoEncoder, load_spec, make_random_clip

    spec = load_spec("video_clip_vit_b32")
    checkpoint = make_random_clip(tmp_path / "clip-vit-base-patch32", spec.clip.random_config, 0, "random/clip-b32")
    encoder = VideoEncoder.load(spec, model=checkpoint, cache_dir=tmp_path)
    encoding = encoder.encode(write_video(tmp_path / "clip.mp4", seconds=2.0))
    assert encoding.features.shape[1] == 512
