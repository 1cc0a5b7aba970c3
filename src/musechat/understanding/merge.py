"""A conversation's standing request: the previous one with this turn's words merged in (replace, never
only tighten), and what it means for the store (hard filters) and the ranker (soft signals).

Replace semantics, per attribute: a later statement about an attribute replaces the earlier one
("under a minute" after "longer than 2 minutes" drops the 2-minute floor, which could no longer hold);
a lift releases it ("vocals are fine now"); an attribute the turn does not mention keeps its persistent
value (vocals, removals, BPM range, durations, licences) and drops its turn-scoped one (faster, more X).
So the merged request is always satisfiable as a filter: the old "filters only tighten" merge made
min > max a validation error, an HTTP 500 on that turn and every later one.
"""

from __future__ import annotations

from typing import Any

from musechat.contracts.api import TrackFilters
from musechat.contracts.request import Change, TempoRequest, UnderstoodRequest

_CHANGE_KINDS = (("instrument", "instruments"), ("genre", "genres"), ("mood", "moods"))


def _persistent(changes: dict[str, Change]) -> dict[str, Change]:
    return {name: change for name, change in changes.items() if change.direction == "none"}


def _merge_changes(kind: str, old: dict[str, Change], new: dict[str, Change], lifted: set[str],
                   replaced: list[str]) -> dict[str, Change]:
    merged = {name: change for name, change in _persistent(old).items() if f"{kind}.{name}" not in lifted}
    for name, change in new.items():
        if name in merged and merged[name] != change:
            replaced.append(f"{kind}.{name}")
        merged[name] = change
    return merged


def _merge_duration(old: UnderstoodRequest, new: UnderstoodRequest, lifted: set[str],
                    replaced: list[str]) -> tuple[float | None, float | None]:
    if "duration" in lifted:
        old = old.model_copy(update={"min_duration_s": None, "max_duration_s": None})
    low = new.min_duration_s if new.min_duration_s is not None else old.min_duration_s
    high = new.max_duration_s if new.max_duration_s is not None else old.max_duration_s
    if low is not None and high is not None and low > high:  # the newer bound wins; the older one goes
        if new.max_duration_s is not None and new.min_duration_s is None:
            low = None
        else:
            high = None
    if ((old.min_duration_s is not None and low != old.min_duration_s)
            or (old.max_duration_s is not None and high != old.max_duration_s)):
        replaced.append("duration")
    return low, high


def _merge_tempo(old: TempoRequest | None, new: TempoRequest | None, lifted: set[str],
                 replaced: list[str]) -> TempoRequest | None:
    kept_low = old.min_bpm if old is not None and "tempo" not in lifted else None
    kept_high = old.max_bpm if old is not None and "tempo" not in lifted else None
    if new is not None and (new.min_bpm is not None or new.max_bpm is not None):
        if (kept_low, kept_high) != (None, None):
            replaced.append("tempo")
        kept_low, kept_high = new.min_bpm, new.max_bpm
    merged = TempoRequest(direction=new.direction if new else None, intensity=new.intensity if new else "normal",
                          min_bpm=kept_low, max_bpm=kept_high)
    return None if merged.is_empty() else merged


def removes(request: UnderstoodRequest, key: str) -> bool:
    """Whether the standing request removes `key` ("vocals" off, an instrument/genre/mood "none")."""
    if key == "vocals":
        return request.vocals == "off"
    kind, _, name = key.partition(".")
    attr = dict(_CHANGE_KINDS).get(kind)
    change = getattr(request, attr).get(name) if attr else None
    return change is not None and change.direction == "none"


def asked_again(request: UnderstoodRequest, keys: list[str]) -> UnderstoodRequest:
    """`request` asking for each of `keys` (vocals, an instrument, genre or mood) rather than lifting it: "bring
    back the piano" where nothing removed the piano wants it again."""
    changes: dict[str, dict[str, Change]] = {attr: dict(getattr(request, attr)) for _, attr in _CHANGE_KINDS}
    for key in keys:
        kind, _, name = key.partition(".")
        if (attr := dict(_CHANGE_KINDS).get(kind)) is not None:
            changes[attr][name] = Change(direction="more")
    return request.model_copy(update={**changes, "lifted": [key for key in request.lifted if key not in keys],
                                      "vocals": "on" if "vocals" in keys else request.vocals})


def merge(previous: UnderstoodRequest | None, current: UnderstoodRequest) -> UnderstoodRequest:
    """The standing request after this turn (see the module docstring for what persists)."""
    if previous is None:
        return current
    lifted = set(current.lifted)
    replaced: list[str] = []
    vocals = previous.vocals if "vocals" not in lifted else None
    required = previous.vocals_required and "vocals" not in lifted and current.vocals is None
    if current.vocals is not None:
        if vocals is not None and vocals != current.vocals:
            replaced.append("vocals")
        vocals = current.vocals
    changes = {attr: _merge_changes(kind, getattr(previous, attr), getattr(current, attr), lifted, replaced)
               for kind, attr in _CHANGE_KINDS}
    low, high = _merge_duration(previous, current, lifted, replaced)
    licences = previous.licences if "licence" not in lifted else []
    if current.licences:
        if licences and sorted(licences) != sorted(current.licences):
            replaced.append("licence")
        licences = current.licences
    return UnderstoodRequest(
        tempo=_merge_tempo(previous.tempo, current.tempo, lifted, replaced), vocals=vocals,
        vocals_required=required, **changes,
        duration_direction=current.duration_direction, min_duration_s=low, max_duration_s=high, licences=licences,
        include_tags=previous.include_tags,
        exclude_tags=previous.exclude_tags, something_else=current.something_else,
        replaces=sorted(set(replaced)), lifted=sorted(lifted))


