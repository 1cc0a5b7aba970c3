"""What the gateway calls, each behind one interface with an HTTP backend (the BentoML services) and an
in-process backend (the embedded single-machine default)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import httpx
from prometheus_client import Counter

from musechat.batching import MicroBatcher
from musechat.contracts.ranking import RankRequest, RankResponse, RankResult
from musechat.contracts.text import TextEncoding
from musechat.ranker.errors import RankingError

if TYPE_CHECKING:
    from musechat.encoders.text import TextEncoder
    from musechat.ranker.core import FusionRanker


class TextEncoderPort(Protocol):
    def encode(self, texts: list[str]) -> list[TextEncoding]: ...


class RankerPort(Protocol):
    def rank(self, request: RankRequest) -> RankResponse: ...


class InProcessTextEncoder:
    """The text model in this process; concurrent requests' texts are encoded in one forward pass."""

    def __init__(self, encoder: TextEncoder, max_batch: int = 16, max_wait_s: float = 0.0) -> None:
        self._batcher: MicroBatcher[str, TextEncoding] = MicroBatcher("text", encoder.encode, max_batch, max_wait_s)

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        futures = [self._batcher.submit_async(text) for text in texts]
        return [future.result() for future in futures]

    def close(self) -> None:
        self._batcher.close()


TEXT_CACHE_LOOKUPS = Counter(
    "musechat_text_cache_lookups",
    "Texts looked up in the gateway's text-encoding cache, by result (hit or miss).",
    ["result"],
)


class CachedTextEncoder:
    """Remembers encodings by exact text (LRU, `max_entries`, each at most `max_age_s` old).

    Users repeat short phrases ("slower", "no vocals, please"); a repeat skips the text model (or the
    text-encoder round trip) entirely. The age limit bounds how long an encoding from a text model
    that was since replaced behind the HTTP port can still be served. Entries are shared between
    requests: callers treat them as read-only. Misses are encoded outside the lock, so concurrent
    requests never wait on each other's model calls (two racing misses of one text both encode it).
    """

    def __init__(self, inner: TextEncoderPort, max_entries: int = 1024, max_age_s: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        if max_age_s <= 0:
            raise ValueError(f"max_age_s must be > 0, got {max_age_s}")
        self._inner = inner
        self._max_entries = max_entries
        self._max_age_s = max_age_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, TextEncoding]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        now = self._clock()
        found: dict[str, TextEncoding] = {}
        with self._lock:
            for text in texts:
                entry = self._entries.get(text)
                if entry is not None and now - entry[0] <= self._max_age_s:
                    self._entries.move_to_end(text)
                    found[text] = entry[1]
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        TEXT_CACHE_LOOKUPS.labels(result="hit").inc(len(texts) - len(missing))
        if missing:
            TEXT_CACHE_LOOKUPS.labels(result="miss").inc(len(missing))
            encoded = self._inner.encode(missing)
            if len(encoded) != len(missing):
                raise RuntimeError(f"the text encoder returned {len(encoded)} encodings for {len(missing)} texts")
            with self._lock:
                for text, encoding in zip(missing, encoded, strict=True):
                    self._entries[text] = (now, encoding)
                    self._entries.move_to_end(text)
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
            found.update(zip(missing, encoded, strict=True))
        return [found[text] for text in texts]


class HttpTextEncoder:
    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        response = self._client.post("/encode", json={"texts": texts})
        response.raise_for_status()
        return [TextEncoding.model_validate(item) for item in response.json()]


class InProcessRanker:
    """The fusion ranker in this process; concurrent turns share one query-tower pass and one engine call."""

    def __init__(self, ranker: FusionRanker, max_batch: int = 16, max_wait_s: float = 0.0) -> None:
        self._batcher: MicroBatcher[RankRequest, RankResponse] = MicroBatcher(
            "rank", ranker.rank_many, max_batch, max_wait_s)

    def rank(self, request: RankRequest) -> RankResponse:
        return self._batcher.submit(request)

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
    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def rank(self, request: RankRequest) -> RankResponse:
        # The service's API is batchable: one request is a batch of one, merged server-side with others.
        response = self._client.post("/rank", json={"requests": [request.model_dump(mode="json")]})
        response.raise_for_status()
        [result] = [RankResult.model_validate(item) for item in response.json()]
        if result.error is not None:
            raise RemoteRankingError(result.error.status, result.error.code, result.error.message)
        assert result.response is not None  # ok results carry a response
        return result.response
