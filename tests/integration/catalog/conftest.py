"""Catalog fixtures: a synthesized catalog of real audio files and one loaded music encoder per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from musechat.catalog.encoder_client import InProcessMusicEncoder


@pytest.fixture(scope="session")
def music_encoder(tmp_path_factory: pytest.TempPathFactory) -> InProcessMusicEncoder:
    """The real encoder core: a seeded tiny random AST checkpoint + MusiCNN's real pretrained weights."""
    from musechat.encoders.music import MusicEncoder

    return InProcessMusicEncoder(MusicEncoder.load("music-ast-tiny", cache_dir=tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="session")
def catalog_200(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 generated tracks (varied tempo, key, instrument, drums, vocals; wav/flac/mp3/ogg) + manifest."""
    from musechat.catalog.demo_catalog import generate_catalog

    root = tmp_path_factory.mktemp("catalog200")
    generate_catalog(root, 200, seed=11, min_seconds=3.0, max_seconds=7.0, progress=False)
    return root
