"""The encoder services' typed settings objects, one per deployable: text-encoder
(MUSECHAT_TEXT_ENCODER_), video-encoder (MUSECHAT_VIDEO_ENCODER_), music-encoder (MUSECHAT_MUSIC_ENCODER_).

They live in the package, not in `services/*/service.py`, so each shell only loads and delegates and the
settings can be imported (docs, chart checks, tests) without importing a BentoML service module. Every
object is validated once at start-up; every field is an env var `<prefix><NAME>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TextEncoderSettings(BaseSettings):
    """Validated once at start-up; every field is an env var `MUSECHAT_TEXT_ENCODER_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="MUSECHAT_TEXT_ENCODER_", extra="ignore")

    spec: str = Field("text_minilm_l6", description="Bundled spec name or a spec JSON path.")
    model: str | None = Field(None, description="Model id or checkpoint dir; default: the bundled MiniLM.")
    max_tokens: int | None = Field(None, ge=3, description="Tokens kept per text; default: the spec's.")
    device: str = "cpu"
    torch_threads: int | None = Field(None, ge=1, description="Intra-op threads; default: torch's choice.")
    backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "torch", description="torch (any DEVICE) or ONNX Runtime on the CPU: onnx (fp32, torch's features to "
        "~1e-5) or onnx-int8 (faster, features drift); the ONNX export is cached under MODEL_CACHE_DIR.")
    model_cache_dir: Path | None = Field(None, description="Where the ONNX export is kept; default: "
                                         "$XDG_CACHE_HOME/musechat or ~/.cache/musechat.")
    max_batch_size: int = Field(64, ge=1, description="Texts per adaptive batch.")
    max_latency_ms: int = Field(2000, ge=1)
    forward_batch_size: int = Field(32, ge=1, description="Texts per forward pass.")


class VideoEncoderSettings(BaseSettings):
    """Validated once at start-up; every field is an env var `MUSECHAT_VIDEO_ENCODER_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="MUSECHAT_VIDEO_ENCODER_", extra="ignore")

    spec: str = Field("video_clip_tiny", description="Bundled spec name or a spec JSON path.")
    clip_model: str | None = Field(None, description="CLIP model id or checkpoint dir; overrides the spec.")
    cache_dir: Path | None = Field(None, description="Where the embedded tiny CLIP is written once.")
    device: str = "cpu"
    torch_threads: int | None = Field(None, ge=1, description="Intra-op threads; default: torch's choice.")
    allowed_roots: list[Path] = Field(
        default_factory=list, description="Dirs `path` requests may read from; empty disables path inputs."
    )
    max_upload_bytes: int = Field(512 * 1024 * 1024, ge=1)
    max_duration_s: float = Field(1800.0, gt=0)
    max_batch_size: int = Field(8, ge=1, description="Requests (videos) per adaptive batch.")
    # Encoding a video takes seconds on CPU: the bound caps queueing, not the work itself.
    max_latency_ms: int = Field(300_000, ge=1)
    frame_batch_size: int = Field(64, ge=1, description="Frames per CLIP forward pass.")
    request_timeout_s: int = Field(900, ge=1)


class MusicEncoderSettings(BaseSettings):
    """Validated once at start-up; every field is an env var `MUSECHAT_MUSIC_ENCODER_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="MUSECHAT_MUSIC_ENCODER_", extra="ignore")

    spec: str = Field("music-ast-tiny", description="Bundled spec name or a spec JSON path.")
    ast_model: str | None = Field(None, description="AST model id or checkpoint dir; overrides the spec.")
    cache_dir: Path | None = Field(None, description="Where the embedded tiny AST is written once.")
    device: str = "cpu"
    allowed_roots: list[Path] = Field(
        default_factory=list, description="Dirs `path` requests may read from; empty disables path inputs."
    )
    max_upload_bytes: int = Field(100 * 1024 * 1024, ge=1)
    max_duration_s: float = Field(1800.0, gt=0)
    min_duration_s: float = Field(1.0, ge=0)
    reject_silent: bool = True
    max_batch_size: int = Field(16, ge=1, description="Requests (tracks) per adaptive batch.")
    # The dispatcher sheds requests it predicts will wait longer than this: encoding takes seconds on
    # CPU, so the bound is generous; it caps queueing, not the work itself.
    max_latency_ms: int = Field(300_000, ge=1)
    ast_batch_size: int = Field(8, ge=1, description="Segments per AST forward pass.")
    request_timeout_s: int = Field(900, ge=1)
