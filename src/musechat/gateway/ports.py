"""What the gateway calls, each behind one interface with an HTTP backend (the BentoML services) and an
in-process backend (the embedded single-machine default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import httpx

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
    def __init__(self, encoder: TextEncoder) -> None:
        self._encoder = encoder

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        return self._encoder.encode(texts)


class HttpTextEncoder:
    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        response = self._client.post("/encode", json={"texts": texts})
        response.raise_for_status()
        return [TextEncoding.model_validate(item) for item in response.json()]


class InProcessRanker:
    def __init__(self, ranker: FusionRanker) -> None:
        self._ranker = ranker

    def rank(self, request: RankRequest) -> RankResponse:
        return self._ranker.rank(request)


class RemoteRankingError(RankingError):
    """A 4xx from the fusion-ranker service, carried through with its code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class HttpRanker:
    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def rank(self, request: RankRequest) -> RankResponse:
        response = self._client.post("/rank", json={"request": request.model_dump(mode="json")})
        response.raise_for_status()
        result = RankResult.model_validate(response.json())
        if result.error is not None:
            raise RemoteRankingError(result.error.status, result.error.code, result.error.message)
        assert result.response is not None  # ok results carry a response
        return result.response
