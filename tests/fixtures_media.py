"""Synthesize small media files with PyAV's own encoders, so tests never need downloaded assets.

from tests.fixtures_media import write_tone, write_video, write_png, synth_music
write_tone(tmp_path / "a.mp3", "mp3", seconds=3.0, freq=440.0, bpm=120)
write_video(tmp_path / "v.mp4", seconds=2.0, audio=True)          # h264 + aac
"""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

# fmt -> (container format, audio codec, encoder sample format, encoder options)
AUDIO_FORMATS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "wav": ("wav", "pcm_s16le", "s16", {}),
    "flac": ("flac", "flac", "s16", {}),
    "mp3": ("mp3", "libmp3lame", "fltp", {}),
    "ogg": ("ogg", "vorbis", "fltp", {"strict": "experimental"}),  # ffmpeg's native vorbis encoder
    "opus": ("ogg", "libopus", "flt", {}),
    "m4a": ("ipod", "aac", "fltp", {}),
    "aac": ("adts", "aac", "fltp", {}),  # raw AAC frames
    "mka-live": ("matroska", "libopus", "flt", {}),  # streamed Matroska: declares no duration at all
}
_CONTAINER_OPTIONS = {"mka-live": {"live": "1"}}
# fmt -> (container format, video codec, pixel format, audio codec or None for the container's default)
VIDEO_FORMATS: dict[str, tuple[str, str, str, str]] = {
    "mp4": ("mp4", "libx264", "yuv420p", "aac"),
    "mov": ("mov", "libx264", "yuv420p", "aac"),
    "mkv": ("matroska", "libx264", "yuv420p", "libopus"),
    "webm": ("webm", "libvpx", "yuv420p", "libopus"),
}
_ENCODER_RATES = {"libopus": 48000}


