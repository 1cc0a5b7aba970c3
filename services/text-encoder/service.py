"""text-encoder: a thin BentoML shell over `musechat.encoders.text` (torch or ONNX Runtime backend).

Run: `bentoml serve service:TextEncoderService --working-dir services/text-encoder --port 3000`.
APIs: POST /encode (batchable: concurrent callers share forward passes), POST /info.
BentoML serves /livez, /readyz and /metrics; /readyz turns ready once the model is loaded.
Inputs are validated per request before batching (non-blank, at most 2000 characters), so one bad
request gets its own 400 and never fails a neighbour's batch.
"""

from __future__ import annotations

import bentoml

from musechat.contracts.text import TextEncoderInfo, TextEncoding, UserText
from musechat.encoders.settings import TextEncoderSettings
from musechat.observability import HttpMetricsMiddleware, observe_batch

settings = TextEncoderSettings()


@bentoml.service(name="text-encoder")
class TextEncoderService:
    def __init__(self) -> None:
        from musechat.encoders.text import load_spec
        from musechat.encoders.text_backend import load_text_encoder

        if settings.torch_threads is not None:
            import torch

            torch.set_num_threads(settings.torch_threads)
        self.encoder = load_text_encoder(
            load_spec(settings.spec),
            settings.backend,
            model=settings.model,
            max_tokens=settings.max_tokens,
            device=settings.device,
            batch_size=settings.forward_batch_size,
            threads=settings.torch_threads or 0,  # ONNX Runtime: 0 = its own choice, as torch's
            cache_dir=settings.model_cache_dir,
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
