"""One typed settings object per catalog deployable (catalog worker, indexer), validated at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.bus.settings import BusSettings
from musechat.store.settings import StoreSettings


class CatalogWorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSECHAT_CATALOG_WORKER_", extra="ignore")

    group_id: str = "catalog-worker"
    music_encoder_url: str | None = Field(
        default=None, description="music-encoder service URL; unset = encode in-process (embedded default)."
    )
    encoder_timeout_s: float = Field(default=120.0, gt=0)
    music_encoder_spec: str = Field(default="music-ast-tiny", description="In-process encoder spec (name or path).")
    ast_model: str | None = Field(default=None, description="In-process AST checkpoint overriding the spec's.")
    dedupe_path: Path | None = Field(default=None, description="File-backed dedupe log; unset = in memory.")
    refuse_not_music: bool = Field(
        default=False, description="In-process encoder: refuse short clips without musical evidence as not_music.")
    # Encoding is slow (seconds per track on CPU): take few records per poll and allow a long gap between
    # polls, or the group evicts a busy worker mid-batch and its partitions are re-read.
    max_poll_records: int = Field(default=2, ge=1)
    max_poll_interval_ms: int = Field(default=300_000, gt=0)
    bus: BusSettings = Field(default_factory=BusSettings)

    def consumer_bus(self) -> BusSettings:
        return self.bus.for_slow_handlers(self.max_poll_records, self.max_poll_interval_ms)


class IndexerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSECHAT_INDEXER_", extra="ignore")

    group_id: str = "indexer"
    projection_seed: int = Field(default=0, description="Seed of the fixed projection (no fusion checkpoint).")
    fusion_checkpoint: Path | None = Field(
        default=None, description="Fusion checkpoint whose music tower embeds tracks; unset = fixed projection.")
    video_encoder_spec: str = Field(default="video_clip_tiny",
                                    description="Spec of the video encoder (sets the `videos` vector width).")
    dedupe_path: Path | None = None
    bus: BusSettings = Field(default_factory=BusSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
