"""Plain data the explainer works on: track metadata, conversation turns, training examples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str


@dataclass(frozen=True)
class TrackMeta:
    """Catalog metadata of the recommended track. Title and artist come from here, never from a model."""

    title: str
    artist: str
    album: str = ""
    tags: tuple[str, ...] = ()
    track_id: str = ""

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("track title is empty")
        if not self.artist.strip():
            raise ValueError("track artist is empty")


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

    def __post_init__(self) -> None:
        if self.music_features.ndim != 2 or self.music_features.shape[0] == 0:
            raise ValueError(
                f"music_features must be a non-empty [segments, dim] array, got shape {self.music_features.shape}"
            )

    @property
    def track(self) -> TrackMeta:
        return TrackMeta(title=self.title, artist=self.artist, album=self.album, tags=self.tags)
