"""Decode a video's frames for the video encoder: 5 fps, 10 s segments, at most 12, never its audio.

Segment plan (`plan_segments`, a pure function):
- Videos up to 12 x 10 s: consecutive 10 s windows from the start. A last window shorter than
  `min_tail_s` (1 s) is dropped when an earlier window exists, so a 120.4 s video gives exactly 12
  full windows and not a 13th sliver. Shorter videos give fewer windows; the last one may be partial.
- Longer videos: 12 windows of 10 s spread evenly from the first to the last second (first starts at
  0, last ends at the end). The paper cuts 120 s clips; a music pick must fit the whole video, so the
  windows sample all of it rather than only its first two minutes. Windows far apart are reached by
  seeking to the nearest earlier keyframe, so a long video costs about as much as a two-minute one.

Sampling: at each instant `window_start + k / fps` (k = 0, 1, ... while inside the window) the frame on
screen is taken (the last frame whose timestamp is <= the instant). Frames are resized (bicubic) so
the short side is `frame_size` and centre-cropped to a square, exactly what CLIP's image processor does,
so the decoded video stays small (12 x 50 frames x 224^2 x 3 bytes = 90 MB at most).

Only the video stream is demuxed and decoded: the video's own soundtrack is the recommendation target
and must never enter the query.

Errors (codes are the shared `MediaError` codes):
- `not_found`, `empty_file` (0 bytes), `too_large` (over `max_bytes`): before FFmpeg sees the file.
- `unsupported_format`: not a video at all (text, an image, unrecognised bytes: `NotAVideoError`), or a
  real container other than MP4/MOV/WebM/MKV, or a codec this FFmpeg build cannot decode.
- `no_video_stream`: a real container with audio but no video stream (e.g. audio-only MP4).
- `corrupt`: a recognised container that FFmpeg cannot open (an MP4 cut before its `moov` index) or
  opens with neither a video nor an audio stream, a decode error mid-stream, no decodable frame, or
  frames ending well before the declared duration (`TruncatedVideoError`).
- `too_long`: the declared (or, when none, the demuxed) duration is over `max_duration_s`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musechat.contracts.features import MAX_SEGMENTS, SEGMENT_SECONDS
from musechat.media.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaNotFoundError,
    MediaTooLongError,
    UnsupportedFormatError,
)

DEFAULT_FPS = 5.0
DEFAULT_FRAME_SIZE = 224
DEFAULT_MAX_DURATION_S = 1800.0
DEFAULT_MAX_BYTES = 2 * 1024**3
MIN_TAIL_S = 1.0
# Jumping further than this ahead is cheaper by seeking to a keyframe than by decoding through.
SEEK_GAP_S = 5.0
# Frames ending this much before the declared duration (beyond two source frames) mean a cut file.
TRUNCATION_SLACK_S = 1.0
_SNIFF_BYTES = 4096

ALLOWED_DEMUXERS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm")
ALLOWED_LABEL = "MP4, MOV, WebM or MKV"

# Container signatures: bytes that FFmpeg cannot open despite one of these are a damaged video.
_VIDEO_MAGIC: list[tuple[bytes, int, str]] = [
    (b"ftyp", 4, "MP4/MOV"),
    (b"moov", 4, "MP4/MOV"),
    (b"mdat", 4, "MP4/MOV"),
    (b"wide", 4, "MOV"),
    (b"\x1a\x45\xdf\xa3", 0, "Matroska/WebM"),
]
_NON_VIDEO_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF87a", 0, "a GIF image"),
    (b"GIF89a", 0, "a GIF image"),
    (b"%PDF", 0, "a PDF document"),
    (b"PK\x03\x04", 0, "a zip archive"),
    (b"ID3", 0, "an MP3 audio file"),
    (b"fLaC", 0, "a FLAC audio file"),
    (b"OggS", 0, "an Ogg file"),
]


class NotAVideoError(UnsupportedFormatError):
    """The bytes are not a video at all (text, an image, a document, unrecognised data)."""


class UnsupportedVideoError(UnsupportedFormatError):
    """A real video, but in a container or codec this service does not take."""


class NoVideoStreamError(MediaError):
    code = "no_video_stream"


class VideoTooLargeError(MediaError):
    status, code = 413, "too_large"


class TruncatedVideoError(CorruptMediaError):
    """A recognised video that stops early or cannot be read through: an interrupted upload."""


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float

    def sample_times(self, fps: float) -> list[float]:
        n = max(1, math.ceil((self.end_s - self.start_s) * fps - 1e-9))
        return [self.start_s + k / fps for k in range(n)]


@dataclass(frozen=True)
class DecodedVideo:
    """Sampled RGB frames per segment, ready for a frame encoder."""

    segments: list[np.ndarray]  # one uint8 [frames, frame_size, frame_size, 3] per segment
    windows: list[Segment]
    duration_s: float
    fps: float
    source_format: str  # FFmpeg demuxer, e.g. "matroska,webm"
    codec: str  # FFmpeg decoder, e.g. "h264"

    @property
    def num_segments(self) -> int:
        return len(self.segments)

    @property
    def mask(self) -> list[bool]:
        """MAX_SEGMENTS flags: True where a segment exists (always a prefix)."""
        return [i < self.num_segments for i in range(MAX_SEGMENTS)]

    @property
    def num_frames(self) -> int:
        return sum(len(s) for s in self.segments)


def plan_segments(
    duration_s: float,
    segment_s: float = SEGMENT_SECONDS,
    max_segments: int = MAX_SEGMENTS,
    min_tail_s: float = MIN_TAIL_S,
) -> list[Segment]:
    """The windows to sample for a video of `duration_s` seconds (see the module docstring)."""
    if duration_s <= 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    n = max(1, math.ceil((duration_s - min_tail_s) / segment_s - 1e-9))
    if n <= max_segments:
        return [Segment(i * segment_s, min((i + 1) * segment_s, duration_s)) for i in range(n)]
    step = (duration_s - segment_s) / (max_segments - 1)
    return [Segment(i * step, i * step + segment_s) for i in range(max_segments)]


def _sniff(head: bytes, magic: list[tuple[bytes, int, str]]) -> str | None:
    for sig, offset, what in magic:
        if head[offset : offset + len(sig)] == sig:
            return what
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    text = head.decode("utf-8", errors="replace")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable / len(text) > 0.95


def _declared_duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    # Matroska stores per-stream durations as a tag; the container duration may cover a longer audio track.
    tag = stream.metadata.get("DURATION")
    if tag:
        hours, minutes, seconds = tag.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if container.duration is not None:
        return float(container.duration / 1_000_000)  # AV_TIME_BASE
    return None


def _demuxed_duration(container: Any, stream: Any) -> float | None:
    """The end of the last video packet, read without decoding: for containers that declare nothing."""
    end = None
    for packet in container.demux(stream):
        if packet.pts is not None:
            t = float((packet.pts + (packet.duration or 0)) * stream.time_base)
            end = t if end is None else max(end, t)
    container.seek(0, stream=stream)
    return end


def _to_rgb_square(frame: Any, size: int) -> np.ndarray:
    """Bicubic resize (short side -> size) then centre crop, as CLIPImageProcessor does."""
    w, h = frame.width, frame.height
    scale = size / min(w, h)
    rw, rh = max(size, round(w * scale)), max(size, round(h * scale))
    img = frame.to_ndarray(format="rgb24", width=rw, height=rh, interpolation="BICUBIC")
    top, left = (rh - size) // 2, (rw - size) // 2
    return np.ascontiguousarray(img[top : top + size, left : left + size])


def _frame_time(frame: Any, fallback: float) -> float:
    return float(frame.time) if frame.time is not None else fallback


def _check_frame_limits(stream: Any, label: str, max_pixels: int | None, max_fps: float | None) -> None:
    width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
    if max_pixels is not None and width * height > max_pixels:
        raise VideoTooLargeError(f"{label} is {width}x{height} ({width * height / 1e6:.1f} MP), more than the "
                                 f"{max_pixels / 1e6:.1f} MP frame limit: scale it down first")
    rate = stream.average_rate or stream.guessed_rate
    if max_fps is not None and rate is not None and float(rate) > max_fps:
        raise VideoTooLargeError(f"{label} runs at {float(rate):.0f} frames/s, more than the {max_fps:.0f} "
                                 "frames/s limit")


def decode_video(
    path: str | Path,
    *,
    fps: float = DEFAULT_FPS,
    frame_size: int = DEFAULT_FRAME_SIZE,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
    segment_s: float = SEGMENT_SECONDS,
    max_segments: int = MAX_SEGMENTS,
    name: str | None = None,
    max_pixels: int | None = None,
    max_fps: float | None = None,
) -> DecodedVideo:
    """Sample `path` at `fps` into at most `max_segments` windows of `segment_s` seconds.

    `name` labels the input in error messages (e.g. the uploaded filename). Raises a `MediaError`
    subclass (see the module docstring); never returns a video without frames. `max_pixels` and
    `max_fps` are checked from the stream header, before any frame is decoded: decoding cost grows with
    both (a 134 KB 4096x2160 clip took 6.9 s to check in full).
    """
    import av

    label = name or str(path)
    p = Path(path)
    head = _check_file(p, label, max_bytes)
    with _open_container(p, head, label) as container:
        fmt, stream, codec_name = _video_stream(container, label)
        _check_frame_limits(stream, label, max_pixels, max_fps)
        declared = _duration(container, stream, label, fmt, max_duration_s)
        windows = plan_segments(declared, segment_s, max_segments)
        try:
            frames = _sample(container, stream, windows, fps, frame_size, declared, label)
        except av.error.FFmpegError as exc:
            raise TruncatedVideoError(f"{label} is damaged: decoding failed ({exc.strerror})") from exc

    return DecodedVideo(
        segments=frames, windows=windows, duration_s=declared, fps=fps, source_format=fmt, codec=codec_name
    )


def _check_file(p: Path, label: str, max_bytes: int) -> bytes:
    """A regular, non-empty file within `max_bytes` that is not a known non-video; its first bytes."""
    if not p.is_file():
        raise MediaNotFoundError(f"{label} does not exist or is not a regular file")
    size = p.stat().st_size
    if size == 0:
        raise EmptyMediaError(f"{label} is empty (0 bytes)")
    if size > max_bytes:
        raise VideoTooLargeError(f"{label} is {size / 1e6:.1f} MB, larger than the {max_bytes / 1e6:.0f} MB limit")
    with p.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    what = _sniff(head, _NON_VIDEO_MAGIC) or ("a text file" if _looks_like_text(head) else None)
    if what is not None:
        raise NotAVideoError(f"{label} is {what}, not a video (expected {ALLOWED_LABEL})")
    return head


def _open_container(p: Path, head: bytes, label: str) -> Any:
    """The opened container; a file FFmpeg refuses is truncated when its magic says video, else not one."""
    import av

    try:
        return av.open(str(p), mode="r")
    except av.error.FFmpegError as exc:
        kind = _sniff(head, _VIDEO_MAGIC)
        if kind is not None:
            raise TruncatedVideoError(
                f"{label} looks like {kind} but cannot be read: it is truncated or damaged ({exc.strerror})"
            ) from exc
        raise NotAVideoError(f"{label} is not a video FFmpeg recognises (expected {ALLOWED_LABEL})") from exc


def _video_stream(container: Any, label: str) -> tuple[str, Any, str]:
    """(demuxer name, first video stream, codec name) of an accepted container, or why it is refused."""
    fmt = container.format.name
    if not container.streams.video:
        if fmt.endswith("_pipe") or fmt in {"image2", "tty"}:
            raise NotAVideoError(f"{label} was read as '{fmt}', which is not a video")
        kinds = ", ".join(s.type for s in container.streams) or "none"
        if not container.streams.audio:
            # Neither picture nor sound: what FFmpeg salvaged from a cut file is index debris.
            raise TruncatedVideoError(
                f"{label} ({fmt}) holds no audio or video stream (streams: {kinds}): truncated or damaged"
            )
        raise NoVideoStreamError(f"{label} ({fmt}) has no video stream (streams: {kinds})")
    if fmt.endswith("_pipe") or fmt in {"image2", "tty"}:
        raise NotAVideoError(f"{label} is a still image ('{fmt}'), not a video")
    if fmt not in ALLOWED_DEMUXERS:
        raise UnsupportedVideoError(f"{label} is a '{fmt}' file; accepted containers: {ALLOWED_LABEL}")
    stream = container.streams.video[0]
    codec_name = stream.codec_context.name if stream.codec_context is not None else None
    if codec_name is None:
        raise UnsupportedVideoError(f"{label} uses a video codec this FFmpeg build cannot decode")
    return fmt, stream, codec_name


def _duration(container: Any, stream: Any, label: str, fmt: str, max_duration_s: float) -> float:
    """The declared duration (or, without one, the demuxed packets' span), within `max_duration_s`."""
    import av

    declared = _declared_duration(container, stream)
    if declared is None:
        try:
            declared = _demuxed_duration(container, stream)
        except av.error.FFmpegError as exc:
            raise TruncatedVideoError(f"{label} could not be demuxed: {exc.strerror}") from exc
    if declared is None or declared <= 0:
        raise CorruptMediaError(f"{label} ({fmt}) has a video stream but no timed video packets")
    if declared > max_duration_s:
        raise MediaTooLongError(f"{label} lasts {declared:.1f} s, longer than the {max_duration_s:.0f} s limit")
    return declared


def _sample(
    container: Any,
    stream: Any,
    windows: list[Segment],
    fps: float,
    frame_size: int,
    declared: float,
    label: str,
) -> list[np.ndarray]:
    """Walk the decoder through `windows`, taking the on-screen frame at every sample instant."""
    rate = float(stream.average_rate) if stream.average_rate else 25.0
    frames_iter: Iterator[Any] = container.decode(stream)
    prev: Any = None  # last decoded frame at or before the current instant
    nxt: Any = next(frames_iter, None)  # first decoded frame after it
    if nxt is None:
        raise CorruptMediaError(f"{label} has a video stream but no decodable frames")
    # One RGB conversion per source frame however often it is shown (a 2 fps source, a paused scene).
    cached_src: Any = None
    cached_img = np.zeros(0, dtype=np.uint8)
    out: list[np.ndarray] = []
    for window in windows:
        here = _frame_time(prev, 0.0) if prev is not None else 0.0
        if window.start_s - here > SEEK_GAP_S:
            container.seek(int(window.start_s / stream.time_base), stream=stream, backward=True)
            frames_iter = container.decode(stream)
            prev, nxt = None, next(frames_iter, None)
        picked: list[np.ndarray] = []
        for t in window.sample_times(fps):
            while nxt is not None and _frame_time(nxt, t) <= t + 1e-6:
                prev, nxt = nxt, next(frames_iter, None)
            shown = prev if prev is not None else nxt
            if shown is None:
                break
            last_t = _frame_time(shown, t)
            if nxt is None and t - last_t > TRUNCATION_SLACK_S + 2 / rate:
                raise TruncatedVideoError(
                    f"{label} is truncated: its frames stop at {last_t:.1f} s "
                    f"of the {declared:.1f} s its header declares"
                )
            if shown is not cached_src:
                cached_src, cached_img = shown, _to_rgb_square(shown, frame_size)
            picked.append(cached_img)
        if not picked:
            raise TruncatedVideoError(f"{label} is truncated: no frames at {window.start_s:.1f} s")
        out.append(np.stack(picked))
    return out
