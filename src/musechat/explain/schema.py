"""HTTP bodies of the explainer service, and their mapping to the pure core (no I/O here).

`ExplanationOut` is a superset of the gateway's `musechat.contracts.api.Explanation`
(text, grounded, fallback, reason), so the gateway can copy those fields straight through.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from musechat.contracts.features import FeatureMatrix
from musechat.explain.data import TrackMeta, Turn
from musechat.explain.explainer import ExplainRequest, Explanation, ExplanationEvent
from musechat.explain.facts import VideoFacts

MAX_WORDS_CHARS = 2000


class ExplainTrack(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track_id: str = ""
    title: str = Field(min_length=1, max_length=500)
    artist: str = Field(min_length=1, max_length=500)
    album: str = Field("", max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=100,
                            description="Tags the track has (above their thresholds), best first.")
    tempo_bpm: float | None = Field(None, ge=20, le=320, description="Measured tempo; None when not measured.")
    vocals: bool | None = Field(None, description="Measured vocals verdict; None: from the tags, if any.")
    duration_s: float | None = Field(None, gt=0)

    def to_meta(self) -> TrackMeta:
        return TrackMeta(title=self.title, artist=self.artist, album=self.album, tags=tuple(self.tags),
                         track_id=self.track_id, tempo_bpm=self.tempo_bpm, vocals=self.vocals,
                         duration_s=self.duration_s)


class ExplainVideo(BaseModel):
    """Measured on the video's decoded frames (`musechat.explain.facts.video_facts`)."""

    model_config = ConfigDict(extra="forbid")

    cuts_per_min: float = Field(ge=0)
    motion: float = Field(ge=0, le=1)
    brightness: float = Field(ge=0, le=1)
    warmth: float = Field(ge=-1, le=1)
    saturation: float = Field(ge=0, le=1)


class ExplainTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    text: str = Field(max_length=MAX_WORDS_CHARS)


class ExplainBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: ExplainTrack
    user_words: str = Field("", max_length=MAX_WORDS_CHARS)
    history: list[ExplainTurn] = Field(default_factory=list, max_length=50)
    music_features: FeatureMatrix | None = Field(
        None, description="The track's per-segment music features; used when the music token is enabled."
    )
    adapter: str | None = Field(None, description="LoRA adapter (vLLM model name); default: the service's.")
    other_titles: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Extra titles the text must not name (e.g. the rest of the result list).",
    )
    previous: ExplainTrack | None = Field(None, description="The pick this one replaces (the previous turn's).")
    video: ExplainVideo | None = Field(None, description="Measured properties of the video, when known.")


class ExplanationOut(BaseModel):
    text: str | None = Field(description="The explanation: the LLM's when it passed the grounding check, else "
                             "the template's (fallback); None only when there was nothing to explain.")
    grounded: bool
    fallback: bool = Field(description="True when a deterministic template replaced the LLM's text.")
    reason: str | None = None
    attempts: int
    problems: list[str] = Field(default_factory=list, description="Grounding problems of the last attempt.")
    adapter: str | None = None
    music_token: bool = False
    latency_ms: float


class ExplanationStreamEvent(BaseModel):
    kind: Literal["delta", "reset", "final"]
    text: str = ""
    result: ExplanationOut | None = None


class LoadAdapterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    path: str = Field(min_length=1, description="Adapter directory, readable by this service and the LLM server.")


def to_request(body: ExplainBody) -> ExplainRequest:
    return ExplainRequest(
        track=body.track.to_meta(),
        previous=None if body.previous is None else body.previous.to_meta(),
        video=None if body.video is None else VideoFacts(**body.video.model_dump()),
        user_words=body.user_words,
        history=tuple(Turn(t.role, t.text) for t in body.history),
        music_features=None if body.music_features is None else body.music_features.to_array(),
        adapter=body.adapter,
        other_titles=tuple(body.other_titles),
    )


def to_out(result: Explanation) -> ExplanationOut:
    return ExplanationOut(
        text=result.text,
        grounded=result.grounded,
        fallback=result.fallback,
        reason=result.reason,
        attempts=result.attempts,
        problems=list(result.problems),
        adapter=result.adapter,
        music_token=result.music_token,
        latency_ms=round(result.latency_s * 1000, 1),
    )


def to_event(event: ExplanationEvent) -> ExplanationStreamEvent:
    return ExplanationStreamEvent(
        kind=event.kind, text=event.text, result=None if event.result is None else to_out(event.result)
    )
