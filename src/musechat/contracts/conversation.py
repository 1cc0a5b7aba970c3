"""Video-pipeline and conversation contracts: Kafka payloads and the `videos` point payload."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from musechat.contracts.api import TrackFilters, VideoStatus
from musechat.contracts.features import FeatureMatrix

VIDEOS_COLLECTION = "videos"
DEFAULT_TENANT = "default"  # the tenant of API keys, videos and conversations that name none
VISUAL_VECTOR = "visual"


class VideoSubmitted(BaseModel):
    """Payload of musechat.video.submitted.v1."""

    model_config = ConfigDict(extra="forbid")

    video_id: str
    path: str = Field(description="Where the video worker reads the file (upload spool or media volume).")


class VideoEncoded(BaseModel):
    """Payload of musechat.video.encoded.v1: features, or the reason the video cannot be used."""

    model_config = ConfigDict(extra="forbid")

    video_id: str
    status: Literal[VideoStatus.READY, VideoStatus.FAILED]
    features: FeatureMatrix | None = Field(default=None, description="[segments, dim] pooled CLIP features.")
    duration_s: float | None = None
    feature_model: str | None = None
    reason: str | None = None


class VideoPayload(BaseModel):
    """The payload of a point in the `videos` collection (status record + features when ready)."""

    model_config = ConfigDict(extra="forbid")

    video_id: str
    status: VideoStatus
    reason: str | None = None
    duration_s: float | None = None
    num_segments: int | None = None
    features: FeatureMatrix | None = None
    feature_model: str | None = None
    updated_at: datetime
    tenant: str | None = Field(default=None, description="The tenant whose key submitted the video; only "
                               "that tenant's keys see it (None: written before tenants, the default tenant).")
    source_path: str | None = Field(default=None, description="The file the video was read from (an upload "
                                    "is deleted with the video).")
    deleted_at: datetime | None = Field(default=None, description="Set by DELETE: a tombstone, unknown to all.")


class ConversationTurn(BaseModel):
    """Payload of musechat.conversation.turn.v1: the durable log of every turn (and training data)."""

    model_config = ConfigDict(extra="forbid")

    conversation_id: str
    turn: int = Field(ge=1)
    video_id: str
    text: str | None = Field(default=None, description="The user's words; None on turn 1.")
    candidate_track_id: str | None = Field(default=None, description="The track the words answer.")
    excluded_track_ids: list[str] = Field(default_factory=list)
    filters: TrackFilters
    recommended_track_ids: list[str]
    scores: list[float]
    model_version: str


class FeedbackGiven(BaseModel):
    """Payload of musechat.conversation.feedback.v1."""

    model_config = ConfigDict(extra="forbid")

    conversation_id: str
    turn: int
    video_id: str
    track_id: str
    verdict: Literal["accept", "reject"]
