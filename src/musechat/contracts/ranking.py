"""fusion-ranker contracts: one ranking request per conversation turn."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from musechat.contracts.api import RecommendedTrack, TrackFilters
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.request import UnderstoodRequest


class RankRequest(BaseModel):
    """Turn 1: video only. Turn N: video + the previous top track (candidate) + the user's words. Words
    without a candidate (turn 1 found nothing, or a client that starts with words) are ranked too: the
    model reads an absent candidate as an all-False mask row, exactly as on turn 1."""

    model_config = ConfigDict(extra="forbid")

    video_id: str
    candidate_track_id: str | None = None
    text_tokens: FeatureMatrix | None = Field(default=None, description="[length, dim] text token features.")
    exclude_track_ids: list[str] = Field(default_factory=list, description="Never return these (rejected, shown).")
    filters: TrackFilters = Field(default_factory=TrackFilters)
    limit: int = Field(default=5, ge=1, le=50)
    understood: UnderstoodRequest | None = Field(
        default=None, description="The typed request: its soft part re-ranks the nearest tracks "
        "(directions, vocals wanted, more/less of an instrument, genre or mood); its hard part is `filters`.")


class RankResponse(BaseModel):
    tracks: list[RecommendedTrack]
    model_version: str = Field(description="Fusion checkpoint that built the query.")
    index_collection: str = Field(description="Physical collection behind the `tracks` alias that answered.")
    shortfall: str | None = Field(default=None, description="Why fewer tracks than asked came back, when the "
                                  "ranker can say (the facts-only ranker: how many tracks each refusal removed).")


class RankError(BaseModel):
    status: int = Field(description="The HTTP status the gateway should answer with (404, 409, 422).")
    code: str
    message: str


class RankResult(BaseModel):
    """The fusion-ranker's answer: a ranking, or a caller-fixable error (unknown video, still pending)."""

    ok: bool
    response: RankResponse | None = None
    error: RankError | None = None
