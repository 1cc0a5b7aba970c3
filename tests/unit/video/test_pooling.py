"""Per-segment pooling of frame embeddings and the video contracts' own checks."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from musechat.contracts.features import FeatureMatrix
from musechat.contracts.video import VideoEncodeRequest, VideoEncodeResult, VideoEncoding
from musechat.encoders.clip_video import pool_segments

pytestmark = pytest.mark.unit


def test_segments_are_means_of_their_own_frames() -> None:
    frames = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [0, 1]], dtype=np.float32)
    pooled = pool_segments(frames, [2, 3])
    np.testing.assert_allclose(pooled, [[0.5, 0.5], [1 / 3, 2 / 3]])


@pytest.mark.parametrize("counts", [[2, 2], [5, 0], [6]])
def test_counts_must_partition_the_frames(counts: list[int]) -> None:
    with pytest.raises(ValueError, match="do not partition"):
        pool_segments(np.zeros((5, 2), dtype=np.float32), counts)


def _encoding(rows: int, starts: list[float]) -> VideoEncoding:
    return VideoEncoding(
        features=FeatureMatrix.from_array(np.zeros((rows, 4))),
        num_segments=rows,
        segment_starts_s=starts,
        duration_s=20.0,
        num_frames=100,
        feature_model="clip-vision=x@00000000",
        feature_dim=4,
    )


def test_encoding_mask_marks_the_present_segments() -> None:
    assert _encoding(2, [0.0, 10.0]).mask == [True, True] + [False] * 10


def test_encoding_rejects_inconsistent_shapes() -> None:
    with pytest.raises(ValidationError, match="segment starts"):
        _encoding(2, [0.0])


def test_request_needs_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        VideoEncodeRequest()
    with pytest.raises(ValidationError, match="exactly one"):
        VideoEncodeRequest(path="/a.mp4", video_b64="AAAA")


def test_result_is_either_an_encoding_or_an_error() -> None:
    with pytest.raises(ValidationError, match="an ok result"):
        VideoEncodeResult(ok=True)
