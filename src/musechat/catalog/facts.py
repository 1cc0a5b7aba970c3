"""The catalog's reading of a track's music facts: what filters and the re-ranker ask.

One entry point for consumers (the gateway's constraints, the attribute-aware re-ranker, the indexer):
`attribute_present(facts, "strings")` is a calibrated probability in [0, 1]; ≥ 0.5 means "has it". The
measurements and the calibration live beside the encoder that makes them
(`musechat.encoders.music_facts`); this module re-exports the stable surface and adds the payload-side
helpers, so a consumer never reaches into the encoder package.

Payloads indexed before facts existed have no `facts`: `facts_of(payload)` returns None and callers keep
their tag-name fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from musechat.contracts.music import TrackFacts
from musechat.encoders.music_facts import (
    ATTRIBUTES,
    GROUPS,
    TAG_THRESHOLDS,
    attribute_present,
    present_attributes,
    tag_key,
    threshold,
)

__all__ = [
    "ATTRIBUTES",
    "GROUPS",
    "PRESENT",
    "TAG_THRESHOLDS",
    "attribute_present",
    "compact_facts",
    "facts_of",
    "has_vocals",
    "passing_tags",
    "present_attributes",
    "tag_key",
    "threshold",
]

# The cut a hard filter uses: "no vocals" excludes tracks with attribute_present(..., "vocals") >= PRESENT.
PRESENT = 0.5


def facts_of(payload: Mapping[str, Any]) -> TrackFacts | None:
    """The facts stored in a `tracks` payload, or None for payloads indexed before facts existed."""
    raw = payload.get("facts")
    if raw is None:
        return None
    try:
        return TrackFacts.model_validate(raw)
    except ValidationError:
        return None


# Decimals of the tag scores and group probabilities a `tracks` payload stores (the encoder measures 5 and
# 4): the thresholds are fitted on 20 tracks and written to 3 decimals (TAG_THRESHOLDS), so the last two
# digits carry no information a filter can use. The indexer decides `tags`, `attributes` and `vocals` on
# the full scores first; only a query-time re-reading (`attribute_present` in the re-ranker) sees the
# rounded ones, where a score within 0.0005 of the lowest threshold (0.005) moves its calibrated
# probability by at most ~0.05 around 0.5 (SLOPE 2 x a log-odds step of ln 1.1).
STORED_DECIMALS = 3


def compact_facts(facts: TrackFacts) -> TrackFacts:
    """The facts as a payload stores them: tag scores and group probabilities rounded to STORED_DECIMALS."""
    return facts.model_copy(update={
        "tag_scores": {key: round(score, STORED_DECIMALS) for key, score in facts.tag_scores.items()},
        "groups": {group: round(p, STORED_DECIMALS) for group, p in facts.groups.items()},
    })


def has_vocals(facts: TrackFacts) -> bool:
    """The indexed `vocals` flag: from the calibrated vocals probability, never from a tag name."""
    return facts.vocals_probability >= PRESENT


def passing_tags(facts: TrackFacts) -> list[str]:
    """Tag names (either vocabulary) whose score passes their calibrated threshold: the payload's `tags`
    keyword list, so keyword filters match on calibrated presence, not on a 0.05 floor."""
    names = {key.split(":", 1)[1] for key, score in facts.tag_scores.items() if score >= threshold(key)}
    return sorted(names)
