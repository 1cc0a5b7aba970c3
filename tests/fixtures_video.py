"""Synthesized test videos (PyAV): coloured moving shapes with distinct moods and pacing, plus bad files.

Files are tiny (96x64 by default, 10 fps) so a whole suite of them encodes in well under a second each.
Moods differ in palette and brightness; pacing differs in shape speed and how often the scene cuts, so a
visual encoder has something real to tell apart.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import av
    import av.container


@dataclass(frozen=True)
class VideoStyle:
    """How a synthetic clip looks: palette (mood) and motion (pacing)."""

    name: str
    background: tuple[int, int, int]
    shape_colors: tuple[tuple[int, int, int], ...]
    speed: float  # shape speed in frame-widths per second
    cut_every_s: float  # scene cut period (palette rotates); inf = never
    n_shapes: int


STYLES: dict[str, VideoStyle] = {
    "calm": VideoStyle("calm", (20, 40, 90), ((90, 140, 220), (120, 200, 230)), 0.05, math.inf, 1),
    "energetic": VideoStyle("energetic", (250, 220, 40), ((230, 30, 30), (20, 20, 20), (255, 120, 0)), 1.5, 0.8, 4),
    "dark": VideoStyle("dark", (8, 8, 12), ((90, 20, 60), (40, 40, 60)), 0.3, 4.0, 2),
    "sunny": VideoStyle("sunny", (250, 240, 200), ((250, 170, 60), (120, 200, 80)), 0.4, 3.0, 3),
}

# container suffix -> (video codec, audio codec)
_CODECS: dict[str, tuple[str, str]] = {
    ".mp4": ("libx264", "aac"),
    ".mov": ("mpeg4", "aac"),
    ".mkv": ("libx264", "aac"),
    ".webm": ("libvpx", "libopus"),
    ".avi": ("mpeg4", "aac"),
}


def render_frame(style: VideoStyle, t: float, width: int, height: int, seed: int = 0) -> np.ndarray:
    """One RGB frame [height, width, 3] of `style` at time `t` seconds."""
    cut = 0 if math.isinf(style.cut_every_s) else int(t / style.cut_every_s)
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = style.background
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed * 1000 + cut)
    for i in range(style.n_shapes):
        color = style.shape_colors[(i + cut) % len(style.shape_colors)]
        phase = rng.uniform(0, 1)
        cx = ((phase + style.speed * t * (1 + 0.3 * i)) % 1.0) * width
        cy = height * (0.25 + 0.5 * ((i * 0.37 + 0.5 * math.sin(2 * math.pi * style.speed * t + i)) % 1.0))
        radius = height * (0.12 + 0.05 * i)
        if i % 2 == 0:
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2
        else:
            inside = (np.abs(xx - cx) <= radius) & (np.abs(yy - cy) <= radius)
        frame[inside] = color
    return frame


def make_video(
    path: Path,
    *,
    duration_s: float,
    style: str = "calm",
    fps: int = 10,
    size: tuple[int, int] = (96, 64),
    with_audio: bool = False,
    seed: int = 0,
    codec: str | None = None,
) -> Path:
    """Write a synthetic clip; the container comes from the suffix (.mp4 .mov .mkv .webm .avi)."""
    import av

    video_codec, audio_codec = _CODECS[path.suffix]
    width, height = size
    n_frames = max(1, round(duration_s * fps))
    with av.open(str(path), mode="w") as out:
        vstream = out.add_stream(codec or video_codec, rate=fps)
        assert isinstance(vstream, av.VideoStream)
        vstream.width, vstream.height = width, height
        vstream.pix_fmt = "yuv420p"
        astream: av.AudioStream | None = None
        if with_audio:
            added = out.add_stream(audio_codec, rate=48000)
            assert isinstance(added, av.AudioStream)
            added.layout = "mono"
            astream = added
        for i in range(n_frames):
            img = render_frame(STYLES[style], i / fps, width, height, seed)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(vstream.encode(frame))
        out.mux(vstream.encode(None))
        if astream is not None:
            _write_tone(out, astream, duration_s)
    return path


def _write_tone(out: av.container.OutputContainer, astream: av.AudioStream, duration_s: float) -> None:
    import av

    rate = 48000
    chunk = 960  # 20 ms: accepted by both AAC and Opus encoders
    n = int(duration_s * rate)
    t = np.arange(n) / rate
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, n, chunk):
        block = wave[start : start + chunk]
        if len(block) < chunk:
            block = np.pad(block, (0, chunk - len(block)))
        frame = av.AudioFrame.from_ndarray(block[None, :], format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        out.mux(astream.encode(frame))
    out.mux(astream.encode(None))


def make_audio_only(path: Path, duration_s: float = 2.0) -> Path:
    """A valid .mp4 (or .mkv/.webm) container holding only an audio stream."""
    import av

    _, audio_codec = _CODECS[path.suffix]
    with av.open(str(path), mode="w") as out:
        astream = out.add_stream(audio_codec, rate=48000)
        assert isinstance(astream, av.AudioStream)
        astream.layout = "mono"
        _write_tone(out, astream, duration_s)
    return path


def truncate_copy(src: Path, dst: Path, keep_fraction: float = 0.5) -> Path:
    """Copy the first `keep_fraction` of `src`'s bytes: an interrupted upload."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep_fraction)])
    return dst


def write_not_a_video(path: Path) -> Path:
    path.write_bytes(b"This is a plain text file, not a video.\n" * 64)
    return path


def write_png(path: Path) -> Path:
    """A single still image: FFmpeg opens it, but it is not a video."""
    import av

    img = render_frame(STYLES["sunny"], 0.0, 32, 32)
    with av.open(str(path), mode="w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "rgb24"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def make_counter_video(path: Path, *, n_frames: int, fps: float, size: int = 32) -> Path:
    """Frame i is flat colour (R, G) = (14 * (i // 18), 14 * (i % 18)): its index survives lossy coding.

    Indices up to 323 are representable.
    """
    if n_frames > 18 * 18:
        raise ValueError(f"at most {18 * 18} frames can carry a readable index, asked for {n_frames}")
    from fractions import Fraction

    import av

    video_codec, _ = _CODECS[path.suffix]
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(video_codec, rate=Fraction(fps).limit_denominator(1000))
        assert isinstance(stream, av.VideoStream)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(n_frames):
            img = np.zeros((size, size, 3), dtype=np.uint8)
            img[..., 0], img[..., 1], img[..., 2] = 14 * (i // 18), 14 * (i % 18), 128
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def read_counter(frame: np.ndarray) -> int:
    """The frame index `make_counter_video` painted into `frame` (RGB, any size)."""
    r, g = float(frame[..., 0].mean()), float(frame[..., 1].mean())
    return round(r / 14) * 18 + round(g / 14)


@contextmanager
def serve_bento(
    service_dir: Path, target: str, env: dict[str, str], log_path: Path, timeout_s: float = 240.0
) -> Iterator[str]:
    """`bentoml serve` a service in a subprocess on a free loopback port; yield its URL, then stop it.

    Used by the video- and text-encoder serving tests. Waits for /readyz (the model is loaded by then);
    on a start-up failure the server log's tail is in the error.
    """
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    src = str(Path(__file__).resolve().parents[1] / "src")
    child_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    bentoml_cli = Path(sys.executable).parent / "bentoml"
    cmd = [str(bentoml_cli), "serve", target, "--working-dir", str(service_dir)]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=child_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{target} exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target} not ready after {timeout_s:.0f} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        # bentoml serve runs its workers in child processes: stop the whole session group.
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
