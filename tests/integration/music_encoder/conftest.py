"""One real music encoder per module: the seeded tiny random AST + MusiCNN's real pretrained weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from musechat.encoders.music import MusicEncoder


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> MusicEncoder:
    return MusicEncoder.load("music-ast-tiny", cache_dir=tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")
