"""The model registry's one typed settings object (env prefix MUSECHAT_MODEL_REGISTRY_).

Every deployable that follows the live model reads it: the indexer (which index to build), the ranker and
the gateway (which query tower to run), the trainer (the parent to fine-tune and gate against). The chart
mounts one shared claim at `MUSECHAT_MODEL_REGISTRY_DIR` in all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from musechat.registry.registry import ModelRegistry


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSECHAT_MODEL_REGISTRY_", extra="ignore")

    dir: Path | None = Field(default=None, description="Shared registry directory; unset = no registry "
                             "(each deployable serves the checkpoint of its own settings, as before).")
    # At least 1: a batch that resolved the alias just before a flip still searches the previous collection.
    retention: int = Field(default=2, ge=1, description="Collections of earlier live versions kept for a fast "
                           "rollback besides the live one; older ones are dropped after each publish (gc).")
    gate_margin: float = Field(default=0.05, ge=0.0, le=1.0,
                               description="A candidate whose mean reciprocal rank at turn 2 is lower than the live "
                                           "model's by more than this (on any gate split) is refused unless forced "
                                           "(0.05: about 1 query in 10 falling from first to second place).")
    min_quartets: int = Field(default=16, ge=1,
                              description="Fewest new feedback quartets a retrain needs (`model train`).")


def open_registry(settings: RegistrySettings | None = None) -> ModelRegistry | None:
    """The registry at `MUSECHAT_MODEL_REGISTRY_DIR`, or None when none is configured."""
    from musechat.registry.registry import ModelRegistry

    settings = settings or RegistrySettings()
    return ModelRegistry(settings.dir) if settings.dir is not None else None
