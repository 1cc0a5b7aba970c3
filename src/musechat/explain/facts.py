"""What an explanation may say: the track's measured facts, the previous pick, the request, the video.

Everything here is plain data computed from measurements (the track's `facts` payload when the catalog
has it, else its tags; the video's decoded frames; the user's words), so that the prompt can carry it
and the grounding check can verify each claim against it. Nothing is guessed: a fact that was not
measured is absent, and a claim about an absent fact fails the check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from musechat.explain.data import NO_VOCAL_TAGS, VOCAL_TAGS, TrackMeta
from musechat.explain.tags import normalize_tag

# A measured tempo is used only when the beat tracker was this sure of it.
MIN_TEMPO_CONFIDENCE = 0.3
# Tag scores (0-1) from the `facts` payload at or above this count as the track having the tag, when the
# catalog's calibrated thresholds are unavailable. MusiCNN's top tags on real music score 0.2-0.6.
DEFAULT_TAG_THRESHOLD = 0.3
MAX_PROMPT_TAGS = 5


def fmt_duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


MusicFacts = TrackMeta  # the explainer's view of one track (explain.data)


def tempo_comparison(track: TrackMeta, previous: TrackMeta) -> str | None:
    """"faster" / "slower" when both tempos are measured and differ by a whole bpm, else None."""
    if track.tempo_bpm is None or previous.tempo_bpm is None or round(track.tempo_bpm) == round(previous.tempo_bpm):
        return None
    return "faster" if track.tempo_bpm > previous.tempo_bpm else "slower"


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def facts_from_payload(payload: Mapping[str, Any], *, tag_threshold: float = DEFAULT_TAG_THRESHOLD) -> TrackMeta:
    """A `tracks` point payload → TrackMeta: the measured `facts` object when the catalog has it, else
    the payload's tag names, vocals flag and duration."""
    def meta(**facts: Any) -> TrackMeta:
        return TrackMeta(title=str(payload.get("title", "")), artist=str(payload.get("artist", "")),
                         album=str(payload.get("album") or ""), track_id=str(payload.get("track_id", "")), **facts)

    facts = payload.get("facts")
    if not isinstance(facts, Mapping):
        vocals = payload.get("vocals")
        return meta(tags=tuple(str(t) for t in payload.get("tags") or ()),
                    vocals=vocals if isinstance(vocals, bool) else None, duration_s=_float(payload.get("duration_s")))
    tempo = _float(facts.get("tempo_bpm"))
    if tempo is not None and float(facts.get("tempo_confidence", 0.0)) < MIN_TEMPO_CONFIDENCE:
        tempo = None
    scores: dict[str, float] = {}
    for key, score in dict(facts.get("tag_scores") or {}).items():
        name = normalize_tag(str(key).split(":", 1)[-1])
        scores[name] = max(scores.get(name, 0.0), float(score))
    for name, score in dict(facts.get("groups") or {}).items():
        scores.setdefault(normalize_tag(str(name)), float(score))
    kept = sorted(((s, n) for n, s in scores.items() if s >= _threshold(n, tag_threshold)), key=lambda sn: -sn[0])
    tags = tuple(n for _, n in kept)
    vp = _float(facts.get("vocals_probability"))
    vocals = None if vp is None else vp >= 0.5
    if vocals is not None:  # the calibrated vocals verdict wins over single vocal / no-vocal tags
        drop = NO_VOCAL_TAGS if vocals else VOCAL_TAGS
        tags = tuple(t for t in tags if t not in drop)
    return meta(tags=tags, tempo_bpm=tempo, vocals=vocals,
                duration_s=_float(facts.get("duration_s")) or _float(payload.get("duration_s")))


def _threshold(tag: str, default: float) -> float:
    """The catalog's calibrated per-tag threshold when that module is present, else `default`."""
    try:
        from musechat.catalog import facts as catalog_facts  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return default
    thresholds = getattr(catalog_facts, "TAG_THRESHOLDS", None)
    if isinstance(thresholds, Mapping):
        value = thresholds.get(tag)
        if isinstance(value, int | float):
            return float(value)
    return default


