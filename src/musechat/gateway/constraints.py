"""Hard constraints stated in words, as store filters: a thin view of request understanding.

The gateway reads a turn with `musechat.understanding.understand` (the typed `UnderstoodRequest`, merged
into the conversation's standing request with replace semantics) and filters with `to_filters` of it.
These two helpers remain for callers that want filters only (benchmarks, older tests):

- `parse_constraints(text)`: the hard part of one utterance: "no vocals" / "instrumental" → vocals=False
  (the indexed flag), "no drums" → every drum tag excluded, durations and licences. Vocals asked for
  ("more vocals", "a male voice") are soft and give no filter; a contradiction gives no filter either
  (the gateway answers it with a 422 naming the conflict).
- `merge_filters(base, extra)`: filters accumulate; the tighter bound wins while both can hold, and a
  newer bound replaces an older one that contradicts it (the old merge made min > max: an HTTP 500).
"""

from __future__ import annotations

from musechat.contracts.api import TrackFilters
from musechat.understanding import RequestConflictError, parse_utterance, to_filters


def parse_constraints(text: str) -> TrackFilters:
    try:
        return to_filters(parse_utterance(text))
    except RequestConflictError:
        return TrackFilters()


def _bounds(base: TrackFilters, extra: TrackFilters) -> tuple[float | None, float | None]:
    lows = [v for v in (base.min_duration_s, extra.min_duration_s) if v is not None]
    highs = [v for v in (base.max_duration_s, extra.max_duration_s) if v is not None]
    low, high = (max(lows) if lows else None), (min(highs) if highs else None)
    if low is not None and high is not None and low > high:  # they cannot both hold: the newer one wins
        if extra.max_duration_s is not None and extra.min_duration_s is None:
            return None, extra.max_duration_s
        return extra.min_duration_s, extra.max_duration_s
    return low, high


def merge_filters(base: TrackFilters, extra: TrackFilters) -> TrackFilters:
    low, high = _bounds(base, extra)
    return TrackFilters(
        include_tags=list(dict.fromkeys([*base.include_tags, *extra.include_tags])),
        exclude_tags=list(dict.fromkeys([*base.exclude_tags, *extra.exclude_tags])),
        vocals=base.vocals if extra.vocals is None else extra.vocals,
        licences=base.licences or extra.licences,
        min_duration_s=low,
        max_duration_s=high,
    )
