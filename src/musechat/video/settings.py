"""The video worker's one typed settings object (env prefix MUSECHAT_VIDEO_WORKER_).

Kept apart from `video/runtime.py` (the wiring) so the settings of every deployable live in
`<package>/settings.py`: one place to look for a component's environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.bus.settings import BusSettings


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
