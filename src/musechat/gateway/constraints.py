"""Hard constraints stated in words become filters; soft preferences stay with the learned fusion model.

"no vocals", "instrumental", "without singing" → instrumental tracks only (`vocals=False`: no vocal
tag, matched on the flag the indexer derives from the tags); "under a minute" /
"shorter than 90 seconds" / "at most 2 minutes" → max duration; "longer than 30 s" → min duration;
"no drums" / "without piano" → exclude that instrument's tags. Negations of vocals win over mentions.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from musechat.contracts.api import TrackFilters

INSTRUMENT_TAGS = {
    "drums": ("drums", "drum", "beats", "techno"),
    "piano": ("piano",),
    "guitar": ("guitar", "guitars"),
    "violin": ("violin", "strings"),
    "strings": ("strings", "violin", "cello"),
    "synth": ("synth", "electronic", "electronica"),
}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10,
                 "half a": 0.5, "thirty": 30, "twenty": 20, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
_NO_VOCALS = re.compile(
    r"\b(no|without|zero|drop the|lose the|remove the|get rid of the|less)\s+"
    r"(vocals?|voices?|singing|singers?|lyrics)\b"
    r"|\binstrumental\b|\bno one singing\b|\bnobody singing\b", re.I)
_NO_INSTRUMENT = re.compile(
    r"\b(?:no|without|drop the|lose the|remove the)\s+(drums|piano|guitar|violin|strings|synth)\b", re.I)
_AMOUNT = r"(\d+(?:\.\d+)?|a|an|one|two|three|four|five|ten|twenty|thirty|forty|fifty|sixty|ninety|half a)"
_UNIT = r"(seconds?|secs?|s|minutes?|mins?|m)\b"
_MAX = re.compile(rf"\b(?:under|below|less than|shorter than|at most|no longer than|max(?:imum)?(?: of)?|within)\s+"
                  rf"{_AMOUNT}\s*{_UNIT}", re.I)
_MIN = re.compile(
    rf"(?<!no )\b(?:over|above|more than|longer than|at least|min(?:imum)?(?: of)?)\s+{_AMOUNT}\s*{_UNIT}", re.I)


def _seconds(amount: str, unit: str) -> float:
    value = _NUMBER_WORDS.get(amount.lower())
    number = float(amount) if value is None else float(value)
    return number * 60 if unit.lower().startswith("m") else number


def parse_constraints(text: str) -> TrackFilters:
    exclude: list[str] = []
    for match in _NO_INSTRUMENT.finditer(text):
        exclude.extend(INSTRUMENT_TAGS[match.group(1).lower()])
    max_match, min_match = _MAX.search(text), _MIN.search(text)
    return TrackFilters(
        exclude_tags=list(dict.fromkeys(exclude)),
        vocals=False if _NO_VOCALS.search(text) else None,
        max_duration_s=_seconds(*max_match.groups()) if max_match else None,
        min_duration_s=_seconds(*min_match.groups()) if min_match else None,
    )


def merge_filters(base: TrackFilters, extra: TrackFilters) -> TrackFilters:
    """Constraints accumulate over a conversation; the tighter duration bound wins."""

    def tighter(a: float | None, b: float | None, pick: Callable[[list[float]], float]) -> float | None:
        values = [v for v in (a, b) if v is not None]
        return pick(values) if values else None

    return TrackFilters(
        include_tags=list(dict.fromkeys([*base.include_tags, *extra.include_tags])),
        exclude_tags=list(dict.fromkeys([*base.exclude_tags, *extra.exclude_tags])),
        vocals=base.vocals if extra.vocals is None else extra.vocals,
        licences=base.licences or extra.licences,
        min_duration_s=tighter(base.min_duration_s, extra.min_duration_s, max),
        max_duration_s=tighter(base.max_duration_s, extra.max_duration_s, min),
    )
