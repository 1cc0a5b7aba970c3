"""`musechat serve --catalog` + `musechat recommend` + `catalog stats --workdir` on real files, real broker,
real encoder (MusiCNN weights) and the real embedded Qdrant engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musechat.catalog.serve import STATE_FILE, load_payloads, serve
from musechat.cli import main
from tests.fixtures_media import write_tone

pytestmark = pytest.mark.integration
SR = 16000


def _tagged_wav(path: Path, seconds: float) -> Path:
    """A wav whose INFO chunk carries title and artist (libsndfile writes it; FFmpeg reads it)."""
    import soundfile

    t = np.arange(int(seconds * SR)) / SR
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(np.float32)
    wave = (0.3 * np.sin(2 * np.pi * 330 * t) * (0.5 + 0.5 * beat)).astype(np.float32)
    with soundfile.SoundFile(path, "w", SR, 1, format="WAV") as handle:
        handle.title = "Tagged Title"
        handle.artist = "Tagged Artist"
        handle.write(wave)
    return path


def test_serve_then_recommend_from_the_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "my music"
    catalog.mkdir()
    write_tone(catalog / "steady_song.mp3", "mp3", seconds=32.0, bpm=120)
    _tagged_wav(catalog / "untitled.wav", 31.0)
    write_tone(catalog / "blip.wav", "wav", seconds=1.5, bpm=None)  # a sound effect: not_music
    (catalog / "tune.it").write_bytes(b"IMPM" + bytes(3000))  # a tracker module: unsupported_format
    workdir = tmp_path / "state"

    assert serve(catalog, workdir, timeout_s=600, api=False) == 1  # two files failed, each for its reason
    state = json.loads((workdir / STATE_FILE).read_text())
    assert state["ranking_path"] == "facts-only" and state["tracks"] == 2
    reasons = " ".join(state["failed"].values())
    assert "not_music" in reasons and "unsupported_format" in reasons

    payloads = {p["title"]: p for p in load_payloads(workdir)}
    assert set(payloads) == {"steady song", "Tagged Title"}
    assert payloads["Tagged Title"]["artist"] == "Tagged Artist"  # the file's own tags, no manifest
    for payload in payloads.values():
        facts = payload["facts"]
        assert set(payload["attributes"]) <= set(facts["groups"]) | {"vocals", "instrumental", "female_vocals",
                                                                     "male_vocals", "fast", "slow"}
        assert payload["vocals"] == (facts["vocals_probability"] >= 0.5)
        assert len(facts["tag_scores"]) == 100
    assert payloads["steady song"]["facts"]["tempo_bpm"] is not None

    capsys.readouterr()
    assert main(["recommend", "--workdir", str(workdir), "--text", "No vocals, please.", "--text", "Faster",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [turn["turn"] for turn in result["turns"]] == [1, 2, 3]
    assert result["turns"][1]["understood"] == {"vocals": "off"}
    assert all(track["vocals_probability"] < 0.5 for track in result["turns"][1]["tracks"])
    # "no vocals" persists, "faster" is this turn's: the standing request the gateway would hold
    assert result["turns"][2]["understood"] == {"vocals": "off", "tempo": "faster"}
    assert main(["recommend", "--workdir", str(workdir), "--text", "faster and slower"]) == 2
    assert "say which one you mean" in capsys.readouterr().err

    assert main(["catalog", "stats", "--workdir", str(workdir)]) == 0
    assert json.loads(capsys.readouterr().out)["tracks"] == 2
    assert main(["recommend", "--workdir", str(tmp_path / "nothing-here")]) == 2
    assert "holds no catalog" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_resumes_without_re_encoding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "c"
    catalog.mkdir()
    write_tone(catalog / "a.ogg", "ogg", seconds=31.0, bpm=100)
    workdir = tmp_path / "state"
    assert serve(catalog, workdir, timeout_s=600, api=False) == 0
    write_tone(catalog / "b.ogg", "ogg", seconds=31.0, bpm=140)
    assert serve(catalog, workdir, timeout_s=600, api=False) == 0
    assert "1 new or changed files" in capsys.readouterr().out  # a.ogg is not encoded again
    assert json.loads((workdir / STATE_FILE).read_text())["tracks"] == 2
