"""Facts-only recommendation: the ranking path that needs no training on the catalog.

The words are read once, by request understanding (`musechat.understanding`: the same typed, merged
request the gateway reads, so `musechat recommend` from the shell and the /v1 API answer alike), and
become a small facts request (`from_understood`): attributes wanted, refused and wanted less of, a tempo
direction or BPM range, duration bounds and licences. Each track is scored by the calibrated
probabilities of its measured facts (`musechat.catalog.facts.attribute_present`). Refused attributes,
duration bounds and licences are hard filters: a track whose probability for a refused attribute reaches
`PRESENT` is never returned. This is the path `musechat serve` and `musechat recommend` use when no
fusion model fits the catalog's feature space.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from musechat.catalog.facts import ATTRIBUTES, PRESENT, attribute_present, facts_of
from musechat.contracts.music import TrackFacts
from musechat.contracts.request import UnderstoodRequest

# MusiCNN's 'electronic'/'ambient' tags also fire on orchestral and metal recordings (docs/benchmarks/
# real_catalog.md, precision table), so a request for a synthesized style also asks for the absence of
# the strongest recorded-instrument style: without it, calm orchestral pieces outrank ambient synth music.
SYNTHESIZED = frozenset({"electronic", "ambient", "synth", "techno"})
ACOUSTIC = ("strings", "orchestral", "metal", "rock")
# A BPM range is soft (the beat tracker can be an octave off): a track outside it loses this much score
# per octave of distance, weighed by its tempo confidence.
BPM_RANGE_PENALTY = 8.0
# log2 distance from an exact double/half within which two tempi are one pulse (~6 %: the 4 % bar of the
# real-music tempo check plus the tracker's own spread).
OCTAVE_TOLERANCE = 0.085
# "Slower, please" means "like that, but slower": how much the previous pick's style (the cosine of the
# two tracks' group probabilities) counts, on the scale of one wanted attribute's log-probability.
LIKE_CANDIDATE_WEIGHT = 1.0
# "A shorter one": a track 30 s shorter (longer) than the previous pick earns one wanted attribute's worth.
DURATION_SCALE_S = 30.0


@dataclass
class MusicRequest:
    """What the words ask of the music, as the facts can answer it."""

    wanted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    tempo: int = 0  # +1 faster, -1 slower than the previous pick
    duration: int = 0  # +1 longer, -1 shorter than the previous pick
    less: list[str] = field(default_factory=list)  # "less synth": prefer tracks without much of it
    min_bpm: float | None = None
    max_bpm: float | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    licences: list[str] = field(default_factory=list)

    def attributes(self) -> list[str]:
        return [*self.wanted, *self.refused, *self.less]


_VOCALS_CHOICE = {"on": ("vocals", "wanted"), "off": ("vocals", "refused"),
                  "male": ("male_vocals", "wanted"), "female": ("female_vocals", "wanted")}


def from_understood(understood: UnderstoodRequest | None) -> MusicRequest:
    """The typed request (`musechat.understanding`) as the facts path's request: "more X" is wanted, "no X"
    refused, "less X" wanted less of, faster/slower the tempo direction (relative to the previous pick), a
    BPM range, duration bounds and licences as they are."""
    request = MusicRequest()
    if understood is None:
        return request
    if understood.vocals is not None:
        attribute, side = _VOCALS_CHOICE[understood.vocals]
        (request.wanted if side == "wanted" else request.refused).append(attribute)
    for changes in (understood.instruments, understood.genres, understood.moods):
        for name, change in changes.items():
            {"more": request.wanted, "none": request.refused, "less": request.less}[change.direction].append(name)
    if understood.tempo is not None:
        if understood.tempo.direction is not None:
            request.tempo = 1 if understood.tempo.direction == "faster" else -1
        request.min_bpm, request.max_bpm = understood.tempo.min_bpm, understood.tempo.max_bpm
    if understood.duration_direction is not None:
        request.duration = 1 if understood.duration_direction == "longer" else -1
    request.min_duration_s, request.max_duration_s = understood.min_duration_s, understood.max_duration_s
    request.licences = list(understood.licences)
    return request


@dataclass(frozen=True)
class Pick:
    track_id: str
    title: str
    artist: str
    score: float
    facts: TrackFacts


def tempo_affinity(facts: TrackFacts, reference: float | None, direction: int) -> float:
    """Log-probability-like bonus for being faster/slower than the reference tempo, compared modulo an
    octave: the log2 ratio is folded into [-0.5, 0.5], and a tempo within OCTAVE_TOLERANCE of an exact double
    or half is the same pulse (neither faster nor slower). The beat tracker's usual error is counting the
    other octave: on real recordings played at 0.8x and 1.25x (docs/benchmarks/real_catalog.md) the count
    flipped octave between a track and its own sped-up copy in about a third of the pairs: comparing tempi
    as measured followed the direction in 58 % of them, folded in 84 %; between different songs of charted
    tempo, 52 % against 68 %. The price: a true change of more than half an octave (140 -> 200 BPM) reads as
    the opposite way."""
    if direction == 0 or reference is None or facts.tempo_bpm is None:
        return 0.0
    ratio = math.log2(facts.tempo_bpm / reference)
    folded = ratio - round(ratio)
    if round(ratio) != 0 and abs(folded) < OCTAVE_TOLERANCE:
        return 0.0
    return direction * folded * 4.0 * facts.tempo_confidence


def _bpm_range_penalty(facts: TrackFacts, low: float | None, high: float | None) -> float:
    """Octaves outside the asked BPM range, times BPM_RANGE_PENALTY and the tempo confidence."""
    if (low is None and high is None) or facts.tempo_bpm is None:
        return 0.0
    below = math.log2(low / facts.tempo_bpm) if low is not None and facts.tempo_bpm < low else 0.0
    above = math.log2(facts.tempo_bpm / high) if high is not None and facts.tempo_bpm > high else 0.0
    return BPM_RANGE_PENALTY * (below + above) * facts.tempo_confidence


def style_similarity(facts: TrackFacts, other: TrackFacts) -> float:
    """Cosine of two tracks' instrument/genre/mood group probabilities (0 when either has none)."""
    keys = sorted(set(facts.groups) | set(other.groups))
    mine = [facts.groups.get(k, 0.0) for k in keys]
    theirs = [other.groups.get(k, 0.0) for k in keys]
    norm = math.sqrt(sum(a * a for a in mine) * sum(b * b for b in theirs))
    return sum(a * b for a, b in zip(mine, theirs, strict=True)) / norm if norm else 0.0


