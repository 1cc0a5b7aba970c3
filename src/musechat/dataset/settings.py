"""The dataset writer's one typed settings object (env prefix MUSECHAT_DATASET_WRITER_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.bus.settings import BusSettings
from musechat.fusion.data import DEFAULT_MAX_TEXT_TOKENS
from musechat.store.settings import StoreSettings


class DatasetWriterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSECHAT_DATASET_WRITER_", extra="ignore")

    group_id: str = "dataset-writer"
    output_dir: Path = Field(default=Path("var/quartets"),
                             description="One new quartet dataset directory per seal goes here.")
    shard_size: int = Field(default=1024, ge=1, description="Seal a dataset once it holds this many quartets.")
    flush_every_s: float = Field(default=600.0, gt=0,
                                 description="Seal a non-empty dataset at the latest this long after its first "
                                             "quartet (also bounds what a crash can lose).")
    max_turns: int = Field(default=100_000, ge=1, description="Turns remembered for later feedback (LRU).")
    max_pending_feedback: int = Field(
        default=10_000, ge=1, description="Accepts kept while their turn event has not arrived yet (LRU).")
    max_text_tokens: int = Field(default=DEFAULT_MAX_TEXT_TOKENS, ge=3,
                                 description="Token rows kept per text (the datasets' padded width).")
    text_encoder_url: str | None = Field(default=None, description="text-encoder service; unset = in-process.")
    text_encoder_spec: str = Field(default="text_minilm_l6", description="In-process text encoder spec.")
    request_timeout_s: float = Field(default=30.0, gt=0)
    dedupe_path: Path | None = Field(default=None, description="File-backed dedupe log; unset = in memory.")
    embedded: bool = Field(default=False, description="Run as a worker thread of the embedded gateway (through "
                           "its engine process: qdrant-edge allows one owning process); set output_dir too.")
    bus: BusSettings = Field(default_factory=BusSettings)

    @property
    def pending_path(self) -> Path:
        """Accepts still waiting for their turn event, kept across restarts beside the datasets."""
        return self.output_dir / ".pending-feedback.json"
    store: StoreSettings = Field(default_factory=StoreSettings)
