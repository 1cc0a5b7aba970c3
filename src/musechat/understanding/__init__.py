"""Request understanding: the user's words (and the conversation so far) → a typed `UnderstoodRequest`.

    understand("no guitar, and a bit faster", previous)   # merged standing request, or RequestConflictError

The rule reader (`rules.py`) reads one utterance; `merge.py` merges it into the previous standing request
with replace semantics and turns the result into store filters (`to_filters`); the ranker turns the soft
part into ranking signals (`musechat.ranker.attributes`).
"""

from __future__ import annotations

import functools
import re

from musechat.contracts.request import UnderstoodRequest
from musechat.understanding.errors import RequestConflictError
from musechat.understanding.merge import asked_again, flatten, from_filters, merge, removes, to_filters
from musechat.understanding.rules import normalise, parse_utterance, read_request

__all__ = ["RequestConflictError", "flatten", "from_filters", "merge", "parse_utterance", "to_filters",
           "understand"]


def understand(text: str, previous: UnderstoodRequest | None = None) -> UnderstoodRequest:
    """This turn's words merged into the previous standing request. An attribute the words call fine
    ("actually, vocals are fine") is released where the conversation had removed it, else it was praise; one
    they bring back ("bring the piano back") is released where the conversation had removed it, else asked
    for again."""
    current, acceptable, restored = _reading_of(text)
    if previous is not None and previous.licences and current.licences and _ADDS.search(normalise(text)):
        # "CC0 only", then "CC-BY is fine too": a licence named as an addition widens the set, not replaces it
        current = current.model_copy(update={"licences": sorted({*previous.licences, *current.licences})})
    if previous is not None and (released := [key for key in acceptable if removes(previous, key)]):
        current = current.model_copy(update={"lifted": sorted({*current.lifted, *released})})
    if wished := [key for key in restored if previous is None or not removes(previous, key)]:
        current = asked_again(current, wished)
    return merge(previous, current)


_ADDS = re.compile(r"\b(?:too|also|as well|or|plus|in addition)\b")


@functools.lru_cache(maxsize=4096)
def _reading_of(text: str) -> tuple[UnderstoodRequest, tuple[str, ...], tuple[str, ...]]:
    """`read_request`, remembered by exact text: users repeat short phrases ("slower", "no vocals"), the
    reader is pure, and `merge` builds a new request rather than changing this one. A conflict is not kept:
    it raises again each time."""
    current, acceptable, restored = read_request(text)
    return current, tuple(acceptable), tuple(restored)
