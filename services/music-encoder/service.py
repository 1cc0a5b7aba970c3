"""music-encoder: a thin BentoML shell over `musechat.encoders.music.MusicEncoder`.

Run: `bentoml serve service:MusicEncoderService --working-dir services/music-encoder --port 3000`.
APIs: POST /encode_batch (batchable, per-item results), POST /encode_upload (one multipart file),
POST /info (spec, feature model, dims). BentoML serves /livez, /readyz and /metrics.
"""

from __future__ import annotations

from pathlib import Path

import bentoml
from pydantic import BaseModel

from musechat.contracts.music import MusicEncodeRequest, MusicEncodeResult
from musechat.encoders.settings import MusicEncoderSettings
from musechat.observability import HttpMetricsMiddleware, observe_batch


class EncoderInfo(BaseModel):
    spec: str
    feature_model: str
    feature_dim: int
    max_segments: int
    segment_seconds: float
    sample_rate: int


settings = MusicEncoderSettings()


@bentoml.service(name="music-encoder", traffic={"timeout": settings.request_timeout_s})
class MusicEncoderService:
    def __init__(self) -> None:
        from musechat.encoders.music import DecodeLimits, MusicEncoder
        from musechat.media.audio import DEFAULT_SILENCE_PEAK

        limits = DecodeLimits(
            max_duration_s=settings.max_duration_s,
            min_duration_s=settings.min_duration_s,
            silence_peak=DEFAULT_SILENCE_PEAK if settings.reject_silent else None,
        )
        self.encoder = MusicEncoder.load(
            settings.spec,
            ast_model=settings.ast_model,
            cache_dir=settings.cache_dir,
            device=settings.device,
            limits=limits,
            ast_batch_size=settings.ast_batch_size,
        )

    @bentoml.api(batchable=True, max_batch_size=settings.max_batch_size, max_latency_ms=settings.max_latency_ms)
    def encode_batch(self, requests: list[MusicEncodeRequest]) -> list[MusicEncodeResult]:
        """Encode tracks; results are per item and in order (a bad file fails only its own item)."""
        observe_batch("music-encoder", "encode_batch", len(requests))
        return self.encoder.encode_requests(requests, settings.allowed_roots, settings.max_upload_bytes)

    @bentoml.api
    def encode_upload(self, audio: Path) -> MusicEncodeResult:
        """Encode one uploaded file (multipart field `audio`)."""
        from musechat.encoders.music import AudioInput, RequestError

        item: AudioInput | RequestError = AudioInput(audio, audio.name)
        if audio.stat().st_size > settings.max_upload_bytes:
            item = RequestError("too_large", f"upload exceeds the {settings.max_upload_bytes} byte limit")
        return self.encoder.encode_batch([item])[0]

    @bentoml.api
    def info(self) -> EncoderInfo:
        """What this replica produces: consumers check `feature_model`/`feature_dim` against their spec."""
        spec = self.encoder.spec
        return EncoderInfo(
            spec=spec.name,
            feature_model=self.encoder.feature_model,
            feature_dim=self.encoder.feature_dim,
            max_segments=spec.segments.max_segments,
            segment_seconds=spec.segments.seconds,
            sample_rate=spec.sample_rate,
        )


MusicEncoderService.add_asgi_middleware(HttpMetricsMiddleware, service="music-encoder")
