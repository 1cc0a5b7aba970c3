"""fusion-ranker: the MVT-Fusion query tower + filtered ANN search over Qdrant `tracks`, as BentoML.

Run: `bentoml serve service:FusionRankerService --working-dir services/fusion-ranker --port 3000`.
API: POST /rank {requests: [RankRequest, ...]} -> [RankResult, ...], batchable: concurrent callers' requests
share one query-tower pass and one engine call; each gets its own result (an error result for an unknown
or pending video or track, never a failed neighbour).
Settings: env MUSECHAT_RANKER_* (checkpoint, batching) and MUSECHAT_STORE_* (the Qdrant server).
"""

from __future__ import annotations

import bentoml

from musechat.contracts.ranking import RankError, RankRequest, RankResult
from musechat.observability import HttpMetricsMiddleware, observe_batch
from musechat.ranker.settings import RankerSettings

settings = RankerSettings()


@bentoml.service(name="fusion-ranker", traffic={"timeout": 30})
class FusionRankerService:
    def __init__(self) -> None:
        import torch

        from musechat.ranker.core import FusionRanker
        from musechat.registry.settings import open_registry
        from musechat.store.settings import open_store

        if settings.checkpoint is None:
            raise RuntimeError("set MUSECHAT_RANKER_CHECKPOINT to a fusion checkpoint dir")
        torch.set_num_threads(settings.threads)
        # MUSECHAT_MODEL_REGISTRY_DIR set: start on the live model and follow each publish (ranker/core.py).
        self.ranker = FusionRanker.load(open_store(settings.store), settings.checkpoint,
                                        settings.feature_cache_entries, open_registry())

    @bentoml.api(batchable=True, max_batch_size=settings.max_batch_size, max_latency_ms=settings.max_latency_ms)
    def rank(self, requests: list[RankRequest]) -> list[RankResult]:
        from musechat.ranker.errors import RankingError

        observe_batch("fusion-ranker", "rank", len(requests))
        return [
            RankResult(ok=False, error=RankError(status=r.status, code=r.code, message=r.message))
            if isinstance(r, RankingError) else RankResult(ok=True, response=r)
            for r in self.ranker.rank_many(list(requests))
        ]


FusionRankerService.add_asgi_middleware(HttpMetricsMiddleware, service="fusion-ranker")
