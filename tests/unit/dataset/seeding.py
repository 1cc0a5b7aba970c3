"""Seed a real store with what the dataset writer reads: a ready video, catalog tracks and their features."""

from __future__ import annotations

import numpy as np

from musechat.catalog.indexer import ensure_tracks_collection
from musechat.catalog.track_features import write_track_features
from musechat.catalog.vectorizer import INDEX_DIM
from musechat.contracts.api import VideoStatus
from musechat.contracts.catalog import MUSIC_VECTOR, TRACKS_COLLECTION, TrackFeaturesPayload, TrackPayload
from musechat.contracts.conversation import VideoEncoded
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.music import TagScore
from musechat.store import PointRecord, VectorStore
from musechat.video.registry import VideoRegistry

VIDEO_DIM, MUSIC_DIM = 32, 24


def seed_video(store: VectorStore, video_id: str, segments: int = 3, seed: int = 0) -> np.ndarray:
    features = np.random.default_rng(seed).normal(size=(segments, VIDEO_DIM)).astype(np.float16)
    registry = VideoRegistry(store, VIDEO_DIM)
    registry.ensure_collection()
    registry.record(VideoEncoded(video_id=video_id, status=VideoStatus.READY, duration_s=10.0 * segments,
                                 features=FeatureMatrix.from_array(features), feature_model="clip-test@0"))
    return features.astype(np.float32)


def seed_tracks(store: VectorStore, titles: dict[str, str], segments: int = 2, seed: int = 1) -> dict[str, np.ndarray]:
    """`titles`: track id -> title; returns track id -> features."""
    rng = np.random.default_rng(seed)
    ensure_tracks_collection(store, "fixed-test")
    out, points, stored = {}, [], []
    for track_id, title in titles.items():
        features = rng.normal(size=(segments, MUSIC_DIM)).astype(np.float16)
        out[track_id] = features.astype(np.float32)
        payload = TrackPayload(
            track_id=track_id, title=title, artist="Tester", duration_s=20.0, tags=["guitar", "rock"],
            tag_scores=[TagScore(name="guitar", score=0.9, vocabulary="MTT"),
                        TagScore(name="rock", score=0.8, vocabulary="MSD")],
            feature_model="ast-test@0", index_model="fixed-test")
        stored.append(TrackFeaturesPayload(track_id=track_id, features=FeatureMatrix.from_array(features),
                                           feature_model="ast-test@0"))
        vector = rng.normal(size=INDEX_DIM)
        points.append(PointRecord(id=track_id, vectors={MUSIC_VECTOR: (vector / np.linalg.norm(vector)).tolist()},
                                  payload=payload.model_dump(mode="json")))
    write_track_features(store, stored)
    store.upsert(TRACKS_COLLECTION, points)
    return out
