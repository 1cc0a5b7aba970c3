"""The libsndfile fallback for files FFmpeg refuses, and tracker modules / MIDI as `unsupported_format`.

Every file here is real: written by libsndfile/libvorbis (soundfile), or a structurally valid module.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from musechat.media.audio import decode_audio
from musechat.media.errors import CorruptMediaError, UnsupportedFormatError

pytestmark = pytest.mark.unit
SR = 22050


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize(("fmt", "subtype"), [("MAT5", "PCM_16"), ("MPC2K", "PCM_16"), ("HTK", "PCM_16")])
def test_formats_ffmpeg_lacks_decode_through_libsndfile(tmp_path: Path, fmt: str, subtype: str) -> None:
    import soundfile

    path = tmp_path / f"tone.{fmt.lower()}"
    soundfile.write(path, _tone(3.0), SR, format=fmt, subtype=subtype)
    decoded = decode_audio(path)
    assert decoded.source_format == f"libsndfile:{fmt.lower()}"
    assert decoded.sample_rate == 16000
    assert decoded.duration_s == pytest.approx(3.0, abs=0.01)
    # the resampled tone is still a 440 Hz tone
    spectrum = np.abs(np.fft.rfft(decoded.samples))
    assert np.fft.rfftfreq(decoded.samples.size, 1 / 16000)[int(np.argmax(spectrum))] == pytest.approx(440, abs=2)


def _ogg_crc(data: bytes) -> int:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) & 0xFF) ^ byte]
    return crc


def test_ogg_vorbis_with_a_wrong_last_granule_is_not_refused(tmp_path: Path) -> None:
    """An Ogg's length is its last page's granule position: when that lies (4x here), FFmpeg's
    truncation check refused the whole valid file as corrupt; libvorbis decodes all of it."""
    import soundfile

    path = tmp_path / "song.ogg"
    soundfile.write(path, _tone(8.0), SR, format="OGG", subtype="VORBIS")
    data = bytearray(path.read_bytes())
    last = data.rfind(b"OggS")
    granule = struct.unpack_from("<q", data, last + 6)[0]
    struct.pack_into("<q", data, last + 6, granule * 4)
    data[last + 22 : last + 26] = b"\0\0\0\0"
    struct.pack_into("<I", data, last + 22, _ogg_crc(bytes(data[last:])))
    path.write_bytes(bytes(data))
    decoded = decode_audio(path)
    assert decoded.duration_s == pytest.approx(8.0, abs=0.05)
    assert decoded.source_format == "libsndfile:ogg"


def test_truncated_flac_stays_corrupt_in_both_decoders(tmp_path: Path) -> None:
    import soundfile

    path = tmp_path / "full.flac"
    soundfile.write(path, _tone(10.0), SR, format="FLAC")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(CorruptMediaError):
        decode_audio(cut)


def _protracker_module() -> bytes:
    """A minimal valid 4-channel ProTracker module: one 8-bit sample, one pattern playing it."""
    sample = (np.sin(np.arange(2048) * 2 * np.pi / 32) * 100).astype(np.int8).tobytes()
    header = b"musechat test".ljust(20, b"\0")
    first = b"square".ljust(22, b"\0") + struct.pack(">HBBHH", len(sample) // 2, 0, 64, 0, 1)
    header += first + b"".join(b"\0" * 22 + struct.pack(">HBBHH", 0, 0, 0, 0, 1) for _ in range(30))
    header += bytes([1, 127]) + bytes(128) + b"M.K."
    assert len(header) == 1084
    period = 428  # C-3
    note = struct.pack(">BBBB", (1 & 0xF0) | (period >> 8), period & 0xFF, (1 & 0x0F) << 4, 0)
    pattern = (note + b"\0" * 12) + b"\0" * (1024 - 16)
    return header + pattern + sample


@pytest.mark.parametrize(
    ("name", "data", "what"),
    [
        ("song.mod", _protracker_module(), "ProTracker module"),
        ("song.it", b"IMPM" + b"tune".ljust(26, b"\0") + bytes(2000), "Impulse Tracker module"),
        ("song.xm", b"Extended Module: tune".ljust(60, b"\0") + bytes(2000), "FastTracker 2 module"),
        ("song.mid", b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96) + b"MTrk" + struct.pack(">I", 4) + b"\0\xff\x2f\0",
         "MIDI file"),
    ],
)
def test_tracker_modules_and_midi_are_unsupported_not_corrupt(tmp_path: Path, name: str, data: bytes,
                                                               what: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UnsupportedFormatError, match=what) as caught:
        decode_audio(path)
    assert caught.value.code == "unsupported_format"
