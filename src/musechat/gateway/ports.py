"""What the gateway calls, each behind one asynchronous interface with an HTTP backend (the BentoML
services) and an in-process backend (the embedded single-machine default).

The ports are awaited on the server's event loop: a turn never parks a thread while it waits for the
text model, the ranker or a remote service, so a request costs the loop's CPU only (a blocking port run
through FastAPI's thread pool cost about twice as much per request, measured in
docs/benchmarks/turn_latency.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

import httpx
from prometheus_client import Counter

from musechat.batching import MicroBatcher
from musechat.contracts.ranking import RankRequest, RankResponse, RankResult
from musechat.contracts.text import TextEncoding
from musechat.lru import ExpiringLru
from musechat.ranker.errors import RankingError

if TYPE_CHECKING:
    from musechat.hosting import ProcessHost


class TextEncoderPort(Protocol):
    async def encode(self, texts: list[str]) -> list[TextEncoding]: ...


class RankerPort(Protocol):
    async def rank(self, request: RankRequest) -> RankResponse: ...


class BatchRanker(Protocol):
    """What ranks a micro-batch: `FusionRanker` itself, or `HostedRanker` in front of one in the engine process."""

    def rank_many(self, requests: list[RankRequest]) -> list[RankResponse | RankingError]: ...


class BatchTextEncoder(Protocol):
    """What encodes a micro-batch of texts: `TextEncoder` itself, or `HostedTextEncoder` in front of one."""

    def encode(self, texts: list[str]) -> list[TextEncoding]: ...


class HostedTextEncoder:
    """The text model in a process of its own (`gateway.runtime.build_text_encoder`): new sentences cost
    ~4-5 ms of CPU each, and there they take a core of their own instead of the HTTP stack's."""

    def __init__(self, host: ProcessHost, target: str) -> None:
        self._host = host
        self._target = target

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        return cast(list[TextEncoding], self._host.call(self._target, "encode", texts))


class InProcessTextEncoder:
    """The text model on this machine; concurrent requests' texts are encoded in one forward pass."""

    def __init__(self, encoder: BatchTextEncoder, max_batch: int = 16, max_wait_s: float = 0.0) -> None:
        self._batcher: MicroBatcher[str, TextEncoding] = MicroBatcher("text", encoder.encode, max_batch, max_wait_s)

    async def encode(self, texts: list[str]) -> list[TextEncoding]:
        futures = [asyncio.wrap_future(self._batcher.submit_async(text)) for text in texts]
        return list(await asyncio.gather(*futures))

    def close(self) -> None:
        self._batcher.close()


TEXT_CACHE_LOOKUPS = Counter(
    "musechat_text_cache_lookups",
    "Texts looked up in the gateway's text-encoding cache, by result (hit or miss).",
    ["result"],
)
_CACHE_HITS, _CACHE_MISSES = TEXT_CACHE_LOOKUPS.labels(result="hit"), TEXT_CACHE_LOOKUPS.labels(result="miss")


class CachedTextEncoder:
    """Remembers encodings by exact text (LRU, `max_entries`, each at most `max_age_s` old).

    Users repeat short phrases ("slower", "no vocals, please"); a repeat skips the text model (or the
    text-encoder round trip) entirely. The age limit bounds how long an encoding from a text model
    that was since replaced behind the HTTP port can still be served. Two concurrent misses of one
    text both encode it, and neither waits for the other.
    """

    def __init__(self, inner: TextEncoderPort, max_entries: int = 1024, max_age_s: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._inner = inner
        self._entries: ExpiringLru[str, TextEncoding] = ExpiringLru(max_entries, max_age_s, clock)

    def __len__(self) -> int:
        return len(self._entries)

    async def encode(self, texts: list[str]) -> list[TextEncoding]:
        found = {text: hit for text in dict.fromkeys(texts) if (hit := self._entries.get(text)) is not None}
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        if len(texts) > len(missing):
            _CACHE_HITS.inc(len(texts) - len(missing))
        if missing:
            _CACHE_MISSES.inc(len(missing))
            encoded = await self._inner.encode(missing)
            if len(encoded) != len(missing):
                raise RuntimeError(f"the text encoder returned {len(encoded)} encodings for {len(missing)} texts")
            for text, encoding in zip(missing, encoded, strict=True):
                self._entries.put(text, encoding)
                found[text] = encoding
        return [found[text] for text in texts]


class HttpTextEncoder:
    """The text-encoder service (its batchable `/encode`), over a pooled async HTTP client."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)

    async def encode(self, texts: list[str]) -> list[TextEncoding]:
        response = await self._client.post("/encode", json={"texts": texts})
        response.raise_for_status()
        return [TextEncoding.model_validate(item) for item in response.json()]


class HostedRanker:
    """The `FusionRanker` living in the engine process beside the store (`gateway.runtime.build_engine`):
    a micro-batch crosses the pipe once (~0.1 ms), and its features never leave that process."""

    def __init__(self, host: ProcessHost, target: str) -> None:
        self._host = host
        self._target = target

    def rank_many(self, requests: list[RankRequest]) -> list[RankResponse | RankingError]:
        return cast(list[RankResponse | RankingError], self._host.call(self._target, "rank_many", requests))


class InProcessRanker:
    """The fusion ranker on this machine; concurrent turns share one query-tower pass and one engine call."""

    def __init__(self, ranker: BatchRanker, max_batch: int = 16, max_wait_s: float = 0.0) -> None:
        self._batcher: MicroBatcher[RankRequest, RankResponse] = MicroBatcher(
            "rank", ranker.rank_many, max_batch, max_wait_s)

    async def rank(self, request: RankRequest) -> RankResponse:
        return await asyncio.wrap_future(self._batcher.submit_async(request))

    def queued(self) -> int:
        return self._batcher.queued()

    def close(self) -> None:
        self._batcher.close()


class RemoteRankingError(RankingError):
    """A 4xx from the fusion-ranker service, carried through with its code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class HttpRanker:
    """The fusion-ranker service over a pooled async HTTP client."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)

    async def rank(self, request: RankRequest) -> RankResponse:
        # The service's API is batchable: one request is a batch of one, merged server-side with others.
        response = await self._client.post("/rank", json={"requests": [request.model_dump(mode="json")]})
        response.raise_for_status()
        [result] = [RankResult.model_validate(item) for item in response.json()]
        if result.error is not None:
            raise RemoteRankingError(result.error.status, result.error.code, result.error.message)
        assert result.response is not None  # ok results carry a response
        return result.response