def score_track(facts: TrackFacts, request: MusicRequest, candidate: TrackFacts | None = None) -> float | None:
    """Sum of log-probabilities of the wanted attributes and of the absence of the ones wanted less of,
    + tempo against the previous pick (`candidate`) and likeness to it; None when a refused one is present."""
    for attribute in request.refused:
        if attribute_present(facts, attribute) >= PRESENT:
            return None
    score = sum(math.log(max(1e-6, attribute_present(facts, a))) for a in request.wanted)
    score += sum(math.log(max(1e-6, 1.0 - attribute_present(facts, a))) for a in request.less)
    if SYNTHESIZED.intersection(request.wanted):
        acoustic = max(attribute_present(facts, a) for a in ACOUSTIC)
        score += math.log(max(1e-6, 1.0 - acoustic))
    if candidate is not None:
        score += tempo_affinity(facts, candidate.tempo_bpm, request.tempo)
        score += LIKE_CANDIDATE_WEIGHT * style_similarity(facts, candidate)
    return score - _bpm_range_penalty(facts, request.min_bpm, request.max_bpm)


def duration_affinity(duration_s: Any, reference_s: float | None, direction: int) -> float:
    """Bonus for being longer/shorter than the previous pick, one unit per DURATION_SCALE_S, capped at 1."""
    if direction == 0 or reference_s is None or not isinstance(duration_s, int | float):
        return 0.0
    return max(-1.0, min(1.0, direction * (float(duration_s) - reference_s) / DURATION_SCALE_S))


def passes_hard_filters(payload: Mapping[str, Any], request: MusicRequest) -> bool:
    """Duration bounds and licences, on the payload (the store's filter does the same on the /v1 path)."""
    duration = payload.get("duration_s")
    if request.min_duration_s is not None and (duration is None or duration < request.min_duration_s):
        return False
    if request.max_duration_s is not None and (duration is None or duration > request.max_duration_s):
        return False
    return not request.licences or payload.get("licence") in request.licences


def rank(payloads: Iterable[Mapping[str, Any]], request: MusicRequest, limit: int = 5,
         exclude: Sequence[str] = (), candidate: TrackFacts | None = None,
         candidate_duration_s: float | None = None) -> list[Pick]:
    """The `limit` best tracks with facts for `request`, minus `exclude` (rejected or already played);
    `candidate` is the previous pick's facts (the tempo reference, and the style a turn's words adjust),
    `candidate_duration_s` its length (what "a shorter one" is shorter than)."""
    unknown = sorted(set(request.attributes()) - set(ATTRIBUTES))
    if unknown:
        raise ValueError(f"unknown attributes {unknown}")
    picks = []
    for payload in payloads:
        facts = facts_of(payload)
        if facts is None or payload.get("track_id") in exclude or not passes_hard_filters(payload, request):
            continue
        score = score_track(facts, request, candidate)
        if score is not None:
            score += duration_affinity(payload.get("duration_s"), candidate_duration_s, request.duration)
            picks.append(Pick(str(payload["track_id"]), str(payload.get("title", "")),
                              str(payload.get("artist", "")), score, facts))
    picks.sort(key=lambda p: (-p.score, p.track_id))
    return picks[:limit]


def shortfall(payloads: Iterable[Mapping[str, Any]], request: MusicRequest, exclude: Sequence[str] = (),
              scope: str = "tracks with facts") -> str:
    """Why fewer tracks than asked came back: how many of the catalog's tracks each hard constraint (and
    the tracks already shown) removes, so a user whose "no electronic" empties the list sees that every
    track scores as electronic rather than an unexplained empty answer."""
    with_facts = [(payload, facts) for payload in payloads if (facts := facts_of(payload)) is not None]
    removed: dict[str, int] = {}
    for attribute in request.refused:
        removed[f'"no {attribute}" (probability >= {PRESENT})'] = sum(
            attribute_present(facts, attribute) >= PRESENT for _, facts in with_facts)
    if request.min_duration_s is not None or request.max_duration_s is not None or request.licences:
        bounds = MusicRequest(min_duration_s=request.min_duration_s, max_duration_s=request.max_duration_s,
                              licences=request.licences)
        removed["duration/licence bounds"] = sum(not passes_hard_filters(p, bounds) for p, _ in with_facts)
    if exclude:
        removed["already suggested"] = sum(p.get("track_id") in exclude for p, _ in with_facts)
    reasons = ", ".join(f"{why} removes {count}" for why, count in removed.items() if count)
    return f"of {len(with_facts)} {scope}: {reasons or 'none was removed, all are shown'}"
