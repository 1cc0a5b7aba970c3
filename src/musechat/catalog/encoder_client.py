"""How the catalog worker reaches the music-encoder: over HTTP (the BentoML service) or in-process
(the embedded single-machine default). Both return one result per path; a bad file never fails a batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import httpx

from musechat.contracts.music import MusicEncodeRequest, MusicEncodeResult

if TYPE_CHECKING:
    from musechat.encoders.music import MusicEncoder


class MusicEncoderClient(Protocol):
    def encode_paths(self, paths: Sequence[str]) -> list[MusicEncodeResult]: ...


class InProcessMusicEncoder:
    def __init__(self, encoder: MusicEncoder) -> None:
        self._encoder = encoder

    def encode_paths(self, paths: Sequence[str]) -> list[MusicEncodeResult]:
        from musechat.encoders.music import AudioInput

        return self._encoder.encode_batch([AudioInput(path, None) for path in paths])


class HttpMusicEncoder:
    """Calls the music-encoder service's batchable route; server-side batching merges concurrent calls."""

    def __init__(self, base_url: str, timeout_s: float = 120.0) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def encode_paths(self, paths: Sequence[str]) -> list[MusicEncodeResult]:
        body = {"requests": [MusicEncodeRequest(path=path).model_dump(mode="json") for path in paths]}
        response = self._client.post("/encode_batch", json=body)
        response.raise_for_status()
        return [MusicEncodeResult.model_validate(item) for item in response.json()]

    def close(self) -> None:
        self._client.close()
