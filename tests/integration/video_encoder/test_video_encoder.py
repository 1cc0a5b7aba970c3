"""The video encoder end to end on synthesized videos with a tiny random CLIP: real decoding, real
transformers CLIP vision tower, per-item errors in batches, and the BentoML service over HTTP."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from musechat.contracts.video import VideoEncodeRequest, VideoEncodeResult, VideoEncoderInfo
from musechat.encoders.clip_video import (
    ClipFrameEncoder,
    DecodeLimits,
    VideoEncoder,
    VideoInput,
    load_spec,
    make_tiny_clip,
    tiny_clip_id,
)
from musechat.media.errors import MediaError
from tests.fixtures_video import make_video, serve_bento, write_not_a_video

pytestmark = pytest.mark.integration

SERVICE_DIR = Path(__file__).resolve().parents[3] / "services" / "video-encoder"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    make_video(root / "calm.mp4", duration_s=14.0, style="calm", fps=5)
    make_video(root / "energetic.webm", duration_s=8.0, style="energetic", fps=5)
    # Lossless video (FFV1) for the pair that must encode to identical features: two x264 encodes of one
    # picture are not always bit-identical.
    make_video(root / "dark.mkv", duration_s=4.0, style="dark", fps=5, with_audio=True, codec="ffv1")
    make_video(root / "dark_silent.mkv", duration_s=4.0, style="dark", fps=5, codec="ffv1")
    write_not_a_video(root / "notes.mp4")
    return root


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> VideoEncoder:
    cache = tmp_path_factory.mktemp("models")
    return VideoEncoder.load(load_spec("video_clip_tiny"), cache_dir=cache)


def test_features_per_segment(encoder: VideoEncoder, media: Path) -> None:
    enc = encoder.encode(media / "calm.mp4")
    assert enc.num_segments == 2 and enc.features.shape == (2, 32) and enc.feature_dim == 32
    assert enc.segment_starts_s == [0.0, 10.0] and enc.num_frames == 70
    assert enc.mask[:3] == [True, True, False]
    norms = np.linalg.norm(enc.features.to_array(), axis=1)
    assert np.all(norms <= 1.0 + 1e-3) and np.all(norms > 0.5)  # means of unit vectors
    assert enc.feature_model.startswith(f"clip-vision={tiny_clip_id(0)}@")


def test_pooled_rows_are_means_of_normalised_frame_embeddings(encoder: VideoEncoder, media: Path) -> None:
    decoded = encoder.decode(VideoInput(media / "energetic.webm"))
    expected = encoder.frames.embed(decoded.segments[0]).mean(axis=0)
    got = encoder.encode(media / "energetic.webm").features.to_array()[0]
    np.testing.assert_allclose(got, expected, atol=2e-3)  # float16 storage


def test_frame_batches_cross_segment_boundaries(encoder: VideoEncoder, media: Path) -> None:
    segments = encoder.decode(VideoInput(media / "calm.mp4")).segments  # 50 + 20 frames
    whole = encoder.frames.embed(np.concatenate(segments))
    small = ClipFrameEncoder(encoder.frames.model, encoder.frames.processor, "x", "0", batch_size=7)
    np.testing.assert_allclose(small.embed(segments), whole, atol=1e-5)
    with pytest.raises(ValueError, match="no frames"):
        small.embed([])


def test_deterministic_and_moods_differ(encoder: VideoEncoder, media: Path) -> None:
    a1 = encoder.encode(media / "calm.mp4").features.to_array()
    a2 = encoder.encode(media / "calm.mp4").features.to_array()
    b = encoder.encode(media / "energetic.webm").features.to_array()
    np.testing.assert_array_equal(a1, a2)
    assert np.abs(a1[0] - b[0]).max() > 1e-3


def test_the_videos_soundtrack_never_reaches_the_features(encoder: VideoEncoder, media: Path) -> None:
    with_audio = encoder.encode(media / "dark.mkv").features.to_array()
    without = encoder.encode(media / "dark_silent.mkv").features.to_array()
    np.testing.assert_array_equal(with_audio, without)


def test_batch_shares_passes_and_keeps_per_item_errors(encoder: VideoEncoder, media: Path) -> None:
    raw = (media / "energetic.webm").read_bytes()
    requests = [
        VideoEncodeRequest(path=str(media / "calm.mp4")),
        VideoEncodeRequest(path=str(media / "notes.mp4"), filename="notes.mp4"),
        VideoEncodeRequest(video_b64=base64.b64encode(raw).decode(), filename="energetic.webm"),
        VideoEncodeRequest(path="/etc/passwd"),
        VideoEncodeRequest(video_b64="not base64!"),
        VideoEncodeRequest(path=str(media / "missing.mp4")),
    ]
    results = encoder.encode_requests(requests, allowed_roots=[media])
    assert [r.ok for r in results] == [True, False, True, False, False, False]
    codes = [r.error.code for r in results if r.error is not None]
    assert codes == ["unsupported_format", "path_not_allowed", "invalid_request", "not_found"]
    assert results[1].error is not None and results[1].error.message.startswith("notes.mp4 is a text file")
    one_by_one = [encoder.encode(media / "calm.mp4"), encoder.encode(media / "energetic.webm")]
    for batched, alone in zip([results[0].encoding, results[2].encoding], one_by_one, strict=True):
        assert batched is not None
        np.testing.assert_allclose(batched.features.to_array(), alone.features.to_array(), atol=2e-3)


def test_path_inputs_are_off_without_allowed_roots(encoder: VideoEncoder, media: Path) -> None:
    (result,) = encoder.encode_requests([VideoEncodeRequest(path=str(media / "calm.mp4"))], allowed_roots=[])
    assert result.error is not None and result.error.code == "path_not_allowed"


def test_limits_apply(tmp_path: Path, media: Path) -> None:
    strict = VideoEncoder.load(
        load_spec("video_clip_tiny"), cache_dir=tmp_path, limits=DecodeLimits(max_duration_s=10.0, max_bytes=10**7)
    )
    with pytest.raises(MediaError, match="longer than the 10 s limit"):
        strict.encode(media / "calm.mp4")
    (result,) = strict.encode_requests(
        [VideoEncodeRequest(video_b64=base64.b64encode(b"\0" * 10**7 + b"\0").decode())], allowed_roots=[]
    )
    assert result.error is not None and result.error.code == "too_large"


def test_tiny_clip_is_deterministic_per_seed(tmp_path: Path) -> None:
    a = ClipFrameEncoder.load(make_tiny_clip(tmp_path / "a", seed=3))
    b = ClipFrameEncoder.load(make_tiny_clip(tmp_path / "b", seed=3))
    c = ClipFrameEncoder.load(make_tiny_clip(tmp_path / "c", seed=4))
    assert a.sha8 == b.sha8 != c.sha8
    assert a.version == f"clip-vision={tiny_clip_id(3)}@{a.sha8}"
    assert a.frame_size == 64 and a.dim == 32


def test_a_checkpoint_that_does_not_match_the_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="gives 32-d features, spec video_clip_vit_b32 says 512"):
        VideoEncoder.load(load_spec("video_clip_vit_b32"), model=make_tiny_clip(tmp_path / "t"))
    with pytest.raises(ValueError, match="cannot load a CLIP vision checkpoint"):
        VideoEncoder.load(load_spec("video_clip_tiny"), model=tmp_path / "nothing-here")


def test_served_over_http(tmp_path: Path, media: Path) -> None:
    env = {
        "MUSECHAT_VIDEO_ENCODER_CACHE_DIR": str(tmp_path / "models"),
        "MUSECHAT_VIDEO_ENCODER_ALLOWED_ROOTS": json.dumps([str(media)]),
        "MUSECHAT_VIDEO_ENCODER_TORCH_THREADS": "1",
    }
    with serve_bento(SERVICE_DIR, "service:VideoEncoderService", env, tmp_path / "serve.log") as url:
        info = VideoEncoderInfo.model_validate(httpx.post(f"{url}/info", timeout=30).json())
        assert (info.spec, info.feature_dim, info.fps, info.frame_size) == ("video_clip_tiny", 32, 5.0, 64)

        body = {
            "requests": [
                {"path": str(media / "calm.mp4")},
                {"path": str(media / "notes.mp4"), "filename": "notes.mp4"},
                {"path": "/etc/hostname"},
            ]
        }
        response = httpx.post(f"{url}/encode_batch", json=body, timeout=120)
        assert response.status_code == 200
        results = [VideoEncodeResult.model_validate(r) for r in response.json()]
        assert [r.ok for r in results] == [True, False, False]
        assert results[0].encoding is not None and results[0].encoding.features.shape == (2, 32)
        assert [r.error.code for r in results[1:] if r.error] == ["unsupported_format", "path_not_allowed"]

        with (media / "energetic.webm").open("rb") as fh:
            upload = httpx.post(f"{url}/encode_upload", files={"video": ("clip.webm", fh)}, timeout=120)
        result = VideoEncodeResult.model_validate(upload.json())
        assert result.encoding is not None and result.encoding.num_segments == 1

        missing_source = httpx.post(f"{url}/encode_batch", json={"requests": [{}]}, timeout=30)
        assert missing_source.status_code == 400 and "exactly one" in missing_source.text
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
