"""Attribute-aware re-ranking: the understood request's soft part steers the nearest tracks, so an asked
direction holds even where the learned model is weak (issue #12 measured the triode putting a vocal track
first in 0-0.3 % of "I want vocals" turns, and guitar in 100 % of "no guitar" turns).

The ranker searches a pool of `pool_size(limit)` nearest tracks (hard filters already applied by the
engine), then orders them by

    cosine + Σ weight · (TIER · [signal > 0] + signal)          (one term per soft ask)

where `signal` ∈ [-1, 1] says how far a track moves the asked way from the previous pick (the candidate)
or how well it meets a target. TIER puts every track that moves the asked way ahead of every track that
does not, whatever their cosines; among those, the fused query still decides. A removal ("no guitar") is
a store filter on the tags; here a track whose measured facts still say it has the attribute is dropped
as well, so "no X" never shows X in the top of the list, by payload.

Music facts (payload `facts`, `musechat.catalog.facts`) give calibrated probabilities and a measured
tempo; payloads without facts fall back to their tag names (presence 0 or 1, tempo from the MTT
"fast"/"slow" tags).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from musechat.catalog.facts import PRESENT, attribute_present, facts_of
from musechat.contracts.catalog import has_vocals
from musechat.contracts.music import TrackFacts
from musechat.contracts.request import Intensity, UnderstoodRequest
from musechat.understanding.merge import GROUP_TAGS

TIER = 1.0
WEIGHTS: dict[Intensity, float] = {"slight": 0.6, "normal": 1.0, "strong": 1.4}
TEMPO_SCALE_BPM = 20.0  # a 20 BPM step is a full "faster"
MIN_TEMPO_STEP_BPM = 3.0  # closer than this is "the same tempo", not a move
# A previous pick of unknown tempo (tags only, no "fast"/"slow" tag): the faster a track is itself, the
# likelier it is faster than that pick, so its own tempo around a mid-range reference is the signal.
REFERENCE_BPM = 120.0
ABSOLUTE_TEMPO_SCALE_BPM = 50.0
DURATION_SCALE_S = 30.0  # 30 s shorter (longer) is a full "shorter" ("longer")
MIN_DURATION_STEP_S = 5.0  # closer than this is "the same length", not a move
POOL_FACTOR, POOL_MIN, POOL_MAX = 8, 40, 120
# What a re-ranked search reads of each hit besides the response fields.
RERANK_FIELDS = ("vocals", "facts")
_FEMALE_TAGS = frozenset({"female", "woman", "female vocal", "female vocals", "female voice", "female vocalists",
                          "female vocalist"})
_MALE_TAGS = frozenset({"male", "man", "male vocal", "male vocals", "male voice", "male vocalists"})


def pool_size(limit: int) -> int:
    return max(POOL_MIN, min(POOL_MAX, limit * POOL_FACTOR))


def _facts_name(key: str) -> str:
    return key.split(".", 1)[1]


def presence(payload: Mapping[str, Any], key: str, facts: TrackFacts | None = None) -> float:
    """Probability that the track has `key` ("instrument.guitar", "vocals", "vocals.female", ...)."""
    facts = facts if facts is not None else facts_of(payload)
    tags = set(payload.get("tags") or ())
    if key == "vocals":
        if facts is not None:
            return attribute_present(facts, "vocals")
        return 1.0 if payload.get("vocals", has_vocals(tags)) else 0.0
    if key in ("vocals.female", "vocals.male"):
        if facts is not None:
            return attribute_present(facts, f"{_facts_name(key)}_vocals")
        return 1.0 if tags & (_FEMALE_TAGS if key == "vocals.female" else _MALE_TAGS) else 0.0
    if facts is not None:
        return attribute_present(facts, _facts_name(key))
    return 1.0 if tags & set(GROUP_TAGS[key]) else 0.0


def tempo_position(payload: Mapping[str, Any], facts: TrackFacts | None = None) -> float | None:
    """A number that grows with tempo: BPM when measured, else +1 / -1 / 0 from the MTT tempo tags."""
    facts = facts if facts is not None else facts_of(payload)
    if facts is not None and facts.tempo_bpm is not None:
        return facts.tempo_bpm
    if facts is not None:
        return None
    tags = set(payload.get("tags") or ())
    return float(("fast" in tags) - ("slow" in tags))


def tempo_known(payload: Mapping[str, Any], facts: TrackFacts | None = None) -> bool:
    """Whether the payload says anything about tempo: a measured BPM, or an MTT "fast"/"slow" tag."""
    facts = facts if facts is not None else facts_of(payload)
    if facts is not None:
        return facts.tempo_bpm is not None
    return bool({"fast", "slow"} & set(payload.get("tags") or ()))


def _own_tempo_signal(sign: int, payload: Mapping[str, Any], facts: TrackFacts | None) -> float:
    """How far a track's own tempo goes the asked way (measured BPM around REFERENCE_BPM, else its tags)."""
    mine = tempo_position(payload, facts)
    if mine is None:
        return 0.0
    step = (mine - REFERENCE_BPM) / ABSOLUTE_TEMPO_SCALE_BPM if facts is not None else mine
    return max(-1.0, min(1.0, sign * step))


