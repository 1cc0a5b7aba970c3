"""The `not_music` verdict: short clips the real MusiCNN taggers find no style in are sound effects."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musechat.encoders.music import AudioInput, MusicEncoder
from musechat.media.errors import NotMusicError

pytestmark = pytest.mark.integration
SR = 16000


def thunder(path: Path, seconds: float) -> Path:
    """A thunder-like rumble: brown noise, a sharp onset, a long decay."""
    import soundfile

    rng = np.random.default_rng(0)
    n = int(seconds * SR)
    walk = np.cumsum(rng.normal(0, 1, n))
    walk -= np.convolve(walk, np.ones(4000) / 4000, "same")
    envelope = np.exp(-np.maximum(0, np.arange(n) - 2 * SR) / (3 * SR))
    soundfile.write(path, (0.8 * walk / np.abs(walk).max() * envelope).astype(np.float32), SR)
    return path


def test_a_short_rumble_is_not_music_when_the_verdict_is_on(encoder: MusicEncoder, media_dir: Path) -> None:
    strict = MusicEncoder(encoder.spec, encoder.ast, encoder.taggers, replace(encoder.limits, refuse_not_music=True))
    path = thunder(media_dir / "thunder.wav", 12.0)
    with pytest.raises(NotMusicError, match="not music"):
        strict.encode(path)
    [result] = strict.encode_batch([AudioInput(path)])
    assert not result.ok and result.error is not None and result.error.code == "not_music"
    # off (the library default): encoded, with its facts
    encoded = encoder.encode(path)
    assert encoded.facts is not None and encoded.facts.duration_s == pytest.approx(12.0, abs=0.01)


def test_nothing_as_long_as_a_cue_is_refused(encoder: MusicEncoder, media_dir: Path) -> None:
    strict = MusicEncoder(encoder.spec, encoder.ast, encoder.taggers, replace(encoder.limits, refuse_not_music=True))
    encoded = strict.encode(thunder(media_dir / "long-thunder.wav", 31.0))
    assert encoded.facts is not None and encoded.facts.loudness_db < 0


def test_a_steady_test_tone_is_not_music_but_a_short_melody_is(encoder: MusicEncoder, media_dir: Path) -> None:
    import soundfile

    strict = MusicEncoder(encoder.spec, encoder.ast, encoder.taggers, replace(encoder.limits, refuse_not_music=True))
    t = np.arange(int(4.0 * SR)) / SR
    soundfile.write(media_dir / "beep.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SR)
    with pytest.raises(NotMusicError, match="one pitch class throughout"):
        strict.encode(media_dir / "beep.wav")
    # the same tone as a melody (C D E F G A B C, half a second each) is one loud pitch class per frame too,
    # but not the same one: it stays music
    notes = [261.6, 293.7, 329.6, 349.2, 392.0, 440.0, 493.9, 523.3]
    half = np.arange(int(0.5 * SR)) / SR
    melody = np.concatenate([0.3 * np.sin(2 * np.pi * f * half) * np.hanning(half.size) for f in notes])
    soundfile.write(media_dir / "scale.wav", melody.astype(np.float32), SR)
    assert strict.encode(media_dir / "scale.wav").facts is not None
