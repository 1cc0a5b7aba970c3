"""Translate `SearchFilter` (+ excluded ids) into each engine's filter objects. Pure functions."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from musechat.store.base import Condition, MatchAny, MatchValue, Range, SearchFilter

if TYPE_CHECKING:
    import qdrant_edge
    from qdrant_client import models as qm


def encode_edge_bools(payload: Mapping[str, Any], bool_keys: Collection[str]) -> dict[str, Any]:
    """Store BOOL-indexed fields as 0/1.

    qdrant-edge-py 0.9.0 turns a Python bool inside `MatchValue` into the integer 1/0, which then never
    matches a stored JSON boolean (indexed or not). Storing those fields as integers, indexing them as
    INTEGER and decoding on the way out keeps bool filters working; `decode_edge_bools` undoes it.
    """
    out = dict(payload)
    for key in bool_keys:
        if key in out and out[key] is not None:
            if not isinstance(out[key], bool):
                raise ValueError(f"payload field {key!r} is indexed as bool but got {out[key]!r}")
            out[key] = int(out[key])
    return out


def decode_edge_bools(payload: Mapping[str, Any], bool_keys: Collection[str]) -> dict[str, Any]:
    out = dict(payload)
    for key in bool_keys:
        if isinstance(out.get(key), int):
            out[key] = bool(out[key])
    return out


def _edge_condition(cond: Condition, bool_keys: Collection[str]) -> qdrant_edge.FieldCondition:
    import qdrant_edge as qe

    match cond:
        case MatchValue(key=key, value=bool(value)):
            if key not in bool_keys:
                raise ValueError(
                    f"bool filter on {key!r}: the edge backend filters booleans only on fields declared "
                    "as PayloadIndexKind.BOOL in the collection spec"
                )
            return qe.FieldCondition(key=key, match=qe.MatchValue(int(value)))
        case MatchValue(key=key, value=value):
            return qe.FieldCondition(key=key, match=qe.MatchValue(value))
        case MatchAny(key=key, values=values):
            return qe.FieldCondition(key=key, match=qe.MatchAny(values))
        case Range(key=key, gte=gte, lte=lte):
            return qe.FieldCondition(key=key, range=qe.RangeFloat(gte=gte, lte=lte))
    raise TypeError(f"unsupported condition {cond!r}")


def to_edge_filter(
    flt: SearchFilter | None, exclude_point_ids: Sequence[str] = (), bool_keys: Collection[str] = ()
) -> qdrant_edge.Filter | None:
    import qdrant_edge as qe

    must: list[Any] = [_edge_condition(c, bool_keys) for c in (flt.must if flt else [])]
    must_not: list[Any] = [_edge_condition(c, bool_keys) for c in (flt.must_not if flt else [])]
    if exclude_point_ids:
        must_not.append(qe.HasIdCondition(set(exclude_point_ids)))
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


def _qdrant_condition(cond: Condition) -> qm.FieldCondition:
    from qdrant_client import models as m

    match cond:
        case MatchValue(key=key, value=value):
            return m.FieldCondition(key=key, match=m.MatchValue(value=value))
        case MatchAny(key=key, values=values):
            return m.FieldCondition(key=key, match=m.MatchAny(any=list(values)))
        case Range(key=key, gte=gte, lte=lte):
            return m.FieldCondition(key=key, range=m.Range(gte=gte, lte=lte))
    raise TypeError(f"unsupported condition {cond!r}")


def to_qdrant_filter(flt: SearchFilter | None, exclude_point_ids: Sequence[str] = ()) -> qm.Filter | None:
    from qdrant_client import models as m

    must: list[Any] = [_qdrant_condition(c) for c in (flt.must if flt else [])]
    must_not: list[Any] = [_qdrant_condition(c) for c in (flt.must_not if flt else [])]
    if exclude_point_ids:
        must_not.append(m.HasIdCondition(has_id=list(exclude_point_ids)))
    if not must and not must_not:
        return None
    return m.Filter(must=must or None, must_not=must_not or None)