# ------------------------------------------------------------------ the request as store filters
# Tag names (MusiCNN MTT + MSD, as payload `tags` spell them) that mean an instrument / genre / mood:
# the fallback for payloads without music facts, and the tags a removal excludes.
GROUP_TAGS: dict[str, tuple[str, ...]] = {
    "instrument.piano": ("piano", "harpsichord"),
    "instrument.strings": ("strings", "violin", "cello", "harp"),
    "instrument.guitar": ("guitar", "guitars", "acoustic guitar", "electric guitar"),
    "instrument.drums": ("drums", "drum", "beats"),
    "instrument.synth": ("synth", "synths", "synthesizer"),
    "instrument.flute": ("flute",),
    "instrument.sitar": ("sitar",),
    "instrument.choir": ("choir", "choral", "opera"),
    "genre.classical": ("classical", "classic", "harpsichord"),
    "genre.orchestral": ("orchestral", "classical", "strings", "violin", "cello"),
    "genre.electronic": ("electronic", "techno", "electronica", "electro", "house"),
    "genre.techno": ("techno",),
    "genre.dance": ("dance", "house"),
    "genre.rock": ("rock", "alternative rock", "classic rock", "hard rock", "indie rock", "progressive rock",
                   "punk"),
    "genre.metal": ("metal", "heavy metal"),
    "genre.pop": ("pop", "indie pop"),
    "genre.jazz": ("jazz",),
    "genre.blues": ("blues",),
    "genre.folk": ("folk",),
    "genre.country": ("country",),
    "genre.hiphop": ("hip-hop", "hip hop", "rnb"),
    "genre.funk": ("funk", "soul"),
    "genre.ambient": ("ambient", "new age", "chillout"),
    "genre.indian": ("indian", "sitar"),
    "mood.calm": ("soft", "quiet", "slow", "ambient", "new age", "mellow", "chill", "chillout", "easy listening"),
    "mood.energetic": ("fast", "loud", "party", "hard rock", "heavy metal"),
    "mood.happy": ("happy",),
    "mood.sad": ("sad",),
}


def from_filters(filters: TrackFilters) -> UnderstoodRequest:
    """The API's own filters (StartConversation.filters) as the conversation's first standing request."""
    return UnderstoodRequest(vocals=None if filters.vocals is None else ("on" if filters.vocals else "off"),
                             vocals_required=filters.vocals is True, min_duration_s=filters.min_duration_s,
                             max_duration_s=filters.max_duration_s,
                             licences=list(filters.licences), include_tags=list(filters.include_tags),
                             exclude_tags=list(filters.exclude_tags))


def to_filters(request: UnderstoodRequest) -> TrackFilters:
    """Hard constraints only: instrumental-only (vocals off; vocals only when the API's filters asked),
    removals ("no guitar" excludes every guitar tag), duration bounds, licences, and the API's tag filters.
    Vocals on/male/female asked in words and every direction stay soft: they steer the ranking
    (ranker.attributes) without emptying a small catalog."""
    exclude = list(request.exclude_tags)
    for kind, attr in _CHANGE_KINDS:
        for name, change in getattr(request, attr).items():
            if change.direction == "none":
                exclude.extend(GROUP_TAGS[f"{kind}.{name}"])
    return TrackFilters(include_tags=list(request.include_tags), exclude_tags=list(dict.fromkeys(exclude)),
                        vocals=False if request.vocals == "off" else (True if request.vocals_required else None),
                        licences=list(request.licences),
                        min_duration_s=request.min_duration_s, max_duration_s=request.max_duration_s)


# ------------------------------------------------------------------ a flat view (wording banks, tests)
def flatten(request: UnderstoodRequest) -> dict[str, Any]:
    """The request as the wording banks label it: {"tempo": "faster", "instrument.guitar": "none", ...};
    intensities only where not "normal"."""
    flat: dict[str, Any] = {}
    if request.tempo is not None:
        if request.tempo.direction is not None:
            flat["tempo"] = request.tempo.direction
            if request.tempo.intensity != "normal":
                flat["tempo.intensity"] = request.tempo.intensity
        if request.tempo.min_bpm is not None:
            flat["tempo.min_bpm"] = request.tempo.min_bpm
        if request.tempo.max_bpm is not None:
            flat["tempo.max_bpm"] = request.tempo.max_bpm
    if request.vocals is not None:
        flat["vocals"] = request.vocals
    for kind, attr in _CHANGE_KINDS:
        for name, change in getattr(request, attr).items():
            flat[f"{kind}.{name}"] = change.direction
            if change.intensity != "normal":
                flat[f"{kind}.{name}.intensity"] = change.intensity
    if request.duration_direction is not None:
        flat["duration"] = request.duration_direction
    if request.min_duration_s is not None:
        flat["duration.min_s"] = request.min_duration_s
    if request.max_duration_s is not None:
        flat["duration.max_s"] = request.max_duration_s
    if request.licences:
        flat["licences"] = sorted(request.licences)
    if request.lifted:
        flat["lifted"] = sorted(request.lifted)
    if request.something_else:
        flat["something_else"] = True
    return flat
