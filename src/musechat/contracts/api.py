"""Public REST API (gateway, /v1) request and response bodies."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from musechat.contracts.catalog import TrackCard, TrackId, TrackMetadata
from musechat.contracts.request import UnderstoodRequest

MAX_TURN_TEXT = 500
# Checked at the door (422): an empty id or one the engine cannot encode (a lone surrogate) must never
# reach a micro-batch shared with other callers' turns.
VideoId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a stable machine code and a message that says what to fix."""

    error: str = Field(description="Stable code, e.g. video_not_found, unsupported_media_type.")
    message: str


class TrackSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: TrackMetadata
    audio_path: str = Field(description="Path on the catalog volume that the catalog worker reads.")


class TrackBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracks: list[TrackSubmission] = Field(min_length=1, max_length=1000)


class SubmissionAccepted(BaseModel):
    batch_id: str
    track_ids: list[str]


class VideoStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class VideoFromPath(BaseModel):
    """Batch use: a video already on the media volume the video worker reads."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1)


class VideoState(BaseModel):
    video_id: str
    status: VideoStatus
    reason: str | None = Field(default=None, description="Why encoding failed, when status is failed.")
    duration_s: float | None = None
    num_segments: int | None = None


class TrackFilters(BaseModel):
    """Hard constraints; words in a turn can add to them ("no vocals", "under a minute")."""

    model_config = ConfigDict(extra="forbid")

    include_tags: list[str] = Field(default_factory=list, description="Every track must carry all of these.")
    exclude_tags: list[str] = Field(default_factory=list, description="No track may carry any of these.")
    vocals: bool | None = Field(default=None, description="False: instrumental tracks only (no vocal tag); "
                                "True: tracks with vocals only; unset: either.")
    licences: list[str] = Field(default_factory=list, description="Allowed licences; empty = any.")
    min_duration_s: float | None = Field(default=None, ge=0)
    max_duration_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _range(self) -> TrackFilters:
        if (self.min_duration_s is not None and self.max_duration_s is not None
                and self.min_duration_s > self.max_duration_s):
            raise ValueError("min_duration_s must not exceed max_duration_s")
        return self


class RecommendedTrack(TrackCard):
    tags: list[str]
    score: float = Field(description="Cosine similarity of the fused query and the track vector.")


class Explanation(BaseModel):
    text: str | None = Field(description="Why the top track fits; None while it streams (see `stream`) or when "
                             "there was nothing to explain.")
    grounded: bool = False
    fallback: bool = Field(default=False, description="True when a deterministic template replaced the LLM.")
    reason: str | None = Field(default=None, description="Why there is no (LLM) explanation, if so.")
    stream: str | None = Field(default=None, description="GET this path for the explanation: server-sent events "
                               "(`delta`, `reset`, one authoritative `final`), or JSON with Accept: application/json.")


class StartConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    video_id: VideoId
    filters: TrackFilters = Field(default_factory=TrackFilters)
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TURN_TEXT,
                             description="Optional words with the video (\"calm piano, no vocals\"), read like a "
                             "turn's: the first pick follows them too.")
    limit: int = Field(default=5, ge=1, le=50)
    explain: bool = False


class TurnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TURN_TEXT, description="The user's words about the last pick.")
    state: str = Field(description="The `state` token of the previous response, echoed back.")
    limit: int = Field(default=5, ge=1, le=50)
    explain: bool = False


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track_id: TrackId
    verdict: Literal["accept", "reject"]
    state: str


class TurnResponse(BaseModel):
    conversation_id: str
    turn: int = Field(ge=1)
    tracks: list[RecommendedTrack]
    applied_filters: TrackFilters = Field(description="Request filters merged with those parsed from the words.")
    understood: UnderstoodRequest | None = Field(
        default=None, description="How the words were read: the conversation's standing request after this turn "
        "(hard parts are `applied_filters`, the rest steers the ranking); `replaces`/`lifted` say what changed.")
    explanation: Explanation | None = None
    state: str = Field(description="Opaque signed conversation state: send it with the next turn or feedback.")
    model_version: str = Field(description="Fusion model that ranked this turn (its query tower "
                               "and the index it searched); `musechat model list` shows its lineage.")
    shortfall: str | None = Field(
        default=None, description="Why fewer tracks than `limit` came back, when the ranker can say (on the "
        "facts-only path: how many of the catalog's tracks each refusal and the already-suggested list removed, "
        "e.g. every track scores as electronic under \"no electronic\"); null when the list is full.")


class FeedbackAccepted(BaseModel):
    conversation_id: str
    state: str