def _duration_signal(sign: int, payload: Mapping[str, Any], candidate: Mapping[str, Any]) -> float:
    """How far a track's length goes the asked way from the previous pick's (payload `duration_s`)."""
    mine, theirs = payload.get("duration_s"), candidate.get("duration_s")
    if not isinstance(mine, int | float) or not isinstance(theirs, int | float):
        return 0.0
    step = float(mine) - float(theirs)
    if abs(step) < MIN_DURATION_STEP_S:
        return 0.0
    return max(-1.0, min(1.0, sign * step / DURATION_SCALE_S))


@dataclass(frozen=True)
class Ask:
    """One soft ask: how a track scores against it (`signal`) in [-1, 1]."""

    kind: str  # "tempo", "bpm", "duration", "presence", "relative"
    key: str
    sign: int = 1
    weight: float = 1.0
    low: float | None = None
    high: float | None = None


def asks(request: UnderstoodRequest) -> list[Ask]:
    out: list[Ask] = []
    tempo = request.tempo
    if tempo is not None and tempo.direction is not None:
        out.append(Ask("tempo", "tempo", 1 if tempo.direction == "faster" else -1, WEIGHTS[tempo.intensity]))
    if tempo is not None and (tempo.min_bpm is not None or tempo.max_bpm is not None):
        out.append(Ask("bpm", "tempo", low=tempo.min_bpm, high=tempo.max_bpm))
    if request.duration_direction is not None:
        out.append(Ask("duration", "duration", 1 if request.duration_direction == "longer" else -1))
    if request.vocals in ("on", "male", "female"):
        out.append(Ask("presence", "vocals" if request.vocals == "on" else f"vocals.{request.vocals}", weight=1.5))
    for prefix, changes in (("instrument", request.instruments), ("genre", request.genres), ("mood", request.moods)):
        for name, change in changes.items():
            if change.direction != "none":
                out.append(Ask("relative", f"{prefix}.{name}", 1 if change.direction == "more" else -1,
                               WEIGHTS[change.intensity]))
    return out


def removals(request: UnderstoodRequest) -> list[str]:
    keys = [f"{prefix}.{name}" for prefix, changes in (("instrument", request.instruments),
                                                       ("genre", request.genres), ("mood", request.moods))
            for name, change in changes.items() if change.direction == "none"]
    if request.vocals == "off":
        keys.append("vocals")
    return keys


def needs_rerank(request: UnderstoodRequest | None) -> bool:
    return request is not None and bool(asks(request) or removals(request))


def _signal(ask: Ask, payload: Mapping[str, Any], facts: TrackFacts | None,
            candidate: Mapping[str, Any] | None, candidate_facts: TrackFacts | None) -> float:
    if ask.kind == "bpm":
        bpm = tempo_position(payload, facts)
        if bpm is None or facts is None:
            return 0.0
        below = (ask.low - bpm) if ask.low is not None and bpm < ask.low else 0.0
        above = (bpm - ask.high) if ask.high is not None and bpm > ask.high else 0.0
        miss = max(below, above)
        return 1.0 if miss == 0 else -min(1.0, miss / TEMPO_SCALE_BPM)
    if ask.kind == "presence":
        return 2.0 * presence(payload, ask.key, facts) - 1.0
    if candidate is None:  # words without a previous pick: "more piano" reads as "piano"
        if ask.kind in ("tempo", "duration"):
            return 0.0
        return ask.sign * (2.0 * presence(payload, ask.key, facts) - 1.0)
    if ask.kind == "duration":
        return _duration_signal(ask.sign, payload, candidate)
    if ask.kind == "tempo":
        if not tempo_known(candidate, candidate_facts):
            return _own_tempo_signal(ask.sign, payload, facts)
        mine, theirs = tempo_position(payload, facts), tempo_position(candidate, candidate_facts)
        if mine is None or theirs is None or (facts is None) != (candidate_facts is None):
            return 0.0  # unknown, or a measured BPM against tempo tags: no comparable scale
        step = mine - theirs
        if facts is not None and abs(step) < MIN_TEMPO_STEP_BPM:
            return 0.0
        scale = TEMPO_SCALE_BPM if facts is not None else 1.0
        return max(-1.0, min(1.0, ask.sign * step / scale))
    return ask.sign * (presence(payload, ask.key, facts) - presence(candidate, ask.key, candidate_facts))


def rerank(hits: Sequence[Any], request: UnderstoodRequest, candidate: Mapping[str, Any] | None,
           limit: int) -> list[Any]:
    """The `limit` best hits (objects with `.score` and `.payload`) for the request's soft asks; hits
    that still carry a removed attribute by their facts are dropped."""
    wanted, removed = asks(request), removals(request)
    candidate_facts = facts_of(candidate) if candidate is not None else None
    scored = []
    for order, hit in enumerate(hits):
        facts = facts_of(hit.payload)
        if facts is not None and any(presence(hit.payload, key, facts) >= PRESENT for key in removed):
            continue
        bonus = 0.0
        for ask in wanted:
            signal = _signal(ask, hit.payload, facts, candidate, candidate_facts)
            bonus += ask.weight * (TIER * (signal > 0) + signal)
        scored.append((-(hit.score + bonus), order, hit))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [hit for _, _, hit in scored[:limit]]
