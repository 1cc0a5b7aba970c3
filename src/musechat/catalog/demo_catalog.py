"""Generate a small, real-audio demo catalog: tracks that differ in tempo, key, instrument, drums and
vocals, written in several formats with a JSONL manifest (title, artist, album, licence, audio_path).

The audio is synthesized (no downloads): additive piano, plucked-string, square-lead and string instruments over a
chord progression, a kick-snare-hat pattern at the track's tempo, and an optional formant-filtered
"voice" line, so MusiCNN has real musical content to tag and the features vary with the knobs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

SAMPLE_RATE = 22050
INSTRUMENTS = ("piano", "guitar", "synth", "strings")
FORMATS = ("wav", "flac", "mp3", "ogg")
_CODECS = {"wav": ("pcm_s16le", SAMPLE_RATE), "flac": ("flac", SAMPLE_RATE), "mp3": ("libmp3lame", SAMPLE_RATE),
           "ogg": ("libopus", 48000)}
_ADJECTIVES = ("Golden", "Midnight", "Electric", "Quiet", "Neon", "Paper", "Velvet", "Silver", "Wild", "Broken",
               "Northern", "Crimson", "Hollow", "Bright", "Distant", "Summer")
_NOUNS = ("Harbor", "Engines", "Lanterns", "River", "Skyline", "Orchard", "Signals", "Tides", "Mirrors", "Highway",
          "Embers", "Gardens", "Satellites", "Canyon", "Echoes", "Parade")
_FIRST = ("Ada", "Milo", "Rosa", "Theo", "Nia", "Otis", "Luz", "Ivan", "June", "Kai", "Vera", "Bram")
_LAST = ("Skaggs", "Marlow", "Okafor", "Lindqvist", "Reyes", "Hart", "Moreau", "Tanaka", "Quinn", "Vale")


@dataclass(frozen=True)
class TrackRecipe:
    track_id: str
    title: str
    artist: str
    album: str
    licence: str
    bpm: float
    root_hz: float
    instrument: str
    vocals: bool
    drums: bool
    seconds: float
    fmt: str


def _note(freq: float, seconds: float, instrument: str, rng: np.random.Generator) -> np.ndarray:
    n = max(1, int(seconds * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE
    if instrument == "guitar":  # plucked string: bright attack noise, upper harmonics die out first
        pluck = rng.uniform(-1, 1, n) * np.exp(-120.0 * t)
        return pluck * 0.3 + sum(np.exp(-(2.0 + 1.5 * k) * t) * np.sin(2 * np.pi * freq * k * t) / k
                                 for k in range(1, 9))
    if instrument == "piano":
        envelope = np.exp(-3.0 * t)
        return envelope * sum(np.sin(2 * np.pi * freq * k * t) / k**1.5 for k in range(1, 6))
    if instrument == "synth":
        envelope = np.minimum(1.0, t * 40) * np.exp(-0.8 * t)
        return envelope * np.sign(np.sin(2 * np.pi * freq * t)) * 0.5
    attack = np.minimum(1.0, t * 4)  # strings: slow attack, vibrato, saw-like harmonics
    vibrato = 1 + 0.004 * np.sin(2 * np.pi * 5.5 * t)
    return attack * sum(np.sin(2 * np.pi * freq * k * vibrato * t) / k for k in range(1, 8)) * 0.4


def _drums(total: int, bpm: float, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(total)
    beat = int(SAMPLE_RATE * 60 / bpm)
    kick_t = np.arange(int(0.15 * SAMPLE_RATE)) / SAMPLE_RATE
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-30 * kick_t)) * kick_t) * np.exp(-18 * kick_t)
    snare = rng.uniform(-1, 1, int(0.12 * SAMPLE_RATE)) * np.exp(-30 * kick_t[: int(0.12 * SAMPLE_RATE)])
    hat = rng.uniform(-1, 1, int(0.03 * SAMPLE_RATE)) * 0.3
    for index, start in enumerate(range(0, total, beat)):
        hit = kick if index % 2 == 0 else snare
        end = min(total, start + len(hit))
        out[start:end] += hit[: end - start]
        half = start + beat // 2
        if half < total:
            end = min(total, half + len(hat))
            out[half:end] += hat[: end - half]
    return out


def _voice(total: int, root_hz: float, bpm: float, rng: np.random.Generator) -> np.ndarray:
    """A sung vowel line: a glottal pulse train (with vibrato) through two vowel formants."""
    t = np.arange(total) / SAMPLE_RATE
    phrase = 60 / bpm * 2
    melody = root_hz * 2 * 2 ** (rng.choice([0, 2, 4, 5, 7], size=int(t[-1] / phrase) + 2) / 12)
    pitch = melody[(t / phrase).astype(int)] * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    phase = np.cumsum(pitch) / SAMPLE_RATE
    pulses = (phase % 1.0) - 0.5
    spectrum = np.fft.rfft(pulses)
    freqs = np.fft.rfftfreq(total, 1 / SAMPLE_RATE)
    formants = sum(np.exp(-0.5 * ((freqs - f) / bw) ** 2) for f, bw in ((700, 90), (1200, 110), (2600, 160)))
    voiced = np.fft.irfft(spectrum * formants, n=total)
    gate = (np.sin(2 * np.pi * t / phrase) > -0.3).astype(float)
    return voiced / (np.abs(voiced).max() + 1e-9) * gate


def synthesize(recipe: TrackRecipe, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    total = int(recipe.seconds * SAMPLE_RATE)
    mix = np.zeros(total)
    beat = 60 / recipe.bpm
    progression = (0, 5, 7, 3)  # I - IV - V - iii in semitones
    position, step = 0, 0
    while position < total:
        chord_root = recipe.root_hz * 2 ** (progression[(step // 4) % 4] / 12)
        freq = chord_root * 2 ** (rng.choice([0, 4, 7, 12]) / 12)
        note = _note(freq, beat, recipe.instrument, rng)
        end = min(total, position + len(note))
        mix[position:end] += note[: end - position]
        position += len(note)
        step += 1
    mix /= np.abs(mix).max() + 1e-9
    if recipe.drums:
        mix += 0.6 * _drums(total, recipe.bpm, rng)
    if recipe.vocals:
        mix += 0.7 * _voice(total, recipe.root_hz, recipe.bpm, rng)
    return (0.8 * mix / (np.abs(mix).max() + 1e-9)).astype(np.float32)


def write_audio(path: Path, samples: np.ndarray, fmt: str) -> None:
    import av

    codec, rate = _CODECS[fmt]
    if rate != SAMPLE_RATE:
        positions = np.arange(int(len(samples) * rate / SAMPLE_RATE)) * SAMPLE_RATE / rate
        samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        assert isinstance(stream, av.audio.stream.AudioStream)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def recipes(count: int, seed: int, min_seconds: float = 6.0, max_seconds: float = 30.0) -> list[TrackRecipe]:
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        title = f"{_ADJECTIVES[rng.integers(len(_ADJECTIVES))]} {_NOUNS[rng.integers(len(_NOUNS))]}"
        artist = f"{_FIRST[rng.integers(len(_FIRST))]} {_LAST[rng.integers(len(_LAST))]}"
        out.append(TrackRecipe(
            track_id=f"demo-{seed}-{index:05d}",
            title=title,
            artist=artist,
            album=f"{_NOUNS[rng.integers(len(_NOUNS))]} Sessions",
            licence=str(rng.choice(["CC-BY-4.0", "royalty-free", "CC0-1.0"])),
            bpm=float(rng.choice([60, 72, 84, 96, 110, 124, 140, 160, 176])),
            root_hz=float(110 * 2 ** (rng.integers(0, 12) / 12)),
            instrument=str(INSTRUMENTS[index % len(INSTRUMENTS)]),
            vocals=bool(rng.random() < 0.5),
            drums=bool(rng.random() < 0.7),
            seconds=float(np.round(rng.uniform(min_seconds, max_seconds), 2)),
            fmt=FORMATS[index % len(FORMATS)],
        ))
    return out


def generate_catalog(out: Path, count: int, seed: int = 0, min_seconds: float = 6.0,
                     max_seconds: float = 30.0, progress: bool = True) -> Path:
    """Write `count` tracks and `manifest.jsonl` into `out`; the generating recipes (ground truth for
    tests and the demo world) go to `.truth/recipes.jsonl`, hidden so ingestion skips it."""
    audio_dir = out / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.jsonl"
    (out / ".truth").mkdir(exist_ok=True)
    with manifest.open("w") as lines, (out / ".truth" / "recipes.jsonl").open("w") as truth:
        for index, recipe in enumerate(tqdm(recipes(count, seed, min_seconds, max_seconds), desc="synth tracks",
                                            unit="track", disable=not progress)):
            path = audio_dir / f"{recipe.track_id}.{recipe.fmt}"
            if not path.exists():
                write_audio(path, synthesize(recipe, seed * 100_003 + index), recipe.fmt)
            lines.write(json.dumps({"id": recipe.track_id, "title": recipe.title, "artist": recipe.artist,
                                    "album": recipe.album, "licence": recipe.licence,
                                    "audio_path": f"audio/{path.name}"}) + "\n")
            truth.write(json.dumps(asdict(recipe)) + "\n")
    return manifest
