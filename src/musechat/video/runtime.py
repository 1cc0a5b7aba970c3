"""Wiring of the video worker deployable: settings, encoder client, Kafka consumer."""

from __future__ import annotations

from musechat.bus import EventConsumer, EventProducer, FileDedupeStore, InMemoryDedupeStore
from musechat.contracts.topics import Topic
from musechat.video.encoder_client import HttpVideoEncoder, InProcessVideoEncoder, VideoEncoderClient
from musechat.video.settings import VideoWorkerSettings
from musechat.video.worker import VideoWorker


def video_encoder_client(settings: VideoWorkerSettings) -> VideoEncoderClient:
    if settings.video_encoder_url:
        return HttpVideoEncoder(settings.video_encoder_url, timeout_s=settings.encoder_timeout_s)
    from musechat.encoders.clip_video import VideoEncoder, load_spec

    return InProcessVideoEncoder(VideoEncoder.load(load_spec(settings.video_encoder_spec)))


def video_worker_consumer(settings: VideoWorkerSettings, producer: EventProducer,
                          encoder: VideoEncoderClient | None = None) -> EventConsumer:
    worker = VideoWorker(encoder or video_encoder_client(settings), producer)
    bus = settings.bus.for_slow_handlers(settings.max_poll_records, settings.max_poll_interval_ms)
    dedupe = FileDedupeStore(settings.dedupe_path) if settings.dedupe_path else InMemoryDedupeStore()
    return EventConsumer(bus, [Topic.VIDEO_SUBMITTED], settings.group_id, worker.handle, dedupe,
                         dlq_producer=producer)
