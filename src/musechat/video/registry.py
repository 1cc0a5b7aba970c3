"""The `videos` collection: one point per video holding its status and, once ready, its segment features.

The gateway writes `pending` when it accepts a video; the video indexer writes `ready` (with features and
a pooled visual vector) or `failed` (with the reason). Points without a vector are allowed while pending.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from musechat.contracts.api import VideoState, VideoStatus
from musechat.contracts.conversation import VIDEOS_COLLECTION, VISUAL_VECTOR, VideoEncoded, VideoPayload
from musechat.store import CollectionSpec, PayloadIndexKind, PointRecord, VectorStore


class VideoRegistry:
    def __init__(self, store: VectorStore, visual_dim: int) -> None:
        self._store = store
        self._visual_dim = visual_dim

    def ensure_collection(self) -> None:
        if not self._store.collection_exists(VIDEOS_COLLECTION):
            self._store.create_collection(CollectionSpec(
                name=VIDEOS_COLLECTION, vectors={VISUAL_VECTOR: self._visual_dim},
                payload_indexes={"status": PayloadIndexKind.KEYWORD}))

    def _write(self, payload: VideoPayload, vector: np.ndarray | None = None) -> None:
        vectors = {VISUAL_VECTOR: vector.tolist()} if vector is not None else {}
        self._store.upsert(VIDEOS_COLLECTION, [PointRecord(id=payload.video_id, vectors=vectors,
                                                           payload=payload.model_dump(mode="json"))])

    def mark_pending(self, video_id: str) -> None:
        self._write(VideoPayload(video_id=video_id, status=VideoStatus.PENDING, updated_at=datetime.now(UTC)))

    def record(self, encoded: VideoEncoded) -> None:
        """Apply a video-encoded event (ready with features, or failed with a reason); idempotent."""
        now = datetime.now(UTC)
        if encoded.status is VideoStatus.FAILED or encoded.features is None:
            self._write(VideoPayload(video_id=encoded.video_id, status=VideoStatus.FAILED,
                                     reason=encoded.reason or "the video could not be encoded", updated_at=now))
            return
        features = encoded.features.to_array()
        pooled = features.mean(axis=0)
        norm = float(np.linalg.norm(pooled))
        self._write(VideoPayload(video_id=encoded.video_id, status=VideoStatus.READY, features=encoded.features,
                                 num_segments=features.shape[0], duration_s=encoded.duration_s,
                                 feature_model=encoded.feature_model, updated_at=now),
                    pooled / norm if norm > 0 else None)

    def state(self, video_id: str) -> VideoState | None:
        if not self._store.collection_exists(VIDEOS_COLLECTION):
            return None
        records = self._store.retrieve(VIDEOS_COLLECTION, [video_id])
        if not records:
            return None
        payload = VideoPayload.model_validate(records[0].payload)
        return VideoState(video_id=video_id, status=payload.status, reason=payload.reason,
                          duration_s=payload.duration_s, num_segments=payload.num_segments)
