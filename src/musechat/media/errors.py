"""Typed media errors with stable codes: services map them to per-item results, workers to DLQ headers.

The codes are shared by the audio and video decoders; a decoder adds a subclass with a code from
`MediaErrorCode` (add the code here first, so every consumer's `Literal` stays in step).
"""

from __future__ import annotations

from typing import Literal

from musechat.errors import MuseChatError

MediaErrorCode = Literal[
    "not_found",
    "empty_file",
    "unsupported_format",
    "corrupt",
    "no_audio_stream",
    "no_video_stream",
    "too_long",
    "too_large",
    "too_short",
    "silent",
    "not_music",
]


class MediaError(MuseChatError):
    """A media input that cannot be used; `code` is stable (API contract), `message` is for humans."""

    status = 422
    code: MediaErrorCode = "corrupt"

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class MediaNotFoundError(MediaError):
    code = "not_found"


class EmptyMediaError(MediaError):
    code = "empty_file"


class UnsupportedFormatError(MediaError):
    code = "unsupported_format"


class CorruptMediaError(MediaError):
    code = "corrupt"


class NoAudioStreamError(MediaError):
    code = "no_audio_stream"


class MediaTooLongError(MediaError):
    code = "too_long"


class MediaTooShortError(MediaError):
    code = "too_short"


class SilentMediaError(MediaError):
    code = "silent"


class NotMusicError(MediaError):
    """Decodable audio that is not music (a sound effect, a jingle-less noise): the tagger's music
    evidence is weak and the clip is short. Raised by the music encoder, not by the decoder."""

    code = "not_music"