# ------------------------------------------------------------------------------------------ video
@dataclass(frozen=True)
class VideoFacts:
    """Measured on the decoded frames (see `video_facts`); each has a plain-words label for the prompt."""

    cuts_per_min: float
    motion: float  # mean absolute frame-to-frame change within shots, 0-1
    brightness: float  # mean luma, 0-1
    warmth: float  # mean (R - B), -1..1
    saturation: float  # mean HSV saturation, 0-1

    @property
    def pacing(self) -> Literal["rapid cuts", "occasional cuts", "few cuts"]:
        # No tempo word in a video label ("quick", "slow"): grounded decoding bans those by the music's tempo.
        return "rapid cuts" if self.cuts_per_min >= 12 else "few cuts" if self.cuts_per_min < 3 else "occasional cuts"

    @property
    def movement(self) -> Literal["lots of motion", "little motion", "some motion"]:
        return "lots of motion" if self.motion >= 0.08 else "little motion" if self.motion < 0.03 else "some motion"

    @property
    def light(self) -> Literal["bright", "dark", "mid-lit"]:
        return "bright" if self.brightness >= 0.6 else "dark" if self.brightness < 0.35 else "mid-lit"

    @property
    def colour(self) -> Literal["warm colours", "cool colours", "neutral colours"]:
        return "warm colours" if self.warmth >= 0.06 else "cool colours" if self.warmth <= -0.06 else "neutral colours"

    def labels(self) -> tuple[str, ...]:
        return (self.pacing, self.movement, self.light, self.colour)


def video_facts(frames: Any, fps: float) -> VideoFacts:
    """Cut rate, motion, brightness and colour of [N, H, W, 3] uint8 frames sampled at `fps`.

    A cut is a frame whose colour histogram differs from the previous one by more than half its mass
    (robust to motion inside a shot); motion is the mean absolute pixel change between frames of one shot.
    """
    import numpy as np

    x = np.asarray(frames, dtype=np.float32) / 255.0
    if x.ndim != 4 or x.shape[-1] != 3 or x.shape[0] == 0:
        raise ValueError(f"frames must be [N, H, W, 3], got {x.shape}")
    luma = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    mx, mn = x.max(axis=-1), x.min(axis=-1)
    sat = np.where(mx > 1e-6, (mx - mn) / np.maximum(mx, 1e-6), 0.0)
    bins = np.minimum((x * 4).astype(np.int32), 3)
    codes = bins[..., 0] * 16 + bins[..., 1] * 4 + bins[..., 2]
    hists = np.stack([np.bincount(c.ravel(), minlength=64) for c in codes]).astype(np.float32)
    hists /= hists.sum(axis=1, keepdims=True)
    cuts, motion = 0, []
    for i in range(1, len(x)):
        if 0.5 * float(np.abs(hists[i] - hists[i - 1]).sum()) > 0.5:
            cuts += 1
        else:
            motion.append(float(np.abs(luma[i] - luma[i - 1]).mean()))
    minutes = max(len(x) / fps, 1e-6) / 60.0
    return VideoFacts(
        cuts_per_min=round(cuts / minutes, 1),
        motion=round(float(np.mean(motion)) if motion else 0.0, 4),
        brightness=round(float(luma.mean()), 4),
        warmth=round(float((x[..., 0] - x[..., 2]).mean()), 4),
        saturation=round(float(sat.mean()), 4),
    )


# ------------------------------------------------------------------------------------------ request
@dataclass(frozen=True)
class Ask:
    """One thing the user asked for: `attribute` is "faster", "slower", "vocals" or a tag; `want` False
    means "without it" ("no vocals")."""

    attribute: str
    want: bool = True

    def label(self) -> str:
        if self.attribute in ("faster", "slower"):
            return self.attribute
        return self.attribute if self.want else f"no {self.attribute}"


_FASTER = re.compile(r"\b(faster|quicker|speed (?:it )?up|more (?:energy|energetic|upbeat|tempo)|upbeat|"
                     r"energetic|livelier|pick up the pace|more pace)\b", re.I)  # fmt: skip
_SLOWER = re.compile(r"\b(slower|calmer|calm|more relaxed|relaxing|gentler|softer|chill(?:er)?|slow (?:it )?down|"
                     r"less (?:energy|energetic|intense)|quieter|mellower)\b", re.I)  # fmt: skip
_NO_VOCALS = re.compile(r"\b(no (?:vocals?|voices?|singing|singer|lyrics)|without (?:vocals?|voices?|singing|lyrics)|"
                        r"instrumental)\b", re.I)  # fmt: skip
_VOCALS = re.compile(r"\b(with (?:vocals?|a singer|singing|lyrics)|(?:some|more) (?:vocals?|singing)|a singer|"
                     r"someone singing)\b", re.I)  # fmt: skip
ASKABLE_TAGS = ("piano", "guitar", "strings", "synth", "drums", "violin", "electronic", "acoustic", "rock",
                "jazz", "ambient", "classical", "dance", "pop", "folk")  # fmt: skip


