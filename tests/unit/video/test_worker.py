"""The video worker's outcomes per encoder answer, and the `videos` indexing handler on a real store.

Why: a bad video must become a `failed` status the API reports (never DLQ poison), an encoder-internal
error must be retried, and the outcome event's id must follow the submitted event's id so redeliveries
dedupe downstream (docs/video-worker.md). The encoder and the producer are recording stand-ins (the
real broker, encoder and store path runs in tests/e2e/test_conversation.py); the store is qdrant-client's
local mode.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from musechat.bus import PermanentError
from musechat.contracts.api import VideoStatus
from musechat.contracts.conversation import VideoEncoded, VideoSubmitted
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.topics import Topic
from musechat.contracts.video import VideoEncodeError, VideoEncodeResult, VideoEncoding
from musechat.store import VectorStore
from musechat.store.settings import IN_MEMORY, StoreSettings, open_store
from musechat.video.registry import VideoRegistry
from musechat.video.worker import VideoIndexer, VideoWorker

pytestmark = pytest.mark.unit
DIM = 4


class ScriptedEncoder:
    def __init__(self, result: VideoEncodeResult) -> None:
        self.result = result
        self.paths: list[str] = []

    def encode_paths(self, paths: Sequence[str]) -> list[VideoEncodeResult]:
        self.paths.extend(paths)
        return [self.result]


class RecordingProducer:
    def __init__(self) -> None:
        self.published: list[tuple[str, EventEnvelope[Any]]] = []

    def publish(self, topic: str, event: EventEnvelope[Any]) -> None:
        self.published.append((topic, event))


def submitted(video_id: str = "v1", path: str = "/media/v1.mp4") -> EventEnvelope[Any]:
    return EventEnvelope[Any](id="evt-1", type=Topic.VIDEO_SUBMITTED.event_type, source="test", subject=video_id,
                              data=VideoSubmitted(video_id=video_id, path=path).model_dump(mode="json"))


def encoding(rows: int = 2) -> VideoEncoding:
    features = np.arange(rows * DIM, dtype=np.float32).reshape(rows, DIM) + 1
    return VideoEncoding(features=FeatureMatrix.from_array(features), num_segments=rows,
                         segment_starts_s=[10.0 * i for i in range(rows)], duration_s=10.0 * rows, num_frames=50 * rows,
                         feature_model="clip-vision=tiny@00000000", feature_dim=DIM)


def run(result: VideoEncodeResult) -> tuple[ScriptedEncoder, RecordingProducer]:
    encoder, producer = ScriptedEncoder(result), RecordingProducer()
    VideoWorker(encoder, producer).handle(submitted())  # type: ignore[arg-type]
    return encoder, producer


def test_an_encoded_video_is_published_ready_with_its_features() -> None:
    encoder, producer = run(VideoEncodeResult(ok=True, encoding=encoding()))
    assert encoder.paths == ["/media/v1.mp4"]
    [(topic, event)] = producer.published
    assert topic == Topic.VIDEO_ENCODED and event.id == "video-encoded:evt-1" and event.subject == "v1"
    data = VideoEncoded.model_validate(event.data)
    assert data.status is VideoStatus.READY and data.duration_s == 20.0
    assert data.features is not None and data.features.to_array().shape == (2, DIM)


def test_a_bad_video_is_published_failed_with_its_code_and_reason() -> None:
    _, producer = run(VideoEncodeResult(ok=False, error=VideoEncodeError(code="corrupt", message="cut short")))
    [(_, event)] = producer.published
    data = VideoEncoded.model_validate(event.data)
    assert data.status is VideoStatus.FAILED and data.reason == "corrupt: cut short" and data.features is None


def test_an_internal_encoder_error_is_raised_for_a_retry_and_publishes_nothing() -> None:
    encoder, producer = ScriptedEncoder(VideoEncodeResult(ok=False, error=VideoEncodeError(
        code="internal", message="CUDA out of memory"))), RecordingProducer()
    with pytest.raises(RuntimeError, match="CUDA out of memory"):
        VideoWorker(encoder, producer).handle(submitted())  # type: ignore[arg-type]
    assert producer.published == []


def test_a_malformed_event_is_permanent() -> None:
    event = EventEnvelope[Any](id="evt-2", type=Topic.VIDEO_SUBMITTED.event_type, source="test", subject="v1",
                               data={"video": "v1"})
    with pytest.raises(PermanentError, match="VideoSubmitted"):
        VideoWorker(ScriptedEncoder(VideoEncodeResult(ok=True, encoding=encoding())),
                    RecordingProducer()).handle(event)  # type: ignore[arg-type]


@pytest.fixture
def store() -> Iterator[VectorStore]:
    store = open_store(StoreSettings(backend="qdrant", path=IN_MEMORY))
    yield store
    store.close()


def encoded_event(data: VideoEncoded) -> EventEnvelope[Any]:
    return EventEnvelope[Any](id=f"e-{data.status}", type=Topic.VIDEO_ENCODED.event_type, source="test",
                              subject=data.video_id, data=data.model_dump(mode="json"))


def test_the_indexer_handler_records_ready_and_failed_videos(store: VectorStore) -> None:
    registry = VideoRegistry(store, DIM)
    registry.ensure_collection()
    registry.mark_pending("v1")
    pending = registry.state("v1")
    assert pending is not None and pending.status is VideoStatus.PENDING
    ready = encoding()
    VideoIndexer(registry).handle(encoded_event(VideoEncoded(
        video_id="v1", status=VideoStatus.READY, features=ready.features, duration_s=20.0,
        feature_model=ready.feature_model)))
    state = registry.state("v1")
    assert state is not None and state.status is VideoStatus.READY and state.num_segments == 2
    VideoIndexer(registry).handle(encoded_event(VideoEncoded(video_id="v2", status=VideoStatus.FAILED,
                                                             reason="corrupt: cut short")))
    failed = registry.state("v2")
    assert failed is not None and failed.status is VideoStatus.FAILED and failed.reason == "corrupt: cut short"


def test_a_ready_event_without_features_is_permanent(store: VectorStore) -> None:
    registry = VideoRegistry(store, DIM)
    registry.ensure_collection()
    with pytest.raises(PermanentError, match="no features"):
        VideoIndexer(registry).handle(encoded_event(VideoEncoded(video_id="v1", status=VideoStatus.READY)))

