"""How the video worker reaches the video-encoder: HTTP (the BentoML service) or in-process (embedded)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import httpx

from musechat.contracts.video import VideoEncodeRequest, VideoEncodeResult

if TYPE_CHECKING:
    from musechat.encoders.clip_video import VideoEncoder


class VideoEncoderClient(Protocol):
    def encode_paths(self, paths: Sequence[str]) -> list[VideoEncodeResult]: ...


class InProcessVideoEncoder:
    def __init__(self, encoder: VideoEncoder) -> None:
        self._encoder = encoder

    def encode_paths(self, paths: Sequence[str]) -> list[VideoEncodeResult]:
        from musechat.encoders.clip_video import VideoInput

        return self._encoder.encode_batch([VideoInput(path, None) for path in paths])


class HttpVideoEncoder:
    def __init__(self, base_url: str, timeout_s: float = 300.0) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def encode_paths(self, paths: Sequence[str]) -> list[VideoEncodeResult]:
        body = {"requests": [VideoEncodeRequest(path=path).model_dump(mode="json") for path in paths]}
        response = self._client.post("/encode_batch", json=body)
        response.raise_for_status()
        return [VideoEncodeResult.model_validate(item) for item in response.json()]
