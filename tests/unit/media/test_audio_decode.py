"""decode_audio on synthesized files: every format to 16 kHz mono with the right duration, and each kind
of bad input classified with its stable error code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musechat.media.audio import DecodedAudio, decode_audio
from musechat.media.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaNotFoundError,
    MediaTooLongError,
    MediaTooShortError,
    NoAudioStreamError,
    SilentMediaError,
    UnsupportedFormatError,
)
from tests.fixtures_media import truncate_file, write_png, write_random_bytes, write_tone, write_video

pytestmark = pytest.mark.unit

# (format, expected FFmpeg demuxer, expected decoder)
FORMATS = [
    ("wav", "wav", "pcm_s16le"),
    ("flac", "flac", "flac"),
    ("mp3", "mp3", "mp3float"),
    ("ogg", "ogg", "vorbis"),
    ("opus", "ogg", "opus"),
    ("m4a", "mov,mp4,m4a,3gp,3g2,mj2", "aac"),
    ("aac", "aac", "aac"),
    ("mka-live", "matroska,webm", "opus"),
    ("mp4", "mov,mp4,m4a,3gp,3g2,mj2", "aac"),
    ("mov", "mov,mp4,m4a,3gp,3g2,mj2", "aac"),
    ("mkv", "matroska,webm", "opus"),
    ("webm", "matroska,webm", "opus"),
]


@pytest.mark.parametrize(("fmt", "demuxer", "codec"), FORMATS)
def test_every_format_decodes_to_16k_mono_with_its_duration(tmp_path: Path, fmt: str, demuxer: str, codec: str) -> None:
    path = write_tone(tmp_path / f"tone.{fmt}", fmt, seconds=2.5, freq=440.0)
    audio = decode_audio(path)
    assert isinstance(audio, DecodedAudio)
    assert (audio.source_format, audio.codec, audio.sample_rate) == (demuxer, codec, 16000)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    # lossy codecs add priming/padding of a few ms (AAC: one 1024-sample frame)
    assert audio.duration_s == pytest.approx(2.5, abs=0.05)
    assert audio.samples.size == pytest.approx(audio.duration_s * 16000)
    assert 0.1 < float(np.max(np.abs(audio.samples))) <= 1.0
    # the 440 Hz fundamental survives decoding and resampling
    spectrum = np.abs(np.fft.rfft(audio.samples[:16000]))
    assert abs(float(np.argmax(spectrum)) - 440.0) <= 2.0


def test_bytes_and_path_inputs_decode_identically(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "a.flac", "flac", seconds=1.5)
    from_path, from_bytes = decode_audio(path), decode_audio(path.read_bytes())
    assert np.array_equal(from_path.samples, from_bytes.samples)


def test_stereo_is_downmixed_and_resampled(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "a.wav", "wav", seconds=1.0, sample_rate=48000, channels=2)
    audio = decode_audio(path, target_sr=22050)
    assert audio.sample_rate == 22050 and audio.samples.shape == (22050,)


def expect(exc_type: type[MediaError], code: str, source: Path | bytes, match: str, **kw: Any) -> None:
    with pytest.raises(exc_type, match=match) as info:
        decode_audio(source, **kw)
    assert info.value.code == code
    assert str(info.value).startswith(f"{code}: ")


def test_missing_file(tmp_path: Path) -> None:
    expect(MediaNotFoundError, "not_found", tmp_path / "nope.mp3", "does not exist")


def test_empty_file_and_empty_bytes(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    expect(EmptyMediaError, "empty_file", tmp_path / "empty.wav", "0 bytes")
    expect(EmptyMediaError, "empty_file", b"", "0 bytes")


def test_text_file_is_unsupported(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Track list:\n1. Deliverer - Weston Skaggs\n" * 20)
    expect(UnsupportedFormatError, "unsupported_format", tmp_path / "notes.txt", "text file")
    expect(UnsupportedFormatError, "unsupported_format", (tmp_path / "notes.txt").read_bytes(), "text file")


def test_image_is_unsupported(tmp_path: Path) -> None:
    expect(UnsupportedFormatError, "unsupported_format", write_png(tmp_path / "cover.png"), "PNG image")


def test_random_bytes_are_corrupt(tmp_path: Path) -> None:
    expect(CorruptMediaError, "corrupt", write_random_bytes(tmp_path / "noise.mp3"), "not a readable")
    expect(
        CorruptMediaError,
        "corrupt",
        write_random_bytes(tmp_path / "x", seed=7).read_bytes(),
        "not a readable",
    )


def test_truncated_mp3_is_corrupt(tmp_path: Path) -> None:
    full = write_tone(tmp_path / "full.mp3", "mp3", seconds=6.0)
    assert decode_audio(full).duration_s == pytest.approx(6.0, abs=0.05)
    expect(CorruptMediaError, "corrupt", truncate_file(full, tmp_path / "half.mp3", 0.5), "truncated")
    # cut inside the first frame: FFmpeg cannot even probe it
    expect(CorruptMediaError, "corrupt", truncate_file(full, tmp_path / "stub.mp3", 0.002), "not a readable")


def test_truncated_flac_and_mp4_are_corrupt(tmp_path: Path) -> None:
    flac = write_tone(tmp_path / "full.flac", "flac", seconds=6.0)
    expect(CorruptMediaError, "corrupt", truncate_file(flac, tmp_path / "half.flac", 0.5), "truncated")
    # an MP4 cut before its index (moov box, written last) cannot be opened at all
    mp4 = write_tone(tmp_path / "full.mp4", "mp4", seconds=3.0)
    expect(CorruptMediaError, "corrupt", truncate_file(mp4, tmp_path / "half.mp4", 0.5), "not a readable")


@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_video_without_audio(tmp_path: Path, fmt: str) -> None:
    path = write_video(tmp_path / f"silent-film.{fmt}", seconds=1.0, audio=False, fmt=fmt)
    expect(NoAudioStreamError, "no_audio_stream", path, "has no audio stream")


def test_too_long_is_rejected_from_the_declared_duration(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "long.mp3", "mp3", seconds=5.0)
    expect(MediaTooLongError, "too_long", path, "lasts 5.0 s", max_duration_s=3.0)


def test_too_long_is_caught_while_decoding_when_nothing_is_declared(tmp_path: Path) -> None:
    # a streamed Matroska file declares no duration, so the limit is enforced on decoded samples
    path = write_tone(tmp_path / "long.mka", "mka-live", seconds=5.0)
    assert decode_audio(path).duration_s == pytest.approx(5.0, abs=0.05)
    expect(MediaTooLongError, "too_long", path, "runs past the 3 s limit", max_duration_s=3.0)


def test_too_short(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "blip.wav", "wav", seconds=0.3)
    expect(MediaTooShortError, "too_short", path, "shorter than the 1 s minimum")
    assert decode_audio(path, min_duration_s=0.1).duration_s == pytest.approx(0.3)


def test_silence(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "silence.flac", "flac", seconds=2.0, amplitude=0.0)
    expect(SilentMediaError, "silent", path, "silent")
    assert decode_audio(path, silence_peak=None).duration_s == pytest.approx(2.0)
