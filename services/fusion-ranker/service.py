"""fusion-ranker: the MVT-Fusion query tower + filtered ANN search over Qdrant `tracks`, as BentoML.

Run: `bentoml serve service:FusionRankerService --working-dir services/fusion-ranker --port 3000`.
API: POST /rank {request: RankRequest} -> RankResult (an error result for unknown or pending videos).
Settings: env MUSECHAT_RANKER_* (checkpoint) and MUSECHAT_STORE_* (the Qdrant server).
"""

from __future__ import annotations

from pathlib import Path

import bentoml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.contracts.ranking import RankError, RankRequest, RankResult
from musechat.observability import HttpMetricsMiddleware
from musechat.store.settings import StoreSettings


class RankerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSECHAT_RANKER_", extra="ignore")

    checkpoint: Path = Field(description="Fusion checkpoint dir (model.safetensors + config.json).")
    threads: int = Field(default=1, ge=1, description="torch CPU threads per worker.")
    store: StoreSettings = Field(default_factory=StoreSettings)


@bentoml.service(name="fusion-ranker", traffic={"timeout": 30})
class FusionRankerService:
    def __init__(self) -> None:
        import torch

        from musechat.ranker.core import FusionRanker
        from musechat.store.settings import open_store

        settings = RankerSettings()
        torch.set_num_threads(settings.threads)
        self.ranker = FusionRanker.load(open_store(settings.store), settings.checkpoint)

    @bentoml.api
    def rank(self, request: RankRequest) -> RankResult:
        from musechat.ranker.errors import RankingError

        try:
            return RankResult(ok=True, response=self.ranker.rank(request))
        except RankingError as error:
            return RankResult(ok=False, error=RankError(status=error.status, code=error.code, message=error.message))


FusionRankerService.add_asgi_middleware(HttpMetricsMiddleware, service="fusion-ranker")
