"""Music-encoder contracts: the request, the per-item result, and the encoding that catalog events carry."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from musechat.contracts.features import FeatureMatrix
from musechat.media.errors import MediaErrorCode

TagVocabulary = Literal["MTT", "MSD"]

# Stable error codes: the media codes (one list, in musechat.media.errors) plus request-level ones.
EncodeErrorCode = Literal[MediaErrorCode, "invalid_request", "path_not_allowed", "internal"]


class TagScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Tag as the MusiCNN vocabulary spells it, e.g. 'guitar', 'male vocalists'.")
    score: float = Field(ge=0.0, le=1.0, description="Tag probability averaged over the whole track.")
    vocabulary: TagVocabulary = Field(description="MTT = MagnaTagATune tagger, MSD = Million Song Dataset.")


FACTS_VERSION = 1


class TrackFacts(BaseModel):
    """What was measured on a track's audio at ingestion, kept in its `tracks` payload (`facts`).

    Scores, never bare names: consumers decide with `musechat.catalog.facts.attribute_present`, which
    turns these scores into calibrated probabilities with per-tag thresholds fitted on real music.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(default=FACTS_VERSION, description="Bumped when a measurement changes meaning.")
    tempo_bpm: float | None = Field(
        ge=20.0, le=320.0, description="Beats per minute from the beat tracker; None when no steady beat was found."
    )
    tempo_confidence: float = Field(ge=0.0, le=1.0, description="How steady and clear the beat is (0 = none).")
    loudness_db: float = Field(le=0.0, description="Gated RMS level of the whole track in dBFS (EBU R128-style gates).")
    duration_s: float = Field(gt=0)
    vocals_probability: float = Field(
        ge=0.0, le=1.0, description="Vocal against instrumental evidence of both MusiCNN vocabularies, calibrated."
    )
    tag_scores: dict[str, float] = Field(
        description="Every tag of both vocabularies, keyed 'mtt:<tag>' / 'msd:<tag>', mean probability over the track."
    )
    groups: dict[str, float] = Field(
        description="Instrument / genre / mood group (e.g. 'strings', 'electronic', 'calm') -> calibrated probability."
    )


class MusicEncoding(BaseModel):
    features: FeatureMatrix = Field(description="[num_segments, feature_dim] float16 per-segment features.")
    num_segments: int = Field(ge=1, le=12)
    duration_s: float = Field(gt=0, description="Real duration of the decoded audio (before any padding).")
    tags: list[TagScore] = Field(description="Top tags of both vocabularies, merged, highest score first.")
    feature_model: str = Field(description="Version of the feature extractor, e.g. 'ast=<id>@<sha8>;...'.")
    feature_dim: int = Field(ge=1)
    facts: TrackFacts | None = Field(default=None, description="Measured music facts (None from older encoders).")
    embedded_tags: dict[str, str] = Field(
        default_factory=dict, description="Title/artist/album/genre the file itself carries (container metadata)."
    )

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
