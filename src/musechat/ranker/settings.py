"""The fusion-ranker service's one typed settings object (env prefix MUSECHAT_RANKER_).

Lives in the package, not in `services/fusion-ranker/service.py`, so the shell only loads and delegates
and the settings can be imported (docs, chart checks, tests) without importing BentoML's service module.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.store.settings import StoreSettings


class RankerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSECHAT_RANKER_", extra="ignore")

    # Optional at import (the batching limits below are read when the module loads, e.g. for the OpenAPI
    # export); the service refuses to start without it.
    checkpoint: Path | None = Field(default=None, description="Fusion checkpoint dir (model.safetensors + "
                                    "config.json); required to serve.")
    threads: int = Field(default=1, ge=1, description="torch CPU threads per worker.")
    max_batch_size: int = Field(default=32, ge=1, description="Requests per adaptive batch.")
    max_latency_ms: int = Field(default=1000, ge=1, description="Latency budget BentoML's batcher keeps to.")
    feature_cache_entries: int = Field(default=4096, ge=1,
                                       description="Decoded video and candidate-track features kept, of each.")
    store: StoreSettings = Field(default_factory=StoreSettings)
