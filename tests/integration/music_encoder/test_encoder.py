"""MusicEncoder end to end on synthesized audio: tiny random AST + the real MusiCNN MSD/MTT weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musechat.contracts.features import MAX_SEGMENTS
from musechat.encoders.music import AudioInput, MusicEncoder
from musechat.media.errors import MediaError
from tests.fixtures_media import truncate_file, write_tone, write_video

pytestmark = pytest.mark.integration

TINY_DIM = 64 + 200 + 200


def musicnn_part(features: np.ndarray) -> np.ndarray:
    return features[:, 64:].mean(axis=0)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_encoding_of_a_30_s_track(encoder: MusicEncoder, media_dir: Path) -> None:
    from musicnn import configuration

    enc = encoder.encode(write_tone(media_dir / "song.mp3", "mp3", seconds=30.0, bpm=128))
    assert enc.num_segments == 3 and enc.feature_dim == TINY_DIM == encoder.feature_dim
    assert enc.features.shape == (3, TINY_DIM) and enc.features.dtype == "float16"
    assert enc.duration_s == pytest.approx(30.0, abs=0.05)
    assert enc.features.nbytes == 3 * TINY_DIM * 2
    assert np.all(np.isfinite(enc.features.to_array()))
    assert enc.feature_model.startswith("ast=random-init-tiny-seed0@")
    assert enc.feature_model.endswith(";musicnn=msd+mtt;spec=music-ast-tiny;v1")
    # tags: real MusiCNN vocabularies, highest first, above the spec's floor, no name twice
    assert enc.tags, "MusiCNN found no tag above the spec's min_score"
    vocab = {"MTT": set(configuration.MTT_LABELS), "MSD": set(configuration.MSD_LABELS)}
    assert all(t.name in vocab[t.vocabulary] and t.score >= 0.05 for t in enc.tags)
    assert [t.score for t in enc.tags] == sorted((t.score for t in enc.tags), reverse=True)
    assert len({t.name for t in enc.tags}) == len(enc.tags) <= 10


def test_long_track_has_twelve_segments_within_64_kb(encoder: MusicEncoder, media_dir: Path) -> None:
    enc = encoder.encode(write_tone(media_dir / "long.flac", "flac", seconds=125.0, channels=1))
    assert enc.num_segments == MAX_SEGMENTS
    assert enc.features.shape == (MAX_SEGMENTS, TINY_DIM)
    assert enc.features.nbytes <= 64 * 1024
    assert len(enc.model_dump_json()) <= 64 * 1024  # the whole JSON payload, base64 and tags included


def test_short_track_is_one_padded_segment(encoder: MusicEncoder, media_dir: Path) -> None:
    enc = encoder.encode(write_tone(media_dir / "jingle.wav", "wav", seconds=4.0))
    assert enc.num_segments == 1 and enc.duration_s == pytest.approx(4.0)


def test_encoding_is_deterministic_and_batching_does_not_change_it(encoder: MusicEncoder, media_dir: Path) -> None:
    path = write_tone(media_dir / "det.ogg", "ogg", seconds=12.0)
    first, second = encoder.encode(path), encoder.encode(path)
    assert first.features.data_b64 == second.features.data_b64 and first.tags == second.tags
    other = write_tone(media_dir / "other.wav", "wav", seconds=15.0, freq=220.0)
    batch = encoder.encode_batch([AudioInput(other), AudioInput(path)])
    assert batch[1].encoding is not None
    np.testing.assert_allclose(batch[1].encoding.features.to_array(), first.features.to_array(), atol=2e-3)


def test_features_follow_the_music_not_the_file_format(encoder: MusicEncoder, media_dir: Path) -> None:
    """The MusiCNN half carries real musical information: the same music as FLAC and as MP3 encodes
    alike; different music (pitch, tempo) encodes differently."""
    song_flac = encoder.encode(write_tone(media_dir / "a.flac", "flac", seconds=10.0, freq=440.0, bpm=90))
    song_mp3 = encoder.encode(write_tone(media_dir / "a.mp3", "mp3", seconds=10.0, freq=440.0, bpm=90))
    other = encoder.encode(write_tone(media_dir / "b.flac", "flac", seconds=10.0, freq=98.0, bpm=None))
    same = cosine(musicnn_part(song_flac.features.to_array()), musicnn_part(song_mp3.features.to_array()))
    diff = cosine(musicnn_part(song_flac.features.to_array()), musicnn_part(other.features.to_array()))
    assert same > 0.95 and same - diff > 0.05, (same, diff)


def test_a_bad_input_raises_a_media_error(encoder: MusicEncoder) -> None:
    with pytest.raises(MediaError) as info:
        encoder.encode(b"\x00\x01garbage" * 100)
    assert info.value.code == "corrupt"


def test_batch_reports_each_bad_file_without_failing_the_others(encoder: MusicEncoder, media_dir: Path) -> None:
    good = write_tone(media_dir / "good.opus", "opus", seconds=5.0)
    (media_dir / "notes.txt").write_text("not music\n" * 10)
    inputs = [
        AudioInput(good),
        AudioInput(b"", "empty.wav"),
        AudioInput(truncate_file(write_tone(media_dir / "t.mp3", "mp3", seconds=6.0), media_dir / "cut.mp3", 0.4)),
        AudioInput(media_dir / "notes.txt"),
        AudioInput(write_video(media_dir / "mute.mp4", seconds=1.0, audio=False)),
        AudioInput(media_dir / "missing.flac"),
        AudioInput(write_tone(media_dir / "clip.mp4", "mp4", seconds=3.0)),
    ]
    results = encoder.encode_batch(inputs)
    outcome = [r.error.code if r.error else "ok" for r in results]
    assert outcome == ["ok", "empty_file", "corrupt", "unsupported_format", "no_audio_stream", "not_found", "ok"]
    assert results[1].error is not None and "empty.wav" in results[1].error.message
    assert all(r.encoding is not None and r.encoding.feature_dim == TINY_DIM for r in results if r.ok)
