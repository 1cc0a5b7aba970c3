"""Plain data the explainer works on: track metadata, conversation turns, training examples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from musechat.explain.facts import VideoFacts

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str


# Tempo classes. The demo world's bands are ~70 / ~110 / ~150 bpm; real music's "fast" starts near 120.
FAST_BPM = 120.0
SLOW_BPM = 95.0
TempoClass = Literal["fast", "moderate", "slow"]
VOCAL_TAGS = frozenset({"vocal", "vocals", "singing", "voice", "male", "female", "man", "woman", "male vocal",
                        "female vocal", "male voice", "female voice", "male vocalists", "female vocalists",
                        "female vocalist", "choir", "choral", "opera"})  # fmt: skip
NO_VOCAL_TAGS = frozenset({"no vocals", "no vocal", "no voice", "instrumental"})


def tempo_class(bpm: float) -> TempoClass:
    return "fast" if bpm >= FAST_BPM else "slow" if bpm < SLOW_BPM else "moderate"


def _norm(tag: str) -> str:
    return " ".join(tag.replace("-", " ").strip().lower().split())


@dataclass(frozen=True)
class TrackMeta:
    """Catalog metadata and measured facts of a track. Title and artist come from here, never from a
    model; `tags` are only those the track has (above its calibrated threshold), best first; a fact that
    was not measured is None and may not be claimed."""

    title: str
    artist: str
    album: str = ""
    tags: tuple[str, ...] = ()
    track_id: str = ""
    tempo_bpm: float | None = None
    vocals: bool | None = None
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("track title is empty")
        if not self.artist.strip():
            raise ValueError("track artist is empty")

    @property
    def norm_tags(self) -> tuple[str, ...]:
        return tuple(_norm(t) for t in self.tags)

    @property
    def tempo(self) -> TempoClass | None:
        """From the measured bpm; else from a "fast" or "slow" tag; else unknown."""
        if self.tempo_bpm is not None:
            return tempo_class(self.tempo_bpm)
        tags = set(self.norm_tags)
        if "fast" in tags and "slow" not in tags:
            return "fast"
        if "slow" in tags and "fast" not in tags:
            return "slow"
        return None

    @property
    def has_vocals(self) -> bool | None:
        if self.vocals is not None:
            return self.vocals
        tags = set(self.norm_tags)
        if tags & NO_VOCAL_TAGS:
            return False
        if tags & VOCAL_TAGS:
            return True
        return None


@dataclass(frozen=True)
class ExplanationExample:
    """One (music features, metadata, words) → explanation pair for training and evaluation."""

    music_features: np.ndarray  # [segments, feature_dim]
    title: str
    artist: str
    album: str
    tags: tuple[str, ...]
    user_words: str
    history: tuple[Turn, ...] = field(default=())
    reference: str = ""
    tempo_bpm: float | None = None
    vocals: bool | None = None
    duration_s: float | None = None
    previous: TrackMeta | None = None
    video: VideoFacts | None = None

    def __post_init__(self) -> None:
        if self.music_features.ndim != 2 or self.music_features.shape[0] == 0:
            raise ValueError(
                f"music_features must be a non-empty [segments, dim] array, got shape {self.music_features.shape}"
            )

    @property
    def track(self) -> TrackMeta:
        return TrackMeta(title=self.title, artist=self.artist, album=self.album, tags=self.tags,
                         tempo_bpm=self.tempo_bpm, vocals=self.vocals, duration_s=self.duration_s)
