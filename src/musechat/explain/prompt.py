"""Prompt building (pure): the recommended track's metadata, the user's words, the conversation so far.

The prompt is a (system, user) message pair; each backend renders it with the base model's chat
template. When the music embedding is on, the user message carries MUSIC_PLACEHOLDER where the
projected music vector(s) are spliced in as soft tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from musechat.explain.data import TrackMeta, Turn

MUSIC_PLACEHOLDER = "<|music|>"
MAX_HISTORY_TURNS = 6  # older turns add tokens, not grounding: the current track and words decide.
MAX_TURN_CHARS = 400

# Short on purpose: every prompt token is paid for in each training step and each request.
SYSTEM_PROMPT = (
    "Explain in two sentences why the suggested track fits. Use its exact title and artist, only its "
    "listed tags, and name no other song."
)


@dataclass(frozen=True)
class ExplainPrompt:
    system: str
    user: str

    @property
    def has_music_slot(self) -> bool:
        return MUSIC_PLACEHOLDER in self.user

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TURN_CHARS else text[: MAX_TURN_CHARS - 1] + "…"


def build_prompt(
    track: TrackMeta, user_words: str, history: Sequence[Turn] = (), *, music: bool = False
) -> ExplainPrompt:
    lines = [f'Suggested track: "{track.title}" by {track.artist}']
    if track.album.strip():
        lines.append(f"Album: {track.album.strip()}")
    lines.append(f"Tags: {', '.join(track.tags) if track.tags else '(none)'}")
    if music:
        lines.append(f"Music: {MUSIC_PLACEHOLDER}")
    recent = list(history)[-MAX_HISTORY_TURNS:]
    if recent:
        lines.append("Conversation so far:")
        lines.extend(f"{'User' if t.role == 'user' else 'Assistant'}: {_clip(t.text)}" for t in recent)
    words = _clip(user_words)
    lines.append(f"The user's latest words: {words}" if words else "The user has not said anything yet.")
    lines.append("Explain why this track fits.")
    return ExplainPrompt(system=SYSTEM_PROMPT, user="\n".join(lines))


def split_at_music(rendered: str) -> tuple[str, str]:
    """Text before and after the single music placeholder of a rendered prompt."""
    parts = rendered.split(MUSIC_PLACEHOLDER)
    if len(parts) != 2:
        raise ValueError(f"expected exactly one {MUSIC_PLACEHOLDER} in the prompt, found {len(parts) - 1}")
    return parts[0], parts[1]
