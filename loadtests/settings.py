"""The load generator's one settings object (env prefix MUSECHAT_LOADTEST_); run.py sets it for Locust."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LoadtestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSECHAT_LOADTEST_", extra="ignore")

    api_key_file: Path | None = Field(default=None, description="File holding the API key (first line).")
    api_key: SecretStr | None = Field(default=None, description="The key itself, when no file is used.")
    video_seconds: float = Field(default=4.0, gt=0, description="Length of the generated test video.")
    video_dir: Path = Field(default=Path("/tmp/musechat-loadtest"), description="Where the test video is written.")
    video_field: str = Field(default="file", description="Multipart field of POST /v1/videos.")
    video_ready_timeout_s: float = Field(default=300.0, gt=0)
    poll_interval_s: float = Field(default=0.5, gt=0)
    catalog_audio_path: str = Field(
        default="/data/catalog/loadtest.wav",
        description="audio_path of submitted tracks: a file the catalog worker can read.",
    )
    catalog_batch_size: int = Field(default=5, ge=1, le=1000)
    request_timeout_s: float = Field(default=60.0, gt=0)
    seed: int | None = Field(default=None, description="Seed of each user's choices; None = random.")

    @model_validator(mode="after")
    def _one_key(self) -> LoadtestSettings:
        if (self.api_key_file is None) == (self.api_key is None):
            raise ValueError("set exactly one of MUSECHAT_LOADTEST_API_KEY_FILE or MUSECHAT_LOADTEST_API_KEY")
        if self.api_key_file is not None and not self.api_key_file.is_file():
            raise ValueError(f"API key file {self.api_key_file} does not exist")
        return self

    def key(self) -> str:
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        assert self.api_key_file is not None
        lines = self.api_key_file.read_text().strip().splitlines()
        if not lines or not lines[0].strip():
            raise ValueError(f"API key file {self.api_key_file} is empty")
        return lines[0].strip()
