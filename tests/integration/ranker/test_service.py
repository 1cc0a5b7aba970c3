"""The fusion-ranker BentoML service for real: `bentoml serve` over the embedded engine on disk, called by
the gateway's HTTP port from concurrent coroutines (BentoML's adaptive batcher may merge them into one
`rank_many`); every caller gets exactly what the in-process ranker answers, errors included."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.gateway.ports import HttpRanker, RemoteRankingError
from musechat.ranker.core import FusionRanker
from musechat.ranker.errors import RankingError
from musechat.store.edge import EdgeStore
from tests.fixtures_ranker import build_ranker_world
from tests.fixtures_video import serve_bento

pytestmark = pytest.mark.integration

SERVICE_DIR = Path(__file__).resolve().parents[3] / "services" / "fusion-ranker"


async def _answer(port: HttpRanker, request: RankRequest) -> RankResponse | RankingError:
    try:
        return await port.rank(request)
    except RemoteRankingError as error:
        return error


async def _concurrently(url: str, turns: list[RankRequest]) -> list[RankResponse | RankingError]:
    port = HttpRanker(url, timeout_s=60)
    return list(await asyncio.gather(*(_answer(port, r) for r in turns)))


def test_served_ranker_answers_concurrent_callers_like_the_in_process_one(tmp_path: Path) -> None:
    world = build_ranker_world(tmp_path)
    turns = world.turns() * 3
    store = EdgeStore(world.store_path)
    try:  # the reference answers, before the server takes the store (the embedded engine has one owner)
        expected = FusionRanker.load(store, world.checkpoint).rank_many(turns)
    finally:
        store.close()

    # A generous latency budget: this checks the answers, not the batcher's shedding on a busy CI machine.
    env = {"MUSECHAT_RANKER_CHECKPOINT": str(world.checkpoint), "MUSECHAT_RANKER_MAX_LATENCY_MS": "60000",
           "MUSECHAT_STORE_BACKEND": "edge", "MUSECHAT_STORE_PATH": str(world.store_path)}
    with serve_bento(SERVICE_DIR, "service:FusionRankerService", env, tmp_path / "serve.log") as url:
        got = asyncio.run(_concurrently(url, turns))
        for want, answer in zip(expected, got, strict=True):
            if isinstance(want, RankingError):
                assert isinstance(answer, RemoteRankingError)
                assert (answer.status, answer.code, answer.message) == (want.status, want.code, want.message)
                continue
            assert isinstance(answer, RankResponse)
            assert [t.track_id for t in answer.tracks] == [t.track_id for t in want.tracks]
            assert answer.model_version == want.model_version and answer.index_collection == "tracks-v1"

        # A body that is not a batch of rank requests is the caller's mistake: a 400 that names the field.
        bad = httpx.post(f"{url}/rank", json={"requests": [{"video_id": "vid-a", "limit": 0}]}, timeout=30)
        assert bad.status_code == 400 and "limit" in bad.text
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
        assert 'musechat_batch_size_count{api="rank",service="fusion-ranker"}' in metrics
