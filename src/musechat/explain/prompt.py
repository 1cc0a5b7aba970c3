"""Prompt building (pure): the track's measured facts, the previous pick, the request, the video.

The prompt is a (system, user) message pair; each backend renders it with the base model's chat
template. It is a short list of facts, each in the words the answer may use: every prompt token is
paid for in each training step and each request (≈110 tokens with everything present), and the
grounding check verifies the answer against exactly these facts (`ExplainContext`).

The user's words appear once. The conversation history is not repeated: what it established (the
previous pick and the request) is given as facts.

The answer's first sentence is given (`answer_prefix`): one of the neutral openers the adapter was
trained on, holding the title and artist, so names are copied exactly by construction (the last
hallucination the default adapter made was a garbled title, "Gentle Gentle Comes" for "Gentle
Comets"). The opener is picked by a stable hash of the track, so answers keep their variety and the
same track gets the same opener. A retry (`RetryHint`) feeds the first attempt's problems back and
starts with a different opener, so it cannot repeat the first attempt.
When the music embedding is on, the user message carries MUSIC_PLACEHOLDER where the projected music
vector(s) are spliced in as soft tokens.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from musechat.explain.data import TrackMeta, Turn
from musechat.explain.facts import (
    MAX_PROMPT_TAGS,
    ExplainContext,
    RequestFacts,
    VideoFacts,
    fmt_duration,
    tempo_comparison,
)
from musechat.explain.grounding import contradicting_phrases
from musechat.explain.tags import TAG_VOCABULARY

MUSIC_PLACEHOLDER = "<|music|>"
MAX_WORDS_CHARS = 300

SYSTEM_PROMPT = (
    "Explain in one or two sentences why the track fits. Name its title and artist. Use only the facts "
    "given. Say it matches the request only if 'Request met: yes'."
)


# Openers that only name the pick (no claim about it): training references start with one of these (or
# with match praise where the request is not unmet, datasets._MATCH_OPENERS), and served answers start
# with one given as the answer's prefix.
ANSWER_OPENERS = ('I suggest "{T}" by {A}.', '"{T}" by {A} fits.', 'Try "{T}" by {A}.', 'How about "{T}" by {A}?',
                  'Here is "{T}" by {A}.', 'Next up: "{T}" by {A}.', 'My pick is "{T}" by {A}.',
                  'Listen to "{T}" by {A}.', 'This one is "{T}" by {A}.')  # fmt: skip


def answer_opener(track: TrackMeta, attempt: int = 1) -> str:
    """The given first sentence of the answer: an opener picked by a stable hash of the track, the
    next one on each further attempt."""
    title, artist = track.title.strip(), track.artist.strip()
    index = zlib.crc32(f"{title}\x1f{artist}".encode()) + attempt - 1
    return ANSWER_OPENERS[index % len(ANSWER_OPENERS)].format(T=title, A=artist)


@dataclass(frozen=True)
class RetryHint:
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ExplainPrompt:
    system: str
    user: str
    answer_prefix: str = ""  # the start of the assistant's answer, given (the model continues it)
    is_retry: bool = False
    named: tuple[str, str] = ("", "")  # the pick's title and artist, as the given start names them
    # Claim phrases the facts contradict (`grounding.contradicting_phrases`): grounded decoding keeps the
    # model from writing them (each backend bans their token sequences).
    banned: tuple[str, ...] = ()

    @property
    def has_music_slot(self) -> bool:
        return MUSIC_PLACEHOLDER in self.user

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_WORDS_CHARS else text[: MAX_WORDS_CHARS - 1] + "…"


def track_lines(track: TrackMeta) -> list[str]:
    lines = [f'Track: "{track.title.strip()}" by {track.artist.strip()}']
    if track.tempo_bpm is not None:
        lines.append(f"Tempo: {round(track.tempo_bpm)} bpm, {track.tempo}")
    elif track.tempo is not None:
        lines.append(f"Tempo: {track.tempo}")
    vocals = track.has_vocals
    if vocals is not None:
        lines.append("Vocals: yes" if vocals else "Vocals: none, instrumental")
    if track.duration_s is not None:
        lines.append(f"Length: {fmt_duration(track.duration_s)}")
    sounds = [t for t in track.norm_tags if t not in _TEMPO_AND_VOCAL_TAGS][:MAX_PROMPT_TAGS]
    lines.append(f"Sounds: {', '.join(sounds) if sounds else 'unknown'}")
    return lines


_TEMPO_AND_VOCAL_TAGS = frozenset({"fast", "slow", "vocal", "vocals", "no vocals", "no vocal", "no voice",
                                   "instrumental", "singing", "voice"})  # fmt: skip


def previous_line(previous: TrackMeta, track: TrackMeta | None = None) -> str:
    """The previous pick, and how the track's tempo compares with it: a small model copies a stated
    comparison far more reliably than it compares two numbers (the first default adapter wrote the wrong
    one of "faster"/"slower" in 8 % of 130 held-out answers)."""
    tempo = ""
    if previous.tempo_bpm is not None:
        tempo = f", {round(previous.tempo_bpm)} bpm"
        word = tempo_comparison(track, previous) if track is not None else None
        if word is not None:
            tempo += f"; this one is {word}"
    return f'Previous pick: "{previous.title.strip()}" by {previous.artist.strip()}{tempo}'


def video_line(video: VideoFacts) -> str:
    return f"Video: {', '.join(video.labels())}"


def request_lines(words: str, request: RequestFacts | None, met: bool | None) -> list[str]:
    words = _clip(words)
    if not words:
        return ["User: (nothing yet, first pick)"]
    lines = [f"User: {words}"]
    if request is not None and request.asks:
        asks = ", ".join(a.label() for a in request.asks)
        verdict = "yes" if met else "no" if met is False else "unknown"
        lines.append(f"Request met: {verdict} ({asks})")
    return lines


def build_prompt(
    track: TrackMeta,
    user_words: str,
    history: Sequence[Turn] = (),
    *,
    music: bool = False,
    previous: TrackMeta | None = None,
    request: RequestFacts | None = None,
    video: VideoFacts | None = None,
    retry: RetryHint | None = None,
    ban_vocabulary: Iterable[str] | None = TAG_VOCABULARY,
) -> ExplainPrompt:
    """`history` is accepted for callers that have it but not repeated: see the module docstring.
    `ban_vocabulary`: the tags grounded decoding knows (the check's vocabulary); None turns it off."""
    del history
    if request is None and user_words.strip():
        request = RequestFacts.from_words(user_words)
    context = ExplainContext(track=track, previous=previous, request=request, video=video)
    lines = track_lines(track)
    if music:
        lines.append(f"Music: {MUSIC_PLACEHOLDER}")
    if previous is not None:
        lines.append(previous_line(previous, track))
    if video is not None:
        lines.append(video_line(video))
    lines.extend(request_lines(user_words, request, context.met))
    if retry is not None:
        lines.append(f"Your last answer was wrong: {'; '.join(retry.problems)[:300]}. Use only the facts above.")
    return ExplainPrompt(system=SYSTEM_PROMPT, user="\n".join(lines),
                         answer_prefix=answer_opener(track, 1 if retry is None else 2), is_retry=retry is not None,
                         named=(track.title.strip(), track.artist.strip()),
                         banned=() if ban_vocabulary is None else contradicting_phrases(context, ban_vocabulary))


def context_of(track: TrackMeta, user_words: str, *, previous: TrackMeta | None = None,
               request: RequestFacts | None = None, video: VideoFacts | None = None) -> ExplainContext:
    """The same context build_prompt shows the model, for the grounding check."""
    if request is None and user_words.strip():
        request = RequestFacts.from_words(user_words)
    return ExplainContext(track=track, previous=previous, request=request, video=video)


def split_at_music(rendered: str) -> tuple[str, str]:
    """Text before and after the single music placeholder of a rendered prompt."""
    parts = rendered.split(MUSIC_PLACEHOLDER)
    if len(parts) != 2:
        raise ValueError(f"expected exactly one {MUSIC_PLACEHOLDER} in the prompt, found {len(parts) - 1}")
    return parts[0], parts[1]
