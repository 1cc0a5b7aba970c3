"""`musechat serve --catalog` on the facts-only path serves /v1: a generated catalog (a sung melody and
plucked-guitar chords at three tempos) ingested through the real broker with the real MusiCNN encoder into
the real embedded Qdrant engine, then one conversation through the real gateway with an API key, each
answer checked against the stored payloads' facts."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from musechat.catalog.serve import load_payloads, serving
from tests.fixtures_media import write_video

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # ~100 s: ingestion + a gateway start
SR = 22050


def _sung_wav(path: Path, seconds: float = 31.0, f0: float = 220.0) -> Path:
    """A voice-like melody: a harmonic source with vibrato through the formants of the vowel 'a', a new
    note every half second. MusiCNN reads it as vocals (vocals probability ~0.6 measured)."""
    import soundfile

    rng = np.random.default_rng(0)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    notes = f0 * 2 ** (rng.integers(0, 8, size=int(seconds * 2) + 1) / 12)
    pitch = notes[(t * 2).astype(int)] * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    source = sum(np.sin(k * phase) / k for k in range(1, 40))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    formants = sum(gain * np.exp(-(((freqs - centre) / width) ** 2))
                   for centre, width, gain in ((700, 110, 1.0), (1220, 120, 0.6), (2600, 160, 0.3)))
    voice = np.fft.irfft(np.fft.rfft(source) * formants, n) * np.minimum(1, np.mod(t, 0.5) * 20)
    soundfile.write(path, (0.3 * voice / np.abs(voice).max()).astype(np.float32), SR)
    return path


def _plucked_wav(path: Path, bpm: float, seconds: float = 31.0) -> Path:
    """Plucked-string chords on each beat (Karplus-Strong): instrumental to MusiCNN (vocals probability
    0.02-0.05 measured) with a clear tempo, unlike a plain harmonic tone, which it hears as a voice."""
    import soundfile

    rng = np.random.default_rng(int(bpm))
    pitches = [110 * 2 ** (step / 12) for step in (0, 4, 7, 12, 16)]
    notes = [_pluck(pitch, rng) for pitch in pitches]
    music = np.zeros(int(seconds * SR) + len(notes[0]))
    for start in np.arange(0, seconds - 1, 60.0 / bpm):
        for index in rng.choice(len(notes), size=3):
            music[int(start * SR):int(start * SR) + len(notes[index])] += notes[index]
    music = music[:int(seconds * SR)]
    soundfile.write(path, (0.5 * music / np.abs(music).max()).astype(np.float32), SR)
    return path


def _pluck(pitch: float, rng: np.random.Generator, seconds: float = 1.0) -> np.ndarray:
    period = int(SR / pitch)
    delay_line = rng.uniform(-1, 1, period)
    out = np.empty(int(SR * seconds))
    for i in range(len(out)):
        out[i] = delay_line[i % period]
        delay_line[i % period] = 0.498 * (delay_line[i % period] + delay_line[(i + 1) % period])
    return out


def _faster_by(track_bpm: float, reference_bpm: float) -> float:
    """How much faster (log2, > 0 faster) within an octave: 70 and 140 BPM are the same pulse."""
    ratio = math.log2(track_bpm / reference_bpm)
    return ratio - round(ratio)


def _facts(payloads: dict[str, dict[str, Any]], answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [payloads[track["track_id"]]["facts"] for track in answer["tracks"]]


def test_facts_only_path_serves_v1_honouring_the_words(tmp_path: Path) -> None:
    catalog = tmp_path / "my music"
    catalog.mkdir()
    _sung_wav(catalog / "sung.wav")
    # Five tempos 0.2 octave apart (128 * 2**(k/5), octave-folded): whatever two picks the conversation has
    # shown, a pulse faster than the previous pick is still in the catalog for "Faster".
    for bpm in (84, 97, 111, 128, 147):
        _plucked_wav(catalog / f"guitar_{bpm}.wav", bpm)
    video = write_video(tmp_path / "clip.mp4", seconds=2.0)

    with serving(catalog, tmp_path / "state", timeout_s=600, explainer=False) as served:
        assert served.exit_code == 0 and served.fit.path == "facts-only"
        headers = {"Authorization": f"Bearer {served.server.api_key}"}
        with httpx.Client(base_url=served.server.url, headers=headers, timeout=60) as client:
            assert client.get("/v1/videos/vid-x", headers={"Authorization": "Bearer wrong"}).status_code == 401
            with video.open("rb") as handle:
                accepted = client.post("/v1/videos", files={"file": (video.name, handle, "video/mp4")})
            assert accepted.status_code == 202, accepted.text
            video_id = accepted.json()["video_id"]
            deadline = time.monotonic() + 120
            while client.get(f"/v1/videos/{video_id}").json()["status"] == "pending" and time.monotonic() < deadline:
                time.sleep(0.5)
            assert client.get(f"/v1/videos/{video_id}").json()["status"] == "ready"

            opened = client.post("/v1/conversations", json={"video_id": video_id, "limit": 10})
            assert opened.status_code == 201, opened.text
            no_vocals = client.post(f"/v1/conversations/{opened.json()['conversation_id']}/turns",
                                    json={"text": "No vocals, please.", "state": opened.json()["state"], "limit": 10})
            assert no_vocals.status_code == 200, no_vocals.text
            faster = client.post(f"/v1/conversations/{opened.json()['conversation_id']}/turns",
                                 json={"text": "Faster", "state": no_vocals.json()["state"], "limit": 10})
            assert faster.status_code == 200, faster.text
    payloads = {p["track_id"]: p for p in load_payloads(tmp_path / "state")}  # the engine is free again

    sung = [track_id for track_id, p in payloads.items() if p["facts"]["vocals_probability"] >= 0.5]
    assert [payloads[t]["title"] for t in sung] == ["sung"]  # the catalog has a track "no vocals" must drop
    assert opened.json()["model_version"] == "facts-only"
    assert {t["track_id"] for t in opened.json()["tracks"]} == set(payloads)  # turn 1: the whole catalog

    # "No vocals": the sung track is gone, every instrumental one but the previous pick is offered
    assert no_vocals.json()["understood"]["vocals"] == "off"
    assert all(f["vocals_probability"] < 0.5 for f in _facts(payloads, no_vocals.json()))
    first_pick = opened.json()["tracks"][0]["track_id"]
    assert {t["track_id"] for t in no_vocals.json()["tracks"]} == set(payloads) - {*sung, first_pick}
    # 10 asked of 6: each answer says why it is short (the vocals flag is a store filter on this path)
    assert opened.json()["shortfall"] == ("6 of 10 asked: the applied filters leave 6 of the catalog's 6 tracks; "
                                          "of 6 left with facts: none was removed, all are shown")
    assert no_vocals.json()["shortfall"] == ("4 of 10 asked: the applied filters leave 5 of the catalog's 6 tracks; "
                                             "of 5 left with facts: already suggested removes 1")

    # "Faster": still no vocals (the refusal stands), and the pick is faster than the previous pick
    candidate = no_vocals.json()["tracks"][0]["track_id"]
    reference = payloads[candidate]["facts"]["tempo_bpm"]
    picks = _facts(payloads, faster.json())
    assert picks and all(f["vocals_probability"] < 0.5 for f in picks)
    assert candidate not in {t["track_id"] for t in faster.json()["tracks"]}
    shown = {opened.json()["tracks"][0]["track_id"], candidate}
    eligible = [p["facts"] for t, p in payloads.items() if t not in {*sung, *shown}]
    assert any(_faster_by(f["tempo_bpm"], reference) > 0 for f in eligible)
    assert _faster_by(picks[0]["tempo_bpm"], reference) > 0
