"""A small ranking world on disk for ranker tests: a random-weight fusion checkpoint, an embedded store
with 60 tracks (vectors from the checkpoint's music tower, tags, durations) behind the `tracks` alias and
two ready videos, and two word-token matrices. The store is closed on return, so a server may open it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musechat.catalog.indexer import tracks_spec
from musechat.catalog.track_features import write_track_features
from musechat.contracts.api import TrackFilters, VideoStatus
from musechat.contracts.catalog import MUSIC_VECTOR, TRACKS_COLLECTION, TrackFeaturesPayload, TrackPayload
from musechat.contracts.conversation import VideoEncoded
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.ranking import RankRequest
from musechat.fusion.model import FusionConfig, FusionModel, InputDims, save_checkpoint
from musechat.ranker.core import FusionVectorizer
from musechat.store import PointRecord
from musechat.store.edge import EdgeStore
from musechat.video.registry import VideoRegistry

VIDEO_DIM, MUSIC_DIM, TEXT_DIM, TRACKS = 24, 40, 16, 60
TAGS = (["rock", "male vocals"], ["piano", "no vocals"], ["electronic", "female vocals"])


@dataclass(frozen=True)
class RankerWorld:
    checkpoint: Path
    store_path: Path
    words: dict[int, FeatureMatrix]  # by token count

    def turns(self) -> list[RankRequest]:
        """Turn-1 and later turns mixed, with exclusions and filters, and two that must fail (indexes 2, 4)."""
        return [
            RankRequest(video_id="vid-a"),
            RankRequest(video_id="vid-b", candidate_track_id="trk-3", text_tokens=self.words[5],
                        exclude_track_ids=["trk-9"]),
            RankRequest(video_id="nope"),
            RankRequest(video_id="vid-a", candidate_track_id="trk-7", text_tokens=self.words[11], limit=8,
                        filters=TrackFilters(exclude_tags=["male vocals"])),
            RankRequest(video_id="vid-a", candidate_track_id="trk-missing", text_tokens=self.words[5]),
            RankRequest(video_id="vid-b", limit=3, filters=TrackFilters(max_duration_s=90)),
        ]


def build_ranker_world(root: Path) -> RankerWorld:
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
        store.upsert("tracks-v1", [
            PointRecord(id=f"trk-{i}", vectors={MUSIC_VECTOR: vectors[i].tolist()}, payload=TrackPayload(
                track_id=f"trk-{i}", title=f"Song {i}", artist="A", duration_s=60 + i, tags=TAGS[i % 3],
                tag_scores=[], feature_model="m", index_model="fusion").model_dump(mode="json"))
            for i in range(len(features))])
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
    words = {n: FeatureMatrix.from_array(rng.standard_normal((n, TEXT_DIM))) for n in (5, 11)}
    return RankerWorld(root / "fusion", root / "store", words)
