"""The demo world: generated videos and tracks whose styles correspond, so a fusion model can learn
something true about them and a conversation can be checked against ground truth.

- Tracks: 4 instruments x 3 tempo bands x vocals-or-not x variants (key, drums, exact tempo).
- Videos: 4 moods (palette) x 3 pacings (motion speed, cut rate). A video's mood calls for an
  instrument (calm→piano, sunny→guitar, dark→strings, neon→synth); its pacing for a tempo band.
- Words name what must change relative to the previous suggestion ("faster", "no vocals", "more
  guitar"); the candidate carries what was already right.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from musechat.catalog.demo_catalog import TrackRecipe, synthesize, write_audio

TEMPO_BANDS: dict[str, tuple[float, ...]] = {"slow": (66.0, 76.0), "medium": (100.0, 112.0), "fast": (150.0, 168.0)}
MOOD_INSTRUMENT = {"calm": "piano", "sunny": "guitar", "dark": "strings", "neon": "synth"}
PALETTES: dict[str, tuple[tuple[int, int, int], tuple[tuple[int, int, int], ...]]] = {
    "calm": ((150, 190, 230), ((240, 250, 255), (90, 130, 200), (200, 220, 240))),
    "sunny": ((250, 200, 90), ((255, 120, 40), (255, 240, 160), (230, 90, 60))),
    "dark": ((30, 25, 45), ((90, 60, 120), (60, 60, 70), (140, 30, 50))),
    "neon": ((5, 5, 15), ((255, 0, 200), (0, 255, 230), (180, 255, 0))),
}
PACING = {"slow": (0.08, None), "medium": (0.35, 3.0), "fast": (1.4, 0.6)}  # speed (widths/s), cut period
_TITLES = ("Harbor", "Lanterns", "Orchard", "Signals", "Tides", "Mirrors", "Highway", "Embers", "Gardens",
           "Canyon", "Echoes", "Parade", "Comets", "Meadow", "Static", "Velvet", "Glass", "Hollow")
_ADJECTIVES = ("Golden", "Midnight", "Electric", "Quiet", "Neon", "Paper", "Silver", "Wild", "Northern",
               "Crimson", "Bright", "Distant")
_ARTISTS = ("Ada Skaggs", "Milo Marlow", "Rosa Okafor", "Theo Lindqvist", "Nia Reyes", "Otis Hart",
            "Luz Moreau", "Ivan Tanaka", "June Quinn", "Kai Vale")
TRACK_SECONDS = 8.0
VIDEO_SECONDS = 12.0


@dataclass(frozen=True)
class VideoRecipe:
    video_id: str
    mood: str
    pacing: str
    seed: int


def band_of(bpm: float) -> str:
    return min(TEMPO_BANDS, key=lambda band: min(abs(bpm - b) for b in TEMPO_BANDS[band]))


def track_recipes(variants: int = 3, seed: int = 0) -> list[TrackRecipe]:
    rng = np.random.default_rng(seed)
    out: list[TrackRecipe] = []
    formats = ("wav", "flac", "mp3", "ogg")
    for instrument in MOOD_INSTRUMENT.values():
        for band, tempos in TEMPO_BANDS.items():
            for vocals in (False, True):
                for variant in range(variants):
                    index = len(out)
                    out.append(TrackRecipe(
                        track_id=f"world-{instrument}-{band}-{'vox' if vocals else 'inst'}-{variant}",
                        title=f"{_ADJECTIVES[index % len(_ADJECTIVES)]} {_TITLES[(index * 7) % len(_TITLES)]}",
                        artist=_ARTISTS[(index * 3 + variant) % len(_ARTISTS)],
                        album=f"{instrument.title()} {band.title()} Sessions",
                        licence=("CC-BY-4.0", "royalty-free", "CC0-1.0")[variant % 3],
                        bpm=float(tempos[variant % len(tempos)]),
                        root_hz=float(110 * 2 ** (rng.integers(0, 12) / 12)),
                        instrument=instrument, vocals=vocals, drums=bool(variant != 1),
                        seconds=TRACK_SECONDS, fmt=formats[index % len(formats)]))
    return out


def video_recipes(variants: int = 2, seed: int = 0) -> list[VideoRecipe]:
    return [VideoRecipe(f"world-video-{mood}-{pacing}-{v}", mood, pacing, seed * 1000 + i)
            for i, (mood, pacing, v) in enumerate(
                (m, p, v) for m in MOOD_INSTRUMENT for p in PACING for v in range(variants))]


def render_video(recipe: VideoRecipe, path: Path, seconds: float = VIDEO_SECONDS, fps: int = 10,
                 size: int = 64) -> None:
    """Moving discs over a mood palette; pacing sets their speed and how often the scene cuts."""
    import av

    rng = np.random.default_rng(recipe.seed)
    background, colors = PALETTES[recipe.mood]
    speed, cut_every = PACING[recipe.pacing]
    count = 5
    position = rng.uniform(0, size, (count, 2))
    velocity = rng.normal(0, 1, (count, 2))
    velocity = velocity / np.linalg.norm(velocity, axis=1, keepdims=True) * speed * size / fps
    radius = rng.uniform(size * 0.06, size * 0.16, count)
    yy, xx = np.mgrid[0:size, 0:size]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(int(seconds * fps)):
            t = index / fps
            shift = int(t / cut_every) if cut_every else 0
            frame = np.empty((size, size, 3), dtype=np.uint8)
            frame[:] = background
            position = (position + velocity) % size
            for k in range(count):
                disc = (xx - position[k, 0]) ** 2 + (yy - position[k, 1]) ** 2 <= radius[k] ** 2
                frame[disc] = colors[(k + shift) % len(colors)]
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@dataclass(frozen=True)
class DemoWorld:
    root: Path
    tracks: list[TrackRecipe]
    videos: list[VideoRecipe]

    @property
    def catalog_dir(self) -> Path:
        return self.root / "catalog"

    def video_path(self, video: VideoRecipe) -> Path:
        return self.root / "videos" / f"{video.video_id}.mp4"

    def track(self, track_id: str) -> TrackRecipe:
        return next(t for t in self.tracks if t.track_id == track_id)


def build_world(root: Path, track_variants: int = 3, video_variants: int = 2, seed: int = 0,
                progress: bool = True) -> DemoWorld:
    """Write the catalog (audio + manifest.jsonl) and the videos; existing files are kept."""
    world = DemoWorld(root, track_recipes(track_variants, seed), video_recipes(video_variants, seed))
    audio_dir = world.catalog_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    lines = []
    for index, recipe in enumerate(tqdm(world.tracks, desc="demo tracks", unit="track", disable=not progress)):
        path = audio_dir / f"{recipe.track_id}.{recipe.fmt}"
        if not path.exists():
            write_audio(path, synthesize(recipe, seed * 100_003 + index), recipe.fmt)
        lines.append(json.dumps({"id": recipe.track_id, "title": recipe.title, "artist": recipe.artist,
                                 "album": recipe.album, "licence": recipe.licence,
                                 "audio_path": f"audio/{path.name}"}))
    (world.catalog_dir / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    for video in tqdm(world.videos, desc="demo videos", unit="video", disable=not progress):
        if not world.video_path(video).exists():
            render_video(video, world.video_path(video))
    (root / "world.json").write_text(json.dumps({"tracks": [asdict(t) for t in world.tracks],
                                                 "videos": [asdict(v) for v in world.videos]}, indent=1))
    return world
