"""Catalog contracts: track metadata, the catalog pipeline's Kafka payloads and the `tracks` point payload."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

from musechat.contracts.features import FeatureMatrix
from musechat.contracts.music import MusicEncoding, TagScore, TrackFacts

TrackId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
]
TRACKS_COLLECTION = "tracks"
MUSIC_VECTOR = "music"
# Per-segment music features, one point per track under the track's id: read by id only (the ranker's
# candidate, re-index, training sets), so they stay out of the hot `tracks` payload. Not aliased: they
# depend on the music encoder, not on the fusion model, so a blue/green re-index never rewrites them.
TRACK_FEATURES_COLLECTION = "track_features"
# MusiCNN vocabularies (MTT + MSD) spell vocals several ways; a track tagged with any of them has vocals.
VOCAL_TAGS = ("vocals", "vocal", "male vocal", "female vocal", "male vocals", "female vocals", "male voice",
              "female voice", "singing", "singer", "voice", "woman", "man", "male vocalists",
              "female vocalists", "choir", "choral", "opera")


def has_vocals(tags: Iterable[str]) -> bool:
    return not set(VOCAL_TAGS).isdisjoint(tags)


class TrackMetadata(BaseModel):
    """What a catalog owner tells us about a track; the rest (tags, features) we compute."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    track_id: TrackId
    title: str = Field(min_length=1, max_length=300)
    artist: str = Field(min_length=1, max_length=300)
    album: str | None = Field(default=None, max_length=300)
    licence: str | None = Field(default=None, max_length=100, description="e.g. CC-BY-4.0, royalty-free")
    genre: str | None = Field(default=None, max_length=100, description="As the file's own tags say, if any.")


class TrackSubmitted(BaseModel):
    """Payload of musechat.catalog.track-submitted.v1: one track to encode and index."""

    model_config = ConfigDict(extra="forbid")

    track: TrackMetadata
    audio_path: str = Field(description="Path readable by the catalog worker (shared volume or object mount).")
    content_sha256: str | None = Field(
        default=None, description="Hash of the audio bytes at submission; None when the file was unreadable."
    )
    batch_id: str = Field(description="Ingestion run this submission belongs to (for progress and summaries).")


class TrackEncoded(BaseModel):
    """Payload of musechat.catalog.track-encoded.v1: features and tags ready to index."""

    model_config = ConfigDict(extra="forbid")

    track: TrackMetadata
    encoding: MusicEncoding
    content_sha256: str | None = None
    batch_id: str


class IndexOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class TrackIndexed(BaseModel):
    """Payload of musechat.catalog.track-indexed.v1: the track is searchable in `collection`."""

    model_config = ConfigDict(extra="forbid")

    track_id: TrackId
    outcome: IndexOutcome
    collection: str
    index_model: str
    batch_id: str


class ModelPublished(BaseModel):
    """Payload of musechat.model.published.v1: a fusion checkpoint ready to serve; the indexer re-indexes
    the catalog with its music tower into a fresh collection and flips the `tracks` alias."""

    model_config = ConfigDict(extra="forbid")

    checkpoint: str = Field(description="Checkpoint dir on the shared model volume.")
    version: str


class TrackCard(BaseModel):
    """What a listener is shown of a track: the fields the stored payload and a turn's answer share (one
    definition, so the answer can never drift from what the store holds)."""

    track_id: TrackId
    title: str
    artist: str
    album: str | None = None
    licence: str | None = None
    duration_s: float


class TrackPayload(TrackCard):
    """The payload stored with each point of the `tracks` collection."""

    model_config = ConfigDict(extra="forbid")

    tags: list[str] = Field(description="Tag names (MTT + MSD vocabularies), for filters and explanations.")
    # Derived from `tags` at index time and indexed: the "no vocals" filter is one bool check per point,
    # where excluding 18 vocal tags cost the engine 5x the search (docs/benchmarks/turn_latency.md).
    vocals: bool = Field(description="Calibrated vocals probability >= 0.5 (tracks without facts: any VOCAL_TAGS tag).")
    genre: str | None = None
    attributes: list[str] = Field(
        default_factory=list,
        description="Attributes (musechat.catalog.facts.ATTRIBUTES) with calibrated probability >= 0.5, indexed.",
    )
    facts: TrackFacts | None = Field(default=None, description="Measured music facts (tempo, scores, groups).")
    tag_scores: list[TagScore]
    features: FeatureMatrix | None = Field(
        default=None, description="Stores indexed before the payload diet only: per-segment features now live "
        "in the `track_features` collection (`TrackFeaturesPayload`); never written, never dumped when None.")
    feature_model: str
    index_model: str
    content_sha256: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _derive_vocals(cls, data: Any) -> Any:
        if isinstance(data, dict) and "vocals" not in data and isinstance(data.get("tags"), list):
            return {**data, "vocals": has_vocals(data["tags"])}
        return data

    @model_serializer(mode="wrap")
    def _without_absent_features(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("features", 0) is None:
            del data["features"]
        return data


class TrackFeaturesPayload(BaseModel):
    """The payload of a `track_features` point (same id as the track): its per-segment music features,
    reused as the fusion candidate, the re-index input and the training sets' music."""

    model_config = ConfigDict(extra="forbid")

    track_id: TrackId
    features: FeatureMatrix = Field(description="[segments, feature_dim] float16 per-segment features.")
    feature_model: str
    content_sha256: str | None = None


def submission_event_id(submission: TrackSubmitted) -> str:
    """Deterministic per ingestion run: a producer retry inside one run is deduped by consumers, while a
    later run is processed again and the indexer reports the track `unchanged`."""
    digest = hashlib.sha256(
        "|".join((submission.batch_id, submission.track.track_id, submission.audio_path)).encode()
    ).hexdigest()
    return f"track-submitted:{digest[:32]}"
