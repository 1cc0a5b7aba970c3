"""Wiring of the video worker deployable: settings, encoder client, Kafka consumer."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.bus import EventConsumer, EventProducer, FileDedupeStore, InMemoryDedupeStore
from musechat.bus.settings import BusSettings
from musechat.contracts.topics import Topic
from musechat.video.encoder_client import HttpVideoEncoder, InProcessVideoEncoder, VideoEncoderClient
from musechat.video.worker import VideoWorker


class VideoWorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSECHAT_VIDEO_WORKER_", extra="ignore")

    group_id: str = "video-worker"
    video_encoder_url: str | None = Field(default=None, description="video-encoder URL; unset = in-process.")
    video_encoder_spec: str = Field(default="video_clip_tiny", description="In-process encoder spec.")
    encoder_timeout_s: float = Field(default=300.0, gt=0)
    dedupe_path: Path | None = None
    # A video takes seconds to decode and encode: few records per poll, a long allowance between polls.
    max_poll_records: int = Field(default=1, ge=1)
    max_poll_interval_ms: int = Field(default=300_000, gt=0)
    bus: BusSettings = Field(default_factory=BusSettings)


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
