"""The video worker (video-submitted → video-encoder → video-encoded) and the `videos` indexing handler.

A video that cannot be used is not poison: it becomes a `failed` video-encoded event whose reason the
API reports. Only malformed events go to the DLQ; encoder-internal errors are retried.
"""

from __future__ import annotations

from typing import Any

from musechat.bus import EventProducer, PermanentError, decode_payload
from musechat.contracts.api import VideoStatus
from musechat.contracts.conversation import VideoEncoded, VideoSubmitted
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.topics import Topic
from musechat.video.encoder_client import VideoEncoderClient
from musechat.video.registry import VideoRegistry

SOURCE = "musechat/video-worker"


class VideoWorker:
    def __init__(self, encoder: VideoEncoderClient, producer: EventProducer) -> None:
        self._encoder = encoder
        self._producer = producer

    def handle(self, event: EventEnvelope[Any], *_context: Any) -> None:
        submitted = decode_payload(event, VideoSubmitted)
        [result] = self._encoder.encode_paths([submitted.path])
        if result.ok and result.encoding is not None:
            encoded = VideoEncoded(video_id=submitted.video_id, status=VideoStatus.READY,
                                   features=result.encoding.features, duration_s=result.encoding.duration_s,
                                   feature_model=result.encoding.feature_model)
        elif result.error is not None and result.error.code == "internal":
            raise RuntimeError(f"video encoder failed on {submitted.path}: {result.error.message}")
        else:
            reason = f"{result.error.code}: {result.error.message}" if result.error else "no encoding returned"
            encoded = VideoEncoded(video_id=submitted.video_id, status=VideoStatus.FAILED, reason=reason)
        self._producer.publish(Topic.VIDEO_ENCODED, EventEnvelope[VideoEncoded](
            id=f"video-encoded:{event.id}", type=Topic.VIDEO_ENCODED.event_type, source=SOURCE,
            subject=submitted.video_id, data=encoded))


class VideoIndexer:
    """Applies video-encoded events to the `videos` collection (idempotent upserts)."""

    def __init__(self, registry: VideoRegistry) -> None:
        self._registry = registry

    def handle(self, event: EventEnvelope[Any], *_context: Any) -> None:
        encoded = decode_payload(event, VideoEncoded)
        if encoded.status is VideoStatus.READY and encoded.features is None:
            raise PermanentError(f"video-encoded event {event.id} is ready but carries no features")
        self._registry.record(encoded)
