"""Text encoding for synchronous callers (Kafka workers): the text model in process, or a blocking client
of the text-encoder service. The gateway, which awaits its calls, uses `musechat.gateway.ports`."""

from __future__ import annotations

from typing import Protocol

import httpx

from musechat.contracts.text import TextEncoding


class TextSource(Protocol):
    """Anything that encodes texts: `musechat.encoders.text.TextEncoder` itself, or `TextEncoderClient`."""

    def encode(self, texts: list[str]) -> list[TextEncoding]: ...


class TextEncoderClient:
    """The text-encoder service's batchable `/encode`, called one batch at a time."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        response = self._client.post("/encode", json={"texts": texts})
        response.raise_for_status()
        return [TextEncoding.model_validate(item) for item in response.json()]