def synth_music(
    seconds: float,
    sample_rate: int = 44100,
    freq: float = 440.0,
    bpm: float | None = 120.0,
    channels: int = 2,
    amplitude: float = 0.4,
    seed: int = 0,
) -> np.ndarray:
    """A tone with harmonics plus decaying noise bursts on each beat; float32 [channels, samples]."""
    n = round(seconds * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    tone = sum(np.sin(2 * np.pi * freq * k * t) / k for k in (1, 2, 3))
    signal = 0.6 * tone / 1.83
    if bpm:
        rng = np.random.default_rng(seed)
        beat = 60.0 / bpm
        since_beat = np.mod(t, beat)
        signal = signal + 0.5 * rng.standard_normal(n) * np.exp(-since_beat * 30.0)
    signal = amplitude * signal / max(1e-9, float(np.max(np.abs(signal))))
    # a small stereo offset so a downmix is a real mix, not a copy
    chans = [signal * (1.0 - 0.1 * c) for c in range(channels)]
    return np.stack(chans).astype(np.float32)


def _encode_audio_stream(container: Any, stream: Any, samples: np.ndarray, sample_rate: int) -> None:
    import av

    codec_ctx = stream.codec_context
    layout = "stereo" if samples.shape[0] == 2 else "mono"
    # Feed the encoder through a resampler: it converts to the codec's sample format/rate and
    # re-chunks to the codec's frame size (aac, vorbis and opus need fixed-size frames).
    frame_size = codec_ctx.frame_size or 1024
    resampler = av.AudioResampler(
        format=codec_ctx.format.name, layout=layout, rate=codec_ctx.sample_rate, frame_size=frame_size
    )
    pts = 0
    chunk = 4096
    for start in range(0, samples.shape[1], chunk):
        block = np.ascontiguousarray(samples[:, start : start + chunk])
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = sample_rate
        frame.pts = pts
        frame.time_base = Fraction(1, sample_rate)
        pts += block.shape[1]
        for out in resampler.resample(frame):
            container.mux(stream.encode(out))
    for out in resampler.resample(None):
        container.mux(stream.encode(out))
    container.mux(stream.encode(None))


def _add_audio_stream(container: Any, codec: str, sample_rate: int, channels: int, options: dict[str, str]) -> Any:
    rate = _ENCODER_RATES.get(codec, sample_rate)
    stream = container.add_stream(codec, rate=rate, options=dict(options))
    stream.codec_context.layout = "stereo" if channels == 2 else "mono"
    if "strict" in options:
        stream.codec_context.options = dict(options)
    return stream


def write_tone(
    path: str | Path,
    fmt: str,
    seconds: float = 3.0,
    freq: float = 440.0,
    bpm: float | None = 120.0,
    sample_rate: int = 44100,
    channels: int = 2,
    amplitude: float = 0.4,
) -> Path:
    """Write a synthetic music-like clip as wav/flac/mp3/ogg(vorbis)/opus/m4a/aac/mka-live, or as a video
    container (mp4/mov/mkv/webm) holding a small video stream plus the audio track."""
    import av

    path = Path(path)
    samples = synth_music(seconds, sample_rate, freq, bpm, channels, amplitude)
    if fmt in VIDEO_FORMATS:
        return write_video(path, seconds=seconds, audio=samples, sample_rate=sample_rate, fmt=fmt)
    if fmt not in AUDIO_FORMATS:
        known = sorted(AUDIO_FORMATS) + sorted(VIDEO_FORMATS)
        raise ValueError(f"unknown format {fmt!r}; pick one of {known}")
    container_fmt, codec, _sample_fmt, options = AUDIO_FORMATS[fmt]
    with av.open(str(path), "w", format=container_fmt, options=_CONTAINER_OPTIONS.get(fmt, {})) as container:
        stream = _add_audio_stream(container, codec, sample_rate, channels, options)
        _encode_audio_stream(container, stream, samples, sample_rate)
    return path


def write_video(
    path: str | Path,
    seconds: float = 2.0,
    audio: bool | np.ndarray = False,
    sample_rate: int = 44100,
    fmt: str = "mp4",
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
) -> Path:
    """Write a small video (moving gradient); `audio=True` adds a synthetic music track, an array
    [channels, samples] adds that track, False writes a video with no audio stream."""
    import av

    path = Path(path)
    container_fmt, vcodec, pix_fmt, acodec = VIDEO_FORMATS[fmt]
    samples: np.ndarray | None
    if isinstance(audio, np.ndarray):
        samples = audio
    elif audio:
        samples = synth_music(seconds, sample_rate)
    else:
        samples = None
    width, height = size
    with av.open(str(path), "w", format=container_fmt) as container:
        vstream: Any = container.add_stream(vcodec, rate=fps)
        vstream.width, vstream.height, vstream.pix_fmt = width, height, pix_fmt
        astream = None
        if samples is not None:
            astream = _add_audio_stream(container, acodec, sample_rate, samples.shape[0], {})
        yy, xx = np.mgrid[0:height, 0:width]
        for i in range(round(seconds * fps)):
            planes = [(xx * 4 + i * 8) % 256, (yy * 5) % 256, np.full_like(xx, (i * 20) % 256)]
            rgb = np.stack(planes, axis=-1)
            frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
            container.mux(vstream.encode(frame))
        container.mux(vstream.encode(None))
        if astream is not None and samples is not None:
            _encode_audio_stream(container, astream, samples, sample_rate)
    return path


def write_png(path: str | Path, width: int = 8, height: int = 8) -> Path:
    """A valid grey PNG image, written by hand (zlib + CRC chunks) so it needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([128] * width) for _ in range(height))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    path = Path(path)
    path.write_bytes(png)
    return path


def write_random_bytes(path: str | Path, size: int = 20000, seed: int = 0) -> Path:
    path = Path(path)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def truncate_file(src: str | Path, dst: str | Path, keep_fraction: float) -> Path:
    """Copy the first `keep_fraction` of a file's bytes (a download cut short)."""
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.write_bytes(data[: int(len(data) * keep_fraction)])
    return dst