@dataclass(frozen=True)
class RequestFacts:
    words: str = ""
    asks: tuple[Ask, ...] = field(default=())

    @classmethod
    def from_words(cls, words: str) -> RequestFacts:
        """A small rule parser for the explainer's needs (tempo direction, vocals, named instruments or
        genres). The request-understanding module's typed result replaces it when the turn carries one."""
        asks: list[Ask] = []
        if _FASTER.search(words):
            asks.append(Ask("faster"))
        elif _SLOWER.search(words):
            asks.append(Ask("slower"))
        if _NO_VOCALS.search(words):
            asks.append(Ask("vocals", False))
        elif _VOCALS.search(words):
            asks.append(Ask("vocals", True))
        lowered = words.lower()
        for tag in ASKABLE_TAGS:
            m = re.search(rf"\b(no|without|less|fewer)?\s*(?:\w+\s)?{tag}s?\b", lowered)
            if m:
                asks.append(Ask(tag, m.group(1) is None))
        return cls(words=words, asks=tuple(asks))

    @classmethod
    def from_understood(cls, words: str, understood: Any) -> RequestFacts:
        """From a typed understood request (duck-typed: `tempo` "faster"/"slower", `vocals` bool|None,
        `include`/`exclude` tag lists); falls back to the words for anything it lacks."""
        parsed = cls.from_words(words)
        asks: list[Ask] = []
        tempo = getattr(understood, "tempo", None) or getattr(understood, "tempo_direction", None)
        if tempo in ("faster", "slower"):
            asks.append(Ask(str(tempo)))
        vocals = getattr(understood, "vocals", None)
        if isinstance(vocals, bool):
            asks.append(Ask("vocals", vocals))
        for name in getattr(understood, "include", None) or getattr(understood, "include_tags", None) or ():
            asks.append(Ask(normalize_tag(str(name)), True))
        for name in getattr(understood, "exclude", None) or getattr(understood, "exclude_tags", None) or ():
            asks.append(Ask(normalize_tag(str(name)), False))
        return cls(words=words, asks=tuple(asks) if asks else parsed.asks)


def ask_met(ask: Ask, track: MusicFacts, previous: MusicFacts | None) -> bool | None:
    """True/False when the facts decide it; None when they cannot (e.g. no tempo measured)."""
    if ask.attribute in ("faster", "slower"):
        sign = 1 if ask.attribute == "faster" else -1
        if previous is not None and track.tempo_bpm is not None and previous.tempo_bpm is not None:
            return sign * (track.tempo_bpm - previous.tempo_bpm) > 0
        cls = track.tempo
        if cls is None:
            return None
        return cls == ("fast" if sign > 0 else "slow")
    if ask.attribute == "vocals":
        has = track.has_vocals
        return None if has is None else has == ask.want
    return (normalize_tag(ask.attribute) in set(track.norm_tags)) == ask.want


def request_met(request: RequestFacts | None, track: MusicFacts, previous: MusicFacts | None) -> bool | None:
    """Whether every ask is met by the facts: None when there was no ask, or one cannot be decided."""
    if request is None or not request.asks:
        return None
    verdicts = [ask_met(a, track, previous) for a in request.asks]
    if any(v is False for v in verdicts):
        return False
    return None if any(v is None for v in verdicts) else True


@dataclass(frozen=True)
class ExplainContext:
    """Everything one explanation is built from and checked against."""

    track: MusicFacts
    previous: MusicFacts | None = None
    request: RequestFacts | None = None
    video: VideoFacts | None = None

    @property
    def met(self) -> bool | None:
        return request_met(self.request, self.track, self.previous)

    def numbers(self) -> frozenset[str]:
        """Every number the text may state (as written in the prompt)."""
        out: set[str] = set()
        for facts in (self.track, self.previous):
            if facts is None:
                continue
            if facts.tempo_bpm is not None:
                out.add(str(round(facts.tempo_bpm)))
            if facts.duration_s is not None:
                out.update(fmt_duration(facts.duration_s).split(":"))
                out.update({fmt_duration(facts.duration_s), str(round(facts.duration_s))})
            for name in (facts.title, facts.artist, facts.album):
                out.update(re.findall(r"\d+", name))
        if self.video is not None:
            out.add(str(round(self.video.cuts_per_min)))
        out.update(re.findall(r"\d+", self.request.words if self.request else ""))
        return frozenset(out)

    def names(self) -> Iterable[str]:
        for facts in (self.track, self.previous):
            if facts is not None:
                yield from (facts.title, facts.artist)
