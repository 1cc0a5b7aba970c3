"""The in-process ports batch concurrent callers and hand each caller its own answer or error, awaited on
the event loop without parking a thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

import pytest

from musechat.contracts.features import FeatureMatrix
from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.contracts.text import TextEncoding
from musechat.gateway.ports import InProcessRanker, InProcessTextEncoder
from musechat.ranker.errors import RankingError, VideoNotFoundError

pytestmark = pytest.mark.unit


class SlowRanker:
    """Answers each request with its video id as the model version; holds the first batch until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()

    def rank_many(self, requests: list[RankRequest]) -> list[RankResponse | RankingError]:
        self.batches.append([r.video_id for r in requests])
        if len(self.batches) == 1:
            self.release.wait(5)
        return [VideoNotFoundError(f"unknown video {r.video_id!r}") if r.video_id.startswith("bad")
                else RankResponse(tracks=[], model_version=r.video_id, index_collection="tracks-v1")
                for r in requests]


async def _until(condition: Any, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.001)


def test_concurrent_turns_share_a_ranker_batch_and_keep_their_own_answers() -> None:
    inner = SlowRanker()
    port = InProcessRanker(cast(Any, inner), max_batch=8)

    async def scenario() -> None:
        first = asyncio.ensure_future(port.rank(RankRequest(video_id="v0")))
        await _until(lambda: bool(inner.batches))  # the worker is inside the first batch; the rest queue
        rest = [asyncio.ensure_future(port.rank(RankRequest(video_id=v))) for v in ("v1", "bad2", "v3", "v4")]
        await _until(lambda: port.queued() == 4)
        inner.release.set()
        assert (await first).model_version == "v0"
        answers = await asyncio.gather(*rest, return_exceptions=True)
        assert [cast(RankResponse, answers[i]).model_version for i in (0, 2, 3)] == ["v1", "v3", "v4"]
        assert isinstance(answers[1], VideoNotFoundError) and "bad2" in str(answers[1])

    try:
        asyncio.run(scenario())
        assert inner.batches[0] == ["v0"]
        assert sorted(inner.batches[1]) == ["bad2", "v1", "v3", "v4"]  # one batch for the four that waited
    finally:
        port.close()


def test_the_event_loop_stays_free_while_a_batch_runs() -> None:
    inner = SlowRanker()
    port = InProcessRanker(cast(Any, inner), max_batch=8)

    async def scenario() -> int:
        ticks = 0
        turn = asyncio.ensure_future(port.rank(RankRequest(video_id="v0")))
        await _until(lambda: bool(inner.batches))
        for _ in range(5):  # the ranker is blocked in its batch, yet the loop keeps running other work
            await asyncio.sleep(0)
            ticks += 1
        inner.release.set()
        await turn
        return ticks

    try:
        assert asyncio.run(scenario()) == 5
    finally:
        port.close()


class RecordingEncoder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        self.calls.append(list(texts))
        return [TextEncoding(tokens=FeatureMatrix(shape=(1, 1), data_b64="AAA="), length=1, truncated=False,
                             pooled=[float(len(t))], feature_model="m") for t in texts]


def test_the_text_port_answers_several_texts_of_one_call_in_order() -> None:
    inner = RecordingEncoder()
    port = InProcessTextEncoder(cast(Any, inner), max_batch=16, max_wait_s=0.05)
    try:
        out = asyncio.run(port.encode(["a", "bbb", "cc"]))
        assert [e.pooled[0] for e in out] == [1.0, 3.0, 2.0]
        assert inner.calls == [["a", "bbb", "cc"]]  # gathered into one forward pass
    finally:
        port.close()
