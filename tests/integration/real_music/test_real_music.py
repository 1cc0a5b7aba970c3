"""Real-music acceptance, default subset: real recorded files from Debian packages through the real
decoder and encoder (MusiCNN weights, librosa). The full catalog run (lift, hard negatives, tempo on
known-BPM mixes) is `benchmarks/real_catalog.py` -> docs/benchmarks/real_catalog.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from musechat.catalog.facts import attribute_present
from musechat.encoders.music import MusicEncoder
from musechat.media.audio import decode_audio, read_embedded_tags
from musechat.media.errors import MediaError

pytestmark = pytest.mark.integration
SONGS = "usr/share/games/fretsonfire/data/songs"


@pytest.fixture(scope="module")
def strict_encoder(tmp_path_factory: pytest.TempPathFactory) -> MusicEncoder:
    encoder = MusicEncoder.load("music-ast-tiny", cache_dir=tmp_path_factory.mktemp("models"))
    return MusicEncoder(encoder.spec, encoder.ast, encoder.taggers, replace(encoder.limits, refuse_not_music=True))


def test_a_metal_song_is_metal_with_guitar_and_a_tempo(debian_package: Callable[[str], Path],
                                                        strict_encoder: MusicEncoder) -> None:
    song = debian_package("fretsonfire-songs-sectoid") / SONGS / "sectoid" / "Metal madness" / "song.ogg"
    facts = strict_encoder.encode(song).facts
    assert facts is not None
    assert attribute_present(facts, "metal") >= 0.5 and attribute_present(facts, "rock") >= 0.5
    assert attribute_present(facts, "strings") < 0.5 and attribute_present(facts, "orchestral") < 0.5
    assert facts.vocals_probability < 0.5  # an instrumental guitar song
    # the song's own note chart (notes.mid) is at 150 BPM
    assert facts.tempo_bpm is not None
    assert min(abs(facts.tempo_bpm / (150 * m) - 1) for m in (0.5, 1, 2)) < 0.04  # or an exact half/double
    assert len(facts.tag_scores) == 100


def test_embedded_tags_name_the_track(debian_package: Callable[[str], Path]) -> None:
    song = debian_package("fretsonfire-songs-muldjord") / SONGS / "muldjord" / "mutilated_mime" / "song.ogg"
    assert read_embedded_tags(song) == {"artist": "Muldjord", "title": "Mutilated Mime", "album": "Mutilated Mime",
                                        "genre": "Death Metal"}


def test_tracker_module_is_unsupported(debian_package: Callable[[str], Path]) -> None:
    module = debian_package("tomatoes-data") / "usr/share/tomatoes/music/IHaveNoTomatoes.it"
    with pytest.raises(MediaError) as caught:
        decode_audio(module)
    assert caught.value.code == "unsupported_format"


def test_desktop_sound_effects_are_not_music(debian_package: Callable[[str], Path],
                                             strict_encoder: MusicEncoder) -> None:
    effects = sorted((debian_package("sound-theme-freedesktop") / "usr/share/sounds/freedesktop/stereo").glob("*.oga"))
    verdicts: dict[str, str] = {}
    for effect in effects:
        try:
            strict_encoder.encode(effect)
            verdicts[effect.name] = "indexed"
        except MediaError as error:
            verdicts[effect.name] = error.code
    assert len(effects) >= 20
    # every effect under 3 s is refused (too short to decode, or not music); the one indexed is the
    # 6 s alarm-clock melody, which is a tune
    indexed = sorted(name for name, verdict in verdicts.items() if verdict == "indexed")
    assert indexed == ["alarm-clock-elapsed.oga"], verdicts
    assert set(verdicts.values()) == {"indexed", "too_short", "not_music"}


def test_mp3_music_from_another_package_is_indexed_with_its_facts(debian_package: Callable[[str], Path],
                                                                  strict_encoder: MusicEncoder) -> None:
    # asc-music: MP3s of a game soundtrack that the tag thresholds were never fitted on
    track = debian_package("asc-music") / "usr/share/games/asc/music/machine_wars.mp3"
    encoding = strict_encoder.encode(track)
    assert encoding.facts is not None and 60 < encoding.duration_s < 600
    assert len(encoding.facts.tag_scores) == 100 and encoding.facts.loudness_db < 0
    assert encoding.facts.tempo_bpm is None or 40 <= encoding.facts.tempo_bpm <= 250
