"""video-encoder: a thin BentoML shell over `musechat.encoders.clip_video.VideoEncoder`.

Run: `bentoml serve service:VideoEncoderService --working-dir services/video-encoder --port 3000`.
APIs: POST /encode_batch (batchable, per-item results), POST /encode_upload (one multipart file),
POST /info (spec, feature model, dims, limits). BentoML serves /livez, /readyz and /metrics; /readyz
turns ready once the CLIP checkpoint is loaded.
"""

from __future__ import annotations

from pathlib import Path

import bentoml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.contracts.video import VideoEncodeRequest, VideoEncodeResult, VideoEncoderInfo
from musechat.observability import HttpMetricsMiddleware, observe_batch


class VideoEncoderSettings(BaseSettings):
    """Validated once at start-up; every field is an env var `MUSECHAT_VIDEO_ENCODER_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="MUSECHAT_VIDEO_ENCODER_", extra="ignore")

    spec: str = Field("video_clip_tiny", description="Bundled spec name or a spec JSON path.")
    clip_model: str | None = Field(None, description="CLIP model id or checkpoint dir; overrides the spec.")
    cache_dir: Path | None = Field(None, description="Where the embedded tiny CLIP is written once.")
    device: str = "cpu"
    torch_threads: int | None = Field(None, ge=1, description="Intra-op threads; default: torch's choice.")
    allowed_roots: list[Path] = Field(
        default_factory=list, description="Dirs `path` requests may read from; empty disables path inputs."
    )
    max_upload_bytes: int = Field(512 * 1024 * 1024, ge=1)
    max_duration_s: float = Field(1800.0, gt=0)
    max_batch_size: int = Field(8, ge=1, description="Requests (videos) per adaptive batch.")
    # Encoding a video takes seconds on CPU: the bound caps queueing, not the work itself.
    max_latency_ms: int = Field(300_000, ge=1)
    frame_batch_size: int = Field(64, ge=1, description="Frames per CLIP forward pass.")
    request_timeout_s: int = Field(900, ge=1)


settings = VideoEncoderSettings()


@bentoml.service(name="video-encoder", traffic={"timeout": settings.request_timeout_s})
class VideoEncoderService:
    def __init__(self) -> None:
        from musechat.encoders.clip_video import DecodeLimits, VideoEncoder, load_spec

        if settings.torch_threads is not None:
            import torch

            torch.set_num_threads(settings.torch_threads)
        self.encoder = VideoEncoder.load(
            load_spec(settings.spec),
            model=settings.clip_model,
            cache_dir=settings.cache_dir,
            device=settings.device,
            batch_size=settings.frame_batch_size,
            limits=DecodeLimits(max_duration_s=settings.max_duration_s, max_bytes=settings.max_upload_bytes),
        )

    @bentoml.api(batchable=True, max_batch_size=settings.max_batch_size, max_latency_ms=settings.max_latency_ms)
    def encode_batch(self, requests: list[VideoEncodeRequest]) -> list[VideoEncodeResult]:
        """Encode videos; results are per item and in order (a bad file fails only its own item)."""
        observe_batch("video-encoder", "encode_batch", len(requests))
        return self.encoder.encode_requests(requests, settings.allowed_roots)

    @bentoml.api
    def encode_upload(self, video: Path) -> VideoEncodeResult:
        """Encode one uploaded file (multipart field `video`)."""
        from musechat.encoders.clip_video import VideoInput

        return self.encoder.encode_batch([VideoInput(video, video.name)])[0]

    @bentoml.api
    def info(self) -> VideoEncoderInfo:
        """What this replica produces: consumers check `feature_model`/`feature_dim` against their spec."""
        spec = self.encoder.spec
        return VideoEncoderInfo(
            spec=spec.name,
            feature_model=self.encoder.feature_model,
            feature_dim=self.encoder.feature_dim,
            fps=spec.sampling.fps,
            segment_seconds=spec.sampling.segment_seconds,
            max_segments=spec.sampling.max_segments,
            frame_size=self.encoder.frames.frame_size,
            max_duration_s=self.encoder.limits.max_duration_s,
            max_bytes=self.encoder.limits.max_bytes,
        )


VideoEncoderService.add_asgi_middleware(HttpMetricsMiddleware, service="video-encoder")
