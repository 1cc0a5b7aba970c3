"""Decode any audio (or a video's audio track) to 16 kHz mono float32 with PyAV, with typed errors.

Error policy (codes are stable, see `errors.py`):
- `not_found` / `empty_file`: checked before FFmpeg sees the input.
- `unsupported_format`: the bytes are recognisably not media (text, an image, a PDF or a zip archive),
  sniffed from the first bytes, or FFmpeg opens them only as an image/text "video" stream.
- `corrupt`: FFmpeg cannot open bytes that are not recognisably something else (garbage, or a media
  file cut short before its index, e.g. an MP4 whose `moov` box is missing), the audio stream yields no
  samples, more than `MAX_BAD_PACKET_FRACTION` packets fail to decode, or the decoded audio is clearly
  shorter than the duration the container declares (a truncated MP3/FLAC). Isolated bad packets are
  skipped, the way the `ffmpeg` CLI does, so one glitch does not reject a whole track.
- `no_audio_stream`: a real container (e.g. a video) without any audio stream.
- `too_long`: checked against the container's declared duration *before* decoding when it has one,
  and again while decoding (durations can be missing or wrong).
- `too_short` / `silent`: after decoding, below `min_duration_s` / peak below `silence_peak`.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musechat.media.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaNotFoundError,
    MediaTooLongError,
    MediaTooShortError,
    NoAudioStreamError,
    SilentMediaError,
    UnsupportedFormatError,
)

if TYPE_CHECKING:
    import av.container

log = logging.getLogger(__name__)
TARGET_SAMPLE_RATE = 16000
DEFAULT_MAX_DURATION_S = 1800.0
DEFAULT_MIN_DURATION_S = 1.0
# -80 dBFS: below this peak a track is digital silence (or near it), useless to encode.
DEFAULT_SILENCE_PEAK = 1e-4
MAX_BAD_PACKET_FRACTION = 0.05
# Decoded audio shorter than this share of the declared duration (and by more than TRUNCATION_SLACK_S)
# means the file was cut short.
TRUNCATION_RATIO = 0.9
TRUNCATION_SLACK_S = 0.5
_SNIFF_BYTES = 4096

# Containers FFmpeg opens as a single still image or as rendered text: never audio.
_NON_AUDIO_DEMUXERS = {"image2", "tty", "gif", "apng", "svg_pipe"}

_NON_MEDIA_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF87a", 0, "a GIF image"),
    (b"GIF89a", 0, "a GIF image"),
    (b"WEBP", 8, "a WebP image"),
    (b"BM", 0, "a BMP image"),
    (b"%PDF", 0, "a PDF document"),
    (b"PK\x03\x04", 0, "a zip archive (or an office document)"),
    (b"\x1f\x8b", 0, "a gzip archive"),
    # Tracker modules and MIDI hold notes and instrument samples, not recorded audio: a renderer would
    # have to play them (FFmpeg's build here has none). Unsupported, not corrupt.
    (b"IMPM", 0, "an Impulse Tracker module (notes, not recorded audio)"),
    (b"Extended Module: ", 0, "a FastTracker 2 module (notes, not recorded audio)"),
    (b"SCRM", 44, "a Scream Tracker 3 module (notes, not recorded audio)"),
    (b"MTM", 0, "a MultiTracker module (notes, not recorded audio)"),
    (b"M.K.", 1080, "a ProTracker module (notes, not recorded audio)"),
    (b"M!K!", 1080, "a ProTracker module (notes, not recorded audio)"),
    (b"FLT4", 1080, "a StarTrekker module (notes, not recorded audio)"),
    (b"MThd", 0, "a MIDI file (notes, not recorded audio)"),
]


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # float32 [n], mono, in [-1, 1]
    sample_rate: int
    duration_s: float
    source_format: str  # FFmpeg demuxer name, e.g. "mp3", "ogg", "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str  # FFmpeg decoder name of the stream that was used, e.g. "mp3float", "aac", "opus"
    # Title / artist / album / genre the file carries (ID3, Vorbis comments, MP4 atoms), lower-case keys.
    metadata: dict[str, str] = field(default_factory=dict)


def _sniff_non_media(head: bytes) -> str | None:
    """Describe `head` when it is recognisably not media (an image, a document, text); else None."""
    for magic, offset, what in _NON_MEDIA_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return what
    if head and b"\x00" not in head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            # A multi-byte character cut at the sniff boundary is still text.
            try:
                text = head[:-3].decode("utf-8")
            except UnicodeDecodeError:
                return None
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
        if printable / max(1, len(text)) > 0.95:
            return "a text file"
    return None


def _declared_duration(container: av.container.InputContainer, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def decode_audio(
    source: str | Path | bytes,
    target_sr: int = TARGET_SAMPLE_RATE,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
    min_duration_s: float = DEFAULT_MIN_DURATION_S,
    silence_peak: float | None = DEFAULT_SILENCE_PEAK,
    name: str | None = None,
) -> DecodedAudio:
    """Decode `source` (a path or the file's bytes) to mono float32 at `target_sr`.

    `name` labels the input in error messages (e.g. the uploaded filename). Pass `silence_peak=None`
    to accept silent audio. Raises a `MediaError` subclass; never returns empty audio.
    """

    label = name or (str(source) if not isinstance(source, bytes) else "the uploaded audio")
    if isinstance(source, bytes):
        if not source:
            raise EmptyMediaError(f"{label} is empty (0 bytes)")
        head = source[:_SNIFF_BYTES]
        handle: Any = io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise MediaNotFoundError(f"{label} does not exist or is not a regular file")
        if path.stat().st_size == 0:
            raise EmptyMediaError(f"{label} is empty (0 bytes)")
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
        handle = str(path)

    what = _sniff_non_media(head)
    if what is not None:
        raise UnsupportedFormatError(f"{label} is {what}, not audio or video")

    try:
        samples, fmt, codec, metadata = _decode_with_ffmpeg(handle, target_sr, max_duration_s, label)
    except CorruptMediaError as refused:
        # FFmpeg refused bytes that may still be valid audio (a format it lacks, an Ogg whose last page
        # claims a wrong length): libsndfile, an independent decoder, gets a second look.
        fallback = _decode_with_libsndfile(source, target_sr, max_duration_s, label)
        if fallback is None:
            raise
        log.info("FFmpeg refused %s (%s); decoded by libsndfile instead", label, refused.message)
        samples, fmt, codec = fallback
        metadata = {}

    duration = samples.size / target_sr
    if duration < min_duration_s:
        raise MediaTooShortError(f"{label} lasts {duration:.2f} s, shorter than the {min_duration_s:g} s minimum")
    if silence_peak is not None and float(np.max(np.abs(samples))) < silence_peak:
        level = 20 * np.log10(silence_peak)
        raise SilentMediaError(f"{label} is silent (peak level below {level:.0f} dBFS)")
    return DecodedAudio(samples=samples, sample_rate=target_sr, duration_s=duration, source_format=fmt, codec=codec,
                        metadata=metadata)


EMBEDDED_TAG_KEYS = ("title", "artist", "album", "genre")
_TAG_ALIASES = {"album_artist": "artist", "albumartist": "artist", "performer": "artist"}


def embedded_tags(container: Any, stream: Any) -> dict[str, str]:
    """The file's own title/artist/album/genre: container tags (ID3, MP4), then the stream's (Ogg/Opus
    keep Vorbis comments on the stream). First non-empty value wins; values are trimmed to 300 chars."""
    found: dict[str, str] = {}
    sources = (getattr(container, "metadata", None) or {}, getattr(stream, "metadata", None) or {})
    for use_aliases in (False, True):  # a real 'artist' beats 'album_artist'
        for source in sources:
            for raw_key, raw_value in source.items():
                key = str(raw_key).lower()
                key = _TAG_ALIASES.get(key, key) if use_aliases else key
                value = str(raw_value).strip()
                if key in EMBEDDED_TAG_KEYS and value and key not in found:
                    found[key] = value[:300]
    return found


def _decode_with_ffmpeg(
    handle: Any, target_sr: int, max_duration_s: float, label: str
) -> tuple[np.ndarray, str, str, dict[str, str]]:
    """The main decoder (PyAV's FFmpeg): samples, demuxer name, codec name and the file's own tags."""
    import av

    try:
        container = av.open(handle, mode="r")
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(
            f"{label} is not a readable audio or video file (unrecognised or damaged data: {exc.strerror})"
        ) from exc
    with container:
        fmt = container.format.name
        audio_streams = list(container.streams.audio)
        if not audio_streams:
            if fmt in _NON_AUDIO_DEMUXERS or fmt.endswith("_pipe"):
                raise UnsupportedFormatError(f"{label} was read as '{fmt}', which holds no audio")
            kinds = ", ".join(s.type for s in container.streams) or "none"
            raise NoAudioStreamError(f"{label} ({fmt}) has no audio stream (streams: {kinds})")
        stream = container.streams.best("audio") or audio_streams[0]
        declared = _declared_duration(container, stream)
        if declared is not None and declared > max_duration_s:
            raise MediaTooLongError(f"{label} lasts {declared:.1f} s, longer than the {max_duration_s:.0f} s limit")
        samples = _decode_stream(container, stream, target_sr, max_duration_s, label)
        codec = stream.codec_context.name
        metadata = embedded_tags(container, stream)
    duration = samples.size / target_sr
    if samples.size == 0:
        raise CorruptMediaError(f"{label} ({fmt}) has an audio stream but no decodable samples")
    if declared is not None and duration < declared * TRUNCATION_RATIO - TRUNCATION_SLACK_S:
        raise CorruptMediaError(
            f"{label} is truncated: decoded {duration:.1f} s of the {declared:.1f} s its header declares"
        )
    return samples, fmt, codec, metadata


# Formats whose "declared" length is only the granule position of the last page, not a header field: a
# cut file shows its own shorter length, so a mismatch means a wrong granule, not missing audio.
_GRANULE_LENGTH_FORMATS = {"OGG"}


def _decode_with_libsndfile(
    source: str | Path | bytes, target_sr: int, max_duration_s: float, label: str
) -> tuple[np.ndarray, str, str] | None:
    """libsndfile's reading of `source`, resampled to mono `target_sr`; None when it cannot read it
    either or finds it cut short (the FFmpeg verdict then stands)."""
    import soundfile

    handle: Any = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        with soundfile.SoundFile(handle) as sound:
            if sound.frames > 0 and sound.frames / sound.samplerate > max_duration_s:
                raise MediaTooLongError(
                    f"{label} lasts {sound.frames / sound.samplerate:.1f} s, longer than the "
                    f"{max_duration_s:.0f} s limit")
            data = sound.read(dtype="float32", always_2d=True)
            rate, fmt, subtype, declared = sound.samplerate, sound.format, sound.subtype, sound.frames
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError):
        return None
    if data.shape[0] == 0:
        return None
    if fmt not in _GRANULE_LENGTH_FORMATS and data.shape[0] < declared * TRUNCATION_RATIO - TRUNCATION_SLACK_S * rate:
        return None
    mono = data.mean(axis=1)
    if rate != target_sr:
        import soxr

        mono = soxr.resample(mono, rate, target_sr, quality="HQ")
    return np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False), f"libsndfile:{fmt.lower()}", subtype.lower()


def _decode_stream(
    container: av.container.InputContainer, stream: Any, target_sr: int, max_duration_s: float, label: str
) -> np.ndarray:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=target_sr)
    chunks: list[np.ndarray] = []
    total = 0
    limit = int(max_duration_s * target_sr)
    packets = bad = 0

    def take(frames: list[Any]) -> None:
        nonlocal total
        for out in frames:
            chunk = out.to_ndarray().reshape(-1)
            chunks.append(chunk)
            total += chunk.size
        if total > limit:
            raise MediaTooLongError(f"{label} runs past the {max_duration_s:.0f} s limit")

    try:
        for packet in container.demux(stream):
            # The demuxer ends with an empty packet; decoding it flushes the decoder's delayed frames.
            packets += packet.size > 0
            try:
                frames = stream.decode(packet)
            except av.error.FFmpegError:
                bad += 1
                continue
            for frame in frames:
                take(resampler.resample(frame))
        take(resampler.resample(None))
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"{label} could not be demuxed: {exc.strerror}") from exc
    if packets and bad / packets > MAX_BAD_PACKET_FRACTION:
        raise CorruptMediaError(f"{label} is damaged: {bad} of {packets} audio packets failed to decode")
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def read_embedded_tags(path: str | Path) -> dict[str, str]:
    """A file's own title/artist/album/genre without decoding it ({} when FFmpeg cannot open it): the
    catalog uses them for files its manifest does not describe."""
    import av

    try:
        with av.open(str(path), mode="r") as container:
            stream = container.streams.best("audio")
            return embedded_tags(container, stream)
    except (av.error.FFmpegError, OSError, ValueError):
        return {}
