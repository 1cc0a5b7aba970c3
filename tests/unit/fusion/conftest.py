"""Tiny random quartet datasets for fusion unit tests (no text model: token features are random)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musechat.fusion.data import FeatureDims, Quartet, QuartetWriter, TrackMeta

DIMS = FeatureDims(video=12, music=10, text=8, max_segments=6, max_text_tokens=7)


def make_quartet(i: int, rng: np.random.Generator, dims: FeatureDims = DIMS, video_id: str | None = None) -> Quartet:
    def mat(rows: int, dim: int) -> np.ndarray:
        return rng.standard_normal((rows, dim)).astype(np.float32)

    meta = TrackMeta(title=f"Song {i}", artist="Band", tags=("rock", "pop", "guitar", "male vocals", "fast"))
    return Quartet(
        quartet_id=f"q{i}",
        video_id=video_id or f"v{i}",
        video=mat(int(rng.integers(2, dims.max_segments + 1)), dims.video),
        target_track_id=f"t{i}",
        target=mat(int(rng.integers(2, dims.max_segments + 1)), dims.music),
        target_meta=meta,
        candidate_track_id=f"c{i}",
        candidate=mat(int(rng.integers(2, dims.max_segments + 1)), dims.music),
        candidate_meta=meta,
        user_text=f"more guitar please {i}",
        text_tokens=mat(int(rng.integers(2, dims.max_text_tokens + 1)), dims.text),
        conversation=({"role": "user", "text": f"more guitar please {i}"},),
        explanation="I suggest Song by Band.",
    )


def write_dataset(root: Path, n: int, seed: int = 0, shard_size: int = 16) -> Path:
    rng = np.random.default_rng(seed)
    with QuartetWriter(root, DIMS, shard_size) as w:
        for i in range(n):
            w.add(make_quartet(i, rng))
    return root


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds", 40)
