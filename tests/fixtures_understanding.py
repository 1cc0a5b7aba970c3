"""A small ranking world whose tracks carry music facts (even ids) or tags only (odd ids), for the
attribute-aware re-ranking and the free-text conversation tests: a random-weight fusion checkpoint, an
embedded store (qdrant-edge) behind the `tracks` alias, two ready videos. Closed on return."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musechat.catalog.facts import passing_tags
from musechat.catalog.indexer import tracks_spec
from musechat.catalog.track_features import write_track_features
from musechat.contracts.api import VideoStatus
from musechat.contracts.catalog import MUSIC_VECTOR, TRACKS_COLLECTION, TrackFeaturesPayload, TrackPayload
from musechat.contracts.conversation import VideoEncoded
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.music import TrackFacts
from musechat.fusion.model import FusionConfig, FusionModel, InputDims, save_checkpoint
from musechat.ranker.core import FusionVectorizer
from musechat.store import PointRecord
from musechat.store.edge import EdgeStore
from musechat.video.registry import VideoRegistry

VIDEO_DIM, MUSIC_DIM, TEXT_DIM, TRACKS = 24, 40, 16, 90
INSTRUMENTS = ("piano", "guitar", "strings", "synth", "drums")
VOICES = ("female", "male", "none")
GENRES = ("rock", "jazz", "electronic")


@dataclass(frozen=True)
class FactsWorld:
    checkpoint: Path
    store_path: Path


def track_spec(i: int) -> tuple[str, str, str, float]:
    """(instrument, voice, genre, bpm) of track i: every combination occurs, tempi spread 70-166."""
    return INSTRUMENTS[i % 5], VOICES[(i // 5) % 3], GENRES[(i // 15) % 3], 70.0 + (i * 37) % 97


def _facts(i: int) -> TrackFacts:
    instrument, voice, genre, bpm = track_spec(i)
    scores = {f"mtt:{name}": 0.02 for name in INSTRUMENTS} | {f"mtt:{instrument}": 0.9}
    genre_key = {"rock": "mtt:rock", "jazz": "msd:jazz", "electronic": "mtt:electronic"}[genre]
    scores |= {"mtt:rock": 0.01, "msd:jazz": 0.01, "mtt:electronic": 0.01, genre_key: 0.8}
    if voice != "none":
        scores |= {f"mtt:{voice} vocal": 0.85, "mtt:vocal": 0.8}
    return TrackFacts(tempo_bpm=bpm, tempo_confidence=0.9, loudness_db=-14.0, duration_s=60.0 + i,
                      vocals_probability=0.95 if voice != "none" else 0.03, tag_scores=scores, groups={})


def _tags(i: int) -> list[str]:
    instrument, voice, genre, _ = track_spec(i)
    return [instrument, genre, "no vocals" if voice == "none" else f"{voice} vocals"]


def build_facts_world(root: Path) -> FactsWorld:
    import torch

    torch.manual_seed(0)
    config = FusionConfig(variant="musechat", d_model=32, n_heads=2,
                          dims=InputDims(video=VIDEO_DIM, music=MUSIC_DIM, text=TEXT_DIM))
    save_checkpoint(FusionModel(config).eval(), root / "fusion")
    rng = np.random.default_rng(0)
    features = [rng.standard_normal((int(rng.integers(6, 13)), MUSIC_DIM)).astype(np.float32) for _ in range(TRACKS)]
    vectors = FusionVectorizer.load(root / "fusion").embed_many(features)
    store = EdgeStore(root / "store")
    try:
        store.create_collection(tracks_spec("tracks-v1"))
        points = []
        for i in range(len(features)):
            facts = _facts(i) if i % 2 == 0 else None
            # Facts tracks list the tags their calibrated scores pass, as the indexer writes them.
            tags = passing_tags(facts) if facts is not None else _tags(i)
            payload = TrackPayload(track_id=f"trk-{i}", title=f"Song {i}", artist="A", duration_s=60 + i, tags=tags,
                                   tag_scores=[], feature_model="m", index_model="fusion", facts=facts)
            points.append(PointRecord(id=f"trk-{i}", vectors={MUSIC_VECTOR: vectors[i].tolist()},
                                      payload=payload.model_dump(mode="json")))
        store.upsert("tracks-v1", points)
        write_track_features(store, [TrackFeaturesPayload(track_id=f"trk-{i}", features=FeatureMatrix.from_array(f),
                                                          feature_model="m") for i, f in enumerate(features)])
        store.set_alias(TRACKS_COLLECTION, "tracks-v1")
        videos = VideoRegistry(store, VIDEO_DIM)
        videos.ensure_collection()
        for name, segments in (("vid-a", 12), ("vid-b", 7)):
            videos.record(VideoEncoded(video_id=name, status=VideoStatus.READY, feature_model="v",
                                       features=FeatureMatrix.from_array(rng.standard_normal((segments, VIDEO_DIM)))))
    finally:
        store.close()
    return FactsWorld(root / "fusion", root / "store")


def words(n: int, seed: int = 0) -> FeatureMatrix:
    return FeatureMatrix.from_array(np.random.default_rng(seed).standard_normal((n, TEXT_DIM)).astype(np.float32))
