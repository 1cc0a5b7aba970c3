"""Quartets for the demo world, built from the features the real pipeline produced (tracks: read back
from the `track_features` collection; videos: the video encoder), and the words of a small phrasebook encoded
by the real text model. Candidate and target differ in exactly what the words name. Two kinds:

- fix: the candidate misses the video in one attribute and the target is the track that fits the video
  (the paper's story: the target is the video's own music);
- override: the candidate fits the video and the words move one attribute past it ("faster" than a
  slow video suggests), so the words can win over the video, as users expect.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from musechat.catalog.demo_catalog import TrackRecipe
from musechat.catalog.track_features import iter_track_features
from musechat.demo.world import MOOD_INSTRUMENT, TEMPO_BANDS, DemoWorld, VideoRecipe, band_of
from musechat.fusion.data import FeatureDims, Quartet, QuartetWriter, TrackMeta
from musechat.store import VectorStore

_BAND_ORDER = list(TEMPO_BANDS)
PHRASES: dict[str, tuple[str, ...]] = {
    "faster": (
        "Faster, please.",
        "Can you pick something more upbeat?",
        "I need a quicker tempo.",
        "Speed it up a bit.",
        "Something with more energy and a faster beat.",
    ),
    "slower": (
        "Slower, please.",
        "Something calmer and more relaxed.",
        "Can we slow the tempo down?",
        "A gentler, slower song would fit better.",
        "Less rushed, more laid-back.",
    ),
    "no_vocals": (
        "No vocals, please.",
        "Make it instrumental.",
        "I'd rather have no singing.",
        "Same feel but without a voice.",
        "Can you find an instrumental version?",
    ),
    "vocals": (
        "I'd like some vocals.",
        "Add a singer, please.",
        "Something with a voice on it.",
        "Could it have singing?",
        "I want a song with vocals.",
    ),
}
INSTRUMENT_PHRASES = (
    "More {x}, please.",
    "Could it be {x}-driven?",
    "I want to hear {x}.",
    "Try something with {x} instead.",
    "Let's go with a {x} track.",
)


def track_features_from_store(store: VectorStore) -> dict[str, np.ndarray]:
    """The features of every catalog track (`track_features`, or the payload of a store indexed before)."""
    return {record.track_id: record.features.to_array() for record in iter_track_features(store)}


def _meta(recipe: TrackRecipe) -> TrackMeta:
    tags = [recipe.instrument, "vocals" if recipe.vocals else "no vocals", band_of(recipe.bpm)]
    return TrackMeta(title=recipe.title, artist=recipe.artist, tags=tuple(tags))


def _difference(target: TrackRecipe, other: TrackRecipe) -> str | None:
    """The phrase key that turns `other` into `target` when they differ in exactly one attribute."""
    band, other_band = band_of(target.bpm), band_of(other.bpm)
    same_inst, same_vox, same_band = (
        other.instrument == target.instrument,
        other.vocals == target.vocals,
        band == other_band,
    )
    if same_inst and same_vox and not same_band:
        return "faster" if _BAND_ORDER.index(band) > _BAND_ORDER.index(other_band) else "slower"
    if same_inst and same_band and not same_vox:
        return "vocals" if target.vocals else "no_vocals"
    if same_vox and same_band and not same_inst:
        return f"instrument:{target.instrument}"
    return None


def _pairs(fitting: list[TrackRecipe], tracks: list[TrackRecipe]) -> Iterator[tuple[TrackRecipe, TrackRecipe, str]]:
    """(candidate, target, phrase key): fix pairs (target fits the video) then override pairs."""
    for target in fitting:
        for other in tracks:
            if (key := _difference(target, other)) is not None:
                yield other, target, key
    for candidate in fitting:
        for other in tracks:
            if (key := _difference(other, candidate)) is not None:
                yield candidate, other, key


def _phrases(key: str) -> tuple[str, ...]:
    if key.startswith("instrument:"):
        return tuple(p.format(x=key.split(":", 1)[1]) for p in INSTRUMENT_PHRASES)
    return PHRASES[key]


def build_quartets(
    world: DemoWorld,
    video_features: dict[str, np.ndarray],
    track_features: dict[str, np.ndarray],
    text_encoder: object,
    out_dir: Path,
    per_video: int = 120,
    seed: int = 0,
) -> Path:
    """Write up to `per_video` quartets per world video (sampled from its fix and override pairs)."""
    from musechat.encoders.text import TextEncoder

    assert isinstance(text_encoder, TextEncoder)
    keys = ["faster", "slower", "no_vocals", "vocals", *(f"instrument:{x}" for x in MOOD_INSTRUMENT.values())]
    sentences = sorted({p for key in keys for p in _phrases(key)})
    encoded = dict(zip(sentences, (a.tokens for a in text_encoder.encode_arrays(sentences)), strict=True))
    rng = np.random.default_rng(seed)
    some_video = next(iter(video_features.values()))
    some_track = next(iter(track_features.values()))
    dims = FeatureDims(video=some_video.shape[1], music=some_track.shape[1], text=text_encoder.dim)
    tracks = [t for t in world.tracks if t.track_id in track_features]
    with QuartetWriter(out_dir, dims, shard_size=2048, info={"source": "musechat demo world"}) as writer:
        for video in world.videos:
            pairs = list(_pairs(_targets(video, tracks), tracks))
            chosen = rng.permutation(len(pairs))[:per_video]
            for candidate, target, key in (pairs[i] for i in chosen):
                text = str(rng.choice(_phrases(key)))
                writer.add(
                    Quartet(
                        quartet_id=f"{video.video_id}|{target.track_id}|{candidate.track_id}",
                        video_id=video.video_id,
                        video=video_features[video.video_id],
                        target_track_id=target.track_id,
                        target=track_features[target.track_id],
                        target_meta=_meta(target),
                        candidate_track_id=candidate.track_id,
                        candidate=track_features[candidate.track_id],
                        candidate_meta=_meta(candidate),
                        user_text=text,
                        text_tokens=encoded[text],
                        conversation=({"role": "user", "text": text},),
                        explanation=f"I suggest {target.title} by {target.artist}.",
                    )
                )
    return out_dir


def _targets(video: VideoRecipe, tracks: list[TrackRecipe]) -> list[TrackRecipe]:
    """The tracks that fit a video: its mood's instrument in its pacing's tempo band (vocals either way)."""
    return [t for t in tracks if t.instrument == MOOD_INSTRUMENT[video.mood] and band_of(t.bpm) == video.pacing]
