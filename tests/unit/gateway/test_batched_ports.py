"""The in-process ports batch concurrent callers and hand each caller its own answer or error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
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


def test_concurrent_turns_share_a_ranker_batch_and_keep_their_own_answers() -> None:
    inner = SlowRanker()
    port = InProcessRanker(cast(Any, inner), max_batch=8)
    try:
        with ThreadPoolExecutor(6) as pool:
            first = pool.submit(port.rank, RankRequest(video_id="v0"))
            while not inner.batches:  # the worker is inside the first batch; the rest queue behind it
                threading.Event().wait(0.001)
            rest = [pool.submit(port.rank, RankRequest(video_id=v)) for v in ("v1", "bad2", "v3", "v4")]
            while port.queued() < 4:
                threading.Event().wait(0.001)
            inner.release.set()
            assert first.result(5).model_version == "v0"
            assert [rest[i].result(5).model_version for i in (0, 2, 3)] == ["v1", "v3", "v4"]
            with pytest.raises(VideoNotFoundError, match="bad2"):
                rest[1].result(5)
        assert inner.batches[0] == ["v0"]
        assert sorted(inner.batches[1]) == ["bad2", "v1", "v3", "v4"]  # one batch for the four that waited
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
        out = port.encode(["a", "bbb", "cc"])
        assert [e.pooled[0] for e in out] == [1.0, 3.0, 2.0]
        assert inner.calls == [["a", "bbb", "cc"]]  # gathered into one forward pass
    finally:
        port.close()
