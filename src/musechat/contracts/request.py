"""What the user's words asked for, typed: the request-understanding component's output.

One `UnderstoodRequest` is the conversation's whole standing request after a turn (the previous one with
this turn's words merged in), so a platform can show how the words were read and the gateway derives the
store filters (hard constraints) and the ranking signals (soft preferences) from one object.

Attributes are named by one key each (`attribute_keys`): "tempo", "vocals", "duration", "licence",
"instrument.<name>", "genre.<name>", "mood.<name>". `replaces` and `lifted` use those keys.

What persists across turns and what is turn-scoped:
- persistent until replaced or lifted: vocals, an instrument/genre/mood "none" (a removal), the BPM range,
  duration bounds, licences, and the API's own tag filters;
- turn-scoped (relative to the previous pick): tempo faster/slower, a shorter/longer track, more/less of an
  instrument, genre or mood, and "something else".
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Intensity = Literal["slight", "normal", "strong"]
TempoDirection = Literal["faster", "slower"]
DurationDirection = Literal["shorter", "longer"]
VocalsChoice = Literal["on", "off", "male", "female"]
Amount = Literal["more", "less", "none"]

# The vocabularies (MusiCNN MTT + MSD tag groups, as the catalog's music facts name them).
INSTRUMENTS: tuple[str, ...] = ("piano", "strings", "guitar", "drums", "synth", "flute", "sitar", "choir")
GENRES: tuple[str, ...] = ("classical", "orchestral", "electronic", "techno", "dance", "rock", "metal", "pop",
                           "jazz", "blues", "folk", "country", "hiphop", "funk", "ambient", "indian")
MOODS: tuple[str, ...] = ("calm", "energetic", "happy", "sad")
LICENCES: tuple[str, ...] = ("CC0-1.0", "CC-BY-4.0", "royalty-free")


class Change(BaseModel):
    """More or less of something than the previous pick had, or none of it at all (a hard removal)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    direction: Amount
    intensity: Intensity = "normal"


class TempoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    direction: TempoDirection | None = Field(default=None, description="Relative to the previous pick.")
    intensity: Intensity = "normal"
    min_bpm: float | None = Field(default=None, ge=20, le=320)
    max_bpm: float | None = Field(default=None, ge=20, le=320)

    @model_validator(mode="after")
    def _range(self) -> TempoRequest:
        if self.min_bpm is not None and self.max_bpm is not None and self.min_bpm > self.max_bpm:
            raise ValueError("min_bpm must not exceed max_bpm")
        return self

    def is_empty(self) -> bool:
        return self.direction is None and self.min_bpm is None and self.max_bpm is None


class UnderstoodRequest(BaseModel):
    """The typed request: per attribute a direction or a target, plus what this turn replaced or lifted."""

    model_config = ConfigDict(extra="forbid")

    tempo: TempoRequest | None = None
    vocals: VocalsChoice | None = Field(default=None, description="on: any vocals; off: instrumental only.")
    vocals_required: bool = Field(default=False, description="True when vocals 'on' is a filter (the API's "
                                  "`filters.vocals`), not a preference; words about vocals replace it.")
    instruments: dict[str, Change] = Field(default_factory=dict, description=f"Keys: {', '.join(INSTRUMENTS)}.")
    genres: dict[str, Change] = Field(default_factory=dict, description=f"Keys: {', '.join(GENRES)}.")
    moods: dict[str, Change] = Field(default_factory=dict, description=f"Keys: {', '.join(MOODS)}.")
    duration_direction: DurationDirection | None = Field(
        default=None, description="A shorter or longer track than the previous pick (a ranking signal).")
    min_duration_s: float | None = Field(default=None, ge=0)
    max_duration_s: float | None = Field(default=None, gt=0)
    licences: list[str] = Field(default_factory=list, description="Allowed licences; empty = any.")
    include_tags: list[str] = Field(default_factory=list, description="Tag filters given through the API.")
    exclude_tags: list[str] = Field(default_factory=list, description="Tag filters given through the API.")
    something_else: bool = Field(default=False, description="A vague ask for a different pick.")
    replaces: list[str] = Field(default_factory=list,
                                description="Attributes whose earlier value this turn's words replaced.")
    lifted: list[str] = Field(default_factory=list,
                              description="Attributes whose earlier constraint this turn's words released.")

    @model_validator(mode="after")
    def _check(self) -> UnderstoodRequest:
        for name, known, given in (("instrument", INSTRUMENTS, self.instruments), ("genre", GENRES, self.genres),
                                   ("mood", MOODS, self.moods)):
            unknown = sorted(set(given) - set(known))
            if unknown:
                raise ValueError(f"unknown {name} {unknown}; known: {', '.join(known)}")
        if (self.min_duration_s is not None and self.max_duration_s is not None
                and self.min_duration_s > self.max_duration_s):
            raise ValueError("min_duration_s must not exceed max_duration_s")
        return self

    def attribute_keys(self) -> list[str]:
        """The attributes this request says something about (lifts excluded)."""
        keys = []
        if self.tempo is not None and not self.tempo.is_empty():
            keys.append("tempo")
        if self.vocals is not None:
            keys.append("vocals")
        for prefix, changes in (("instrument", self.instruments), ("genre", self.genres), ("mood", self.moods)):
            keys.extend(f"{prefix}.{name}" for name in changes)
        if self.min_duration_s is not None or self.max_duration_s is not None or self.duration_direction:
            keys.append("duration")
        if self.licences:
            keys.append("licence")
        return keys


class RequestConflict(BaseModel):
    """Why one utterance cannot be read: two parts of it ask opposite things of one attribute."""

    attribute: str
    first: str = Field(description="The first reading, e.g. 'faster'.")
    second: str = Field(description="The reading that contradicts it, e.g. 'slower'.")


class ParseRequest(BaseModel):
    """`musechat request parse` input, also usable as an HTTP body."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=500)
    previous: UnderstoodRequest | None = None
