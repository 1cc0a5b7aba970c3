"""video-encoder: a thin BentoML shell over `musechat.encoders.clip_video.VideoEncoder`.

Run: `bentoml serve service:VideoEncoderService --working-dir services/video-encoder --port 3000`.
APIs: POST /encode_batch (batchable, per-item results), POST /encode_upload (one multipart file),
POST /info (spec, feature model, dims, limits). BentoML serves /livez, /readyz and /metrics; /readyz
turns ready once the CLIP checkpoint is loaded.
"""

from __future__ import annotations

from pathlib import Path

import bentoml

from musechat.contracts.video import VideoEncodeRequest, VideoEncodeResult, VideoEncoderInfo
from musechat.encoders.settings import VideoEncoderSettings
from musechat.observability import HttpMetricsMiddleware, observe_batch

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
