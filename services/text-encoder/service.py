"""text-encoder: a thin BentoML shell over `musechat.encoders.text.TextEncoder`.

Run: `bentoml serve service:TextEncoderService --working-dir services/text-encoder --port 3000`.
APIs: POST /encode (batchable: concurrent callers share forward passes), POST /info.
BentoML serves /livez, /readyz and /metrics; /readyz turns ready once the model is loaded.
Inputs are validated per request before batching (non-blank, at most 2000 characters), so one bad
request gets its own 400 and never fails a neighbour's batch.
"""

from __future__ import annotations

import bentoml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.contracts.text import TextEncoderInfo, TextEncoding, UserText
from musechat.observability import HttpMetricsMiddleware, observe_batch


class TextEncoderSettings(BaseSettings):
    """Validated once at start-up; every field is an env var `MUSECHAT_TEXT_ENCODER_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="MUSECHAT_TEXT_ENCODER_", extra="ignore")

    spec: str = Field("text_minilm_l6", description="Bundled spec name or a spec JSON path.")
    model: str | None = Field(None, description="Model id or checkpoint dir; default: the bundled MiniLM.")
    max_tokens: int | None = Field(None, ge=3, description="Tokens kept per text; default: the spec's.")
    device: str = "cpu"
    torch_threads: int | None = Field(None, ge=1, description="Intra-op threads; default: torch's choice.")
    max_batch_size: int = Field(64, ge=1, description="Texts per adaptive batch.")
    max_latency_ms: int = Field(2000, ge=1)
    forward_batch_size: int = Field(32, ge=1, description="Texts per forward pass.")


settings = TextEncoderSettings()


@bentoml.service(name="text-encoder")
class TextEncoderService:
    def __init__(self) -> None:
        from musechat.encoders.text import TextEncoder, load_spec

        if settings.torch_threads is not None:
            import torch

            torch.set_num_threads(settings.torch_threads)
        self.encoder = TextEncoder.load(
            load_spec(settings.spec),
            model=settings.model,
            max_tokens=settings.max_tokens,
            device=settings.device,
            batch_size=settings.forward_batch_size,
        )

    @bentoml.api(batchable=True, max_batch_size=settings.max_batch_size, max_latency_ms=settings.max_latency_ms)
    def encode(self, texts: list[UserText]) -> list[TextEncoding]:
        """One encoding per text, in order: token features for fusion, a pooled sentence vector."""
        observe_batch("text-encoder", "encode", len(texts))
        return self.encoder.encode(list(texts))

    @bentoml.api
    def info(self) -> TextEncoderInfo:
        """What this replica produces: consumers check `feature_model`/`dim` against their spec."""
        return TextEncoderInfo(
            spec=self.encoder.spec.name,
            feature_model=self.encoder.version,
            dim=self.encoder.dim,
            max_tokens=self.encoder.max_tokens,
        )


TextEncoderService.add_asgi_middleware(HttpMetricsMiddleware, service="text-encoder")
