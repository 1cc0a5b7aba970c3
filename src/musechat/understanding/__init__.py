"""Request understanding: the user's words (and the conversation so far) → a typed `UnderstoodRequest`.

    understand("no guitar, and a bit faster", previous)   # merged standing request, or RequestConflictError

The rule reader (`rules.py`) reads one utterance; `merge.py` merges it into the previous standing request
with replace semantics and turns the result into store filters (`to_filters`); the ranker turns the soft
part into ranking signals (`musechat.ranker.attributes`).
"""

from __future__ import annotations

import functools

from musechat.contracts.request import UnderstoodRequest
from musechat.understanding.errors import RequestConflictError
from musechat.understanding.merge import flatten, from_filters, merge, removes, to_filters
from musechat.understanding.rules import parse_utterance, read_request

__all__ = ["RequestConflictError", "flatten", "from_filters", "merge", "parse_utterance", "to_filters",
           "understand"]


def understand(text: str, previous: UnderstoodRequest | None = None) -> UnderstoodRequest:
    """This turn's words merged into the previous standing request. An attribute the words call fine
    ("actually, vocals are fine") is released where the conversation had removed it, else it was praise."""
    current, acceptable = _reading_of(text)
    if previous is not None and (released := [key for key in acceptable if removes(previous, key)]):
        current = current.model_copy(update={"lifted": sorted({*current.lifted, *released})})
    return merge(previous, current)


@functools.lru_cache(maxsize=4096)
def _reading_of(text: str) -> tuple[UnderstoodRequest, tuple[str, ...]]:
    """`read_request`, remembered by exact text: users repeat short phrases ("slower", "no vocals"), the
    reader is pure, and `merge` builds a new request rather than changing this one. A conflict is not kept:
    it raises again each time."""
    current, acceptable = read_request(text)
    return current, tuple(acceptable)
