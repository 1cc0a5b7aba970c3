"""Video-encoder contracts: the request, the per-item result, and the encoding that video events carry."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from musechat.contracts.features import MAX_SEGMENTS, FeatureMatrix

# Stable error codes: the media codes (musechat.media.errors) plus request-level ones.
VideoEncodeErrorCode = Literal[
    "not_found",
    "empty_file",
    "unsupported_format",
    "corrupt",
    "no_video_stream",
    "too_long",
    "too_large",
    "invalid_request",
    "path_not_allowed",
    "internal",
]


class VideoEncodeRequest(BaseModel):
    """Exactly one source: `path` (a file the encoder can read, inside its allowed roots) or `video_b64`."""

    path: str | None = Field(default=None, description="Server-side path, e.g. on a shared upload volume.")
    video_b64: str | None = Field(default=None, description="The file's bytes, base64-encoded (small clips).")
    filename: str | None = Field(default=None, description="Original file name, used in error messages.")

    @model_validator(mode="after")
    def _exactly_one_source(self) -> VideoEncodeRequest:
        if (self.path is None) == (self.video_b64 is None):
            raise ValueError("give exactly one of `path` or `video_b64`")
        return self


class VideoEncoding(BaseModel):
    """Per-segment visual features of one video; row i covers [segment_starts_s[i], +segment_seconds)."""

    features: FeatureMatrix = Field(description="[num_segments, feature_dim] float16 pooled CLIP features.")
    num_segments: int = Field(ge=1, le=MAX_SEGMENTS)
    segment_starts_s: list[float] = Field(description="Start time of each segment's window, in seconds.")
    duration_s: float = Field(gt=0, description="The video's duration as its container declares it.")
    num_frames: int = Field(ge=1, description="Frames sampled and encoded (5 per second of every window).")
    feature_model: str = Field(description="Version of the frame encoder, e.g. 'clip-vision=<id>@<sha8>'.")
    feature_dim: int = Field(ge=1)

    @model_validator(mode="after")
    def _check_shape(self) -> VideoEncoding:
        if tuple(self.features.shape) != (self.num_segments, self.feature_dim):
            raise ValueError(
                f"features shape {self.features.shape} != [num_segments={self.num_segments}, "
                f"feature_dim={self.feature_dim}]"
            )
        if len(self.segment_starts_s) != self.num_segments:
            raise ValueError(f"{len(self.segment_starts_s)} segment starts for {self.num_segments} segments")
        return self

    @property
    def mask(self) -> list[bool]:
        """MAX_SEGMENTS flags, True for the segments present: the fusion model's key-padding mask."""
        return [i < self.num_segments for i in range(MAX_SEGMENTS)]


class VideoEncodeError(BaseModel):
    code: VideoEncodeErrorCode
    message: str


class VideoEncodeResult(BaseModel):
    ok: bool
    encoding: VideoEncoding | None = None
    error: VideoEncodeError | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> VideoEncodeResult:
        if self.ok != (self.encoding is not None) or self.ok == (self.error is not None):
            raise ValueError("an ok result carries an encoding and no error; a failed one the reverse")
        return self


class VideoEncoderInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    spec: str = Field(description="Encoder spec name, e.g. 'video_clip_vit_b32'.")
    feature_model: str
    feature_dim: int
    fps: float
    segment_seconds: float
    max_segments: int
    frame_size: int = Field(description="Frames are resized and centre-cropped to this square size.")
    max_duration_s: float
    max_bytes: int
