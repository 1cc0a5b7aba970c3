"""The `videos` collection: one point per video holding its status and, once ready, its segment features.

The gateway writes `pending` when it accepts a video; the video indexer writes `ready` (with features and
a pooled visual vector) or `failed` (with the reason). Points without a vector are allowed while pending.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from musechat.contracts.api import VideoState, VideoStatus
from musechat.contracts.conversation import (
    DEFAULT_TENANT,
    VIDEOS_COLLECTION,
    VISUAL_VECTOR,
    VideoEncoded,
    VideoPayload,
)
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

    def mark_pending(self, video_id: str, tenant: str | None = None, source_path: str | None = None) -> None:
        self._write(VideoPayload(video_id=video_id, status=VideoStatus.PENDING, updated_at=datetime.now(UTC),
                                 tenant=tenant, source_path=source_path))

    def _payload(self, video_id: str) -> VideoPayload | None:
        if not self._store.collection_exists(VIDEOS_COLLECTION):
            return None
        records = self._store.retrieve(VIDEOS_COLLECTION, [video_id])
        return VideoPayload.model_validate(records[0].payload) if records else None

    def record(self, encoded: VideoEncoded) -> None:
        """Apply a video-encoded event (ready with features, or failed with a reason); idempotent. The
        owner and source recorded when the video was accepted are kept; a video deleted meanwhile stays
        deleted (its late encoding is dropped: the tombstone outlives it)."""
        now = datetime.now(UTC)
        accepted = self._payload(encoded.video_id)
        if accepted is not None and accepted.deleted_at is not None:
            return
        owner = {"tenant": accepted.tenant, "source_path": accepted.source_path} if accepted else {}
        if encoded.status is VideoStatus.FAILED or encoded.features is None:
            self._write(VideoPayload(video_id=encoded.video_id, status=VideoStatus.FAILED,
                                     reason=encoded.reason or "the video could not be encoded", updated_at=now,
                                     **owner))
            return
        features = encoded.features.to_array()
        pooled = features.mean(axis=0)
        norm = float(np.linalg.norm(pooled))
        self._write(VideoPayload(video_id=encoded.video_id, status=VideoStatus.READY, features=encoded.features,
                                 num_segments=features.shape[0], duration_s=encoded.duration_s,
                                 feature_model=encoded.feature_model, updated_at=now, **owner),
                    pooled / norm if norm > 0 else None)

    def owned(self, video_id: str, tenant: str | None) -> VideoPayload | None:
        """The video's record if `tenant` may see it (None: any tenant); another tenant's video is None,
        exactly like an unknown one."""
        payload = self._payload(video_id)
        if payload is None or payload.deleted_at is not None:
            return None
        if tenant is not None and (payload.tenant or DEFAULT_TENANT) != tenant:
            return None
        return payload

    def delete(self, video: VideoPayload) -> None:
        """Replace the video's record (features included) by a tombstone: unknown to every reader from
        now on, and a late encoding event cannot bring it back."""
        self._write(VideoPayload(video_id=video.video_id, status=VideoStatus.FAILED, reason="deleted",
                                 tenant=video.tenant, updated_at=datetime.now(UTC), deleted_at=datetime.now(UTC)))

    def state(self, video_id: str, tenant: str | None = None) -> VideoState | None:
        payload = self.owned(video_id, tenant)
        if payload is None:
            return None
        return VideoState(video_id=video_id, status=payload.status, reason=payload.reason,
                          duration_s=payload.duration_s, num_segments=payload.num_segments)
