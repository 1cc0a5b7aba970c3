"""Facts-only recommendation: the ranking path that needs no training on the catalog.

A conversation's words become a small typed request (attributes wanted, attributes refused, tempo
direction); each track is scored by the calibrated probabilities of its measured facts
(`musechat.catalog.facts.attribute_present`). Refused attributes are hard filters: a track whose
probability for one reaches `PRESENT` is never returned. This is the path `musechat serve` and
`musechat recommend` use when no fusion model fits the catalog's feature space.

The word-to-attribute lexicon here is the minimal interface the issue allows until the request-
understanding package (`musechat.understanding`) lands; it maps words, not sentences.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from musechat.catalog.facts import ATTRIBUTES, PRESENT, attribute_present, facts_of
from musechat.contracts.music import TrackFacts
from musechat.contracts.request import UnderstoodRequest

# word (or phrase) -> attribute; longest phrases are matched first
LEXICON: dict[str, str] = {
    "strings": "strings", "string": "strings", "violin": "strings", "violins": "strings", "cello": "strings",
    "orchestral": "orchestral", "orchestra": "orchestral", "symphonic": "orchestral", "film music": "orchestral",
    "classical": "classical", "piano": "piano", "guitar": "guitar", "guitars": "guitar",
    # MTT's 'guitar' tag is mostly the clean/acoustic guitar; electric and distorted guitars are what its
    # 'rock'/'metal' tags (and MSD's) fire on, so these phrases ask for those styles
    "electric guitar": "rock", "electric guitars": "rock", "distorted guitars": "metal", "distorted guitar": "metal",
    "metal": "metal", "heavy metal": "metal",
    "rock": "rock", "drums": "drums", "drum": "drums", "percussion": "drums", "synth": "synth",
    "synths": "synth", "synthesizer": "synth", "electronic": "electronic", "techno": "techno",
    "dance": "dance", "ambient": "ambient", "calm": "calm", "relaxed": "calm", "peaceful": "calm",
    "quiet": "calm", "energetic": "energetic", "intense": "energetic", "vocals": "vocals", "vocal": "vocals",
    "singing": "vocals", "voice": "vocals", "singer": "vocals", "female vocals": "female_vocals",
    "female singer": "female_vocals", "male vocals": "male_vocals", "male singer": "male_vocals",
    "instrumental": "instrumental", "choir": "choir", "flute": "flute", "jazz": "jazz", "pop": "pop",
    "folk": "folk", "happy": "happy", "sad": "sad", "fast": "fast", "slow": "slow",
}
# MusiCNN's 'electronic'/'ambient' tags also fire on orchestral and metal recordings (docs/benchmarks/
# real_catalog.md, precision table), so a request for a synthesized style also asks for the absence of
# the strongest recorded-instrument style: without it, calm orchestral pieces outrank ambient synth music.
SYNTHESIZED = frozenset({"electronic", "ambient", "synth", "techno"})
ACOUSTIC = ("strings", "orchestral", "metal", "rock")
NEGATIONS = ("no", "without", "not", "less", "fewer", "drop the", "lose the", "get rid of the")
FASTER = ("faster", "quicker", "more upbeat", "speed it up", "higher tempo")
SLOWER = ("slower", "more slowly", "slow it down", "lower tempo")


@dataclass
class MusicRequest:
    """What the words ask of the music: attributes wanted / refused, and a tempo direction."""

    wanted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    tempo: int = 0  # +1 faster, -1 slower than the previous pick

    def merge(self, later: MusicRequest) -> MusicRequest:
        """A later turn adds to the earlier ones; wanting something again lifts its refusal and back."""
        wanted = [a for a in self.wanted if a not in later.refused] + later.wanted
        refused = [a for a in self.refused if a not in later.wanted] + later.refused
        return MusicRequest(list(dict.fromkeys(wanted)), list(dict.fromkeys(refused)), later.tempo or self.tempo)


def parse_words(text: str) -> MusicRequest:
    """'More strings, no drums, faster' -> wanted [strings], refused [drums], tempo +1."""
    lowered = " " + re.sub(r"[^a-z ]+", " ", text.lower()) + " "
    request = MusicRequest()
    if any(f" {w} " in lowered for w in FASTER):
        request.tempo = 1
    elif any(f" {w} " in lowered for w in SLOWER):
        request.tempo = -1
    taken: list[tuple[int, int, str]] = []
    for phrase in sorted(LEXICON, key=len, reverse=True):
        for match in re.finditer(rf"(?<= ){re.escape(phrase)}(?= )", lowered):
            start, end = match.span()
            if not any(s < end and start < e for s, e, _ in taken):
                taken.append((start, end, LEXICON[phrase]))
    negated_before, previous_end = False, 0
    for start, end, attribute in sorted(taken):
        before = lowered[max(0, start - 20) : start]
        negated = any(re.search(rf"(?:^| ){re.escape(n)} (?:\w+ )?$", before) for n in NEGATIONS)
        # "without drums or synth": a list after a negation stays negated
        if not negated and negated_before and lowered[previous_end:start].split() in (["or"], ["nor"], ["and"], []):
            negated = True
        target = request.refused if negated else request.wanted
        if attribute not in target:
            target.append(attribute)
        negated_before, previous_end = negated, end
    return request


_VOCALS_CHOICE = {"on": ("vocals", "wanted"), "off": ("vocals", "refused"),
                  "male": ("male_vocals", "wanted"), "female": ("female_vocals", "wanted")}


def from_understood(understood: UnderstoodRequest | None) -> MusicRequest:
    """The gateway's typed request (`musechat.understanding`) as the facts path's request: "more X" is
    wanted, "no X" refused, faster/slower the tempo direction. "less X" has no facts-only reading (it is
    relative to the previous pick's amount), so it is left to the fusion path's re-ranker."""
    request = MusicRequest()
    if understood is None:
        return request
    if understood.vocals is not None:
        attribute, side = _VOCALS_CHOICE[understood.vocals]
        (request.wanted if side == "wanted" else request.refused).append(attribute)
    for changes in (understood.instruments, understood.genres, understood.moods):
        for name, change in changes.items():
            if change.direction == "more":
                request.wanted.append(name)
            elif change.direction == "none":
                request.refused.append(name)
    if understood.tempo is not None and understood.tempo.direction is not None:
        request.tempo = 1 if understood.tempo.direction == "faster" else -1
    return request


@dataclass(frozen=True)
class Pick:
    track_id: str
    title: str
    artist: str
    score: float
    facts: TrackFacts


def _tempo_affinity(facts: TrackFacts, reference: float | None, direction: int) -> float:
    """Log-probability-like bonus for being faster/slower than the reference tempo (octave-aware)."""
    if direction == 0 or reference is None or facts.tempo_bpm is None:
        return 0.0
    ratio = math.log2(facts.tempo_bpm / reference)
    ratio -= round(ratio)  # 70 vs 140 BPM is the same pulse: compare within an octave
    return direction * ratio * 4.0 * facts.tempo_confidence


def score_track(facts: TrackFacts, request: MusicRequest, reference_bpm: float | None = None) -> float | None:
    """Sum of log-probabilities of the wanted attributes (+ tempo); None when a refused one is present."""
    for attribute in request.refused:
        if attribute_present(facts, attribute) >= PRESENT:
            return None
    score = sum(math.log(max(1e-6, attribute_present(facts, a))) for a in request.wanted)
    if SYNTHESIZED.intersection(request.wanted):
        acoustic = max(attribute_present(facts, a) for a in ACOUSTIC)
        score += math.log(max(1e-6, 1.0 - acoustic))
    return score + _tempo_affinity(facts, reference_bpm, request.tempo)


def rank(payloads: Iterable[Mapping[str, Any]], request: MusicRequest, limit: int = 5,
         exclude: Sequence[str] = (), reference_bpm: float | None = None) -> list[Pick]:
    """The `limit` best tracks with facts for `request`, minus `exclude` (rejected or already played)."""
    unknown = sorted(set(request.wanted + request.refused) - set(ATTRIBUTES))
    if unknown:
        raise ValueError(f"unknown attributes {unknown}")
    picks = []
    for payload in payloads:
        facts = facts_of(payload)
        if facts is None or payload.get("track_id") in exclude:
            continue
        score = score_track(facts, request, reference_bpm)
        if score is not None:
            picks.append(Pick(str(payload["track_id"]), str(payload.get("title", "")),
                              str(payload.get("artist", "")), score, facts))
    picks.sort(key=lambda p: (-p.score, p.track_id))
    return picks[:limit]
