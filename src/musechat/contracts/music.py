"""Music-encoder contracts: the request, the per-item result, and the encoding that catalog events carry."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from musechat.contracts.features import FeatureMatrix

TagVocabulary = Literal["MTT", "MSD"]

# Stable error codes: the media codes (musechat.media.errors) plus request-level ones.
EncodeErrorCode = Literal[
    "not_found",
    "empty_file",
    "unsupported_format",
    "corrupt",
    "no_audio_stream",
    "no_video_stream",
    "too_long",
    "too_short",
    "silent",
    "invalid_request",
    "path_not_allowed",
    "too_large",
    "internal",
]


class TagScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Tag as the MusiCNN vocabulary spells it, e.g. 'guitar', 'male vocalists'.")
    score: float = Field(ge=0.0, le=1.0, description="Tag probability averaged over the whole track.")
    vocabulary: TagVocabulary = Field(description="MTT = MagnaTagATune tagger, MSD = Million Song Dataset.")


class MusicEncoding(BaseModel):
    features: FeatureMatrix = Field(description="[num_segments, feature_dim] float16 per-segment features.")
    num_segments: int = Field(ge=1, le=12)
    duration_s: float = Field(gt=0, description="Real duration of the decoded audio (before any padding).")
    tags: list[TagScore] = Field(description="Top tags of both vocabularies, merged, highest score first.")
    feature_model: str = Field(description="Version of the feature extractor, e.g. 'ast=<id>@<sha8>;...'.")
    feature_dim: int = Field(ge=1)

    @model_validator(mode="after")
    def _check_shape(self) -> MusicEncoding:
        if tuple(self.features.shape) != (self.num_segments, self.feature_dim):
            raise ValueError(
                f"features shape {self.features.shape} != [num_segments={self.num_segments}, "
                f"feature_dim={self.feature_dim}]"
            )
        return self


class EncodeError(BaseModel):
    code: EncodeErrorCode
    message: str


class MusicEncodeResult(BaseModel):
    ok: bool
    encoding: MusicEncoding | None = None
    error: EncodeError | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> MusicEncodeResult:
        if self.ok != (self.encoding is not None) or self.ok == (self.error is not None):
            raise ValueError("ok results carry an encoding and no error, failed ones an error only")
        return self


class MusicEncodeRequest(BaseModel):
    """Exactly one source: `path` (a file the encoder can read, inside its allowed roots) or `audio_b64`."""

    path: str | None = Field(default=None, description="Server-side path, e.g. on a shared catalog volume.")
    audio_b64: str | None = Field(default=None, description="The file's bytes, base64-encoded.")
    filename: str | None = Field(default=None, description="Original file name, used in error messages.")

    @model_validator(mode="after")
    def _exactly_one_source(self) -> MusicEncodeRequest:
        if (self.path is None) == (self.audio_b64 is None):
            raise ValueError("give exactly one of `path` or `audio_b64`")
        return self
