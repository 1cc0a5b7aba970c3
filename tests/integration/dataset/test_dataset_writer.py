"""The dataset writer end to end: turn and feedback events on the real broker (Tansu), features from a
qdrant-edge store, words encoded by the real all-MiniLM-L6-v2; the sealed datasets read back with
`QuartetDataset`; an accept naming an unknown track is accounted as failed, never written."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from prometheus_client import REGISTRY

from musechat.bus import BusSettings, EventProducer, ensure_topics, read_topic
from musechat.contracts.api import TrackFilters
from musechat.contracts.conversation import ConversationTurn, FeedbackGiven
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.topics import Topic, dlq_topic
from musechat.dataset.runtime import dataset_writer, run_dataset_writer, text_encoder
from musechat.dataset.settings import DatasetWriterSettings
from musechat.fusion.data import QuartetDataset
from musechat.store import VectorStore
from musechat.store.settings import StoreSettings, open_store
from tests.unit.dataset.seeding import MUSIC_DIM, VIDEO_DIM, seed_tracks, seed_video

pytestmark = pytest.mark.integration


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VectorStore]:
    store = open_store(StoreSettings(backend="edge", path=tmp_path / "qdrant-edge"))
    yield store
    store.close()


def envelope(topic: Topic, subject: str, data: Any) -> EventEnvelope[Any]:
    return EventEnvelope[Any](id=str(uuid.uuid4()), type=topic.event_type, source="tests", subject=subject, data=data)


def turn_event(conversation: str, number: int, video: str, text: str | None, candidate: str | None,
               recommended: list[str]) -> EventEnvelope[Any]:
    return envelope(Topic.CONVERSATION_TURN, conversation, ConversationTurn(
        conversation_id=conversation, turn=number, video_id=video, text=text, candidate_track_id=candidate,
        filters=TrackFilters(), recommended_track_ids=recommended, scores=[0.5] * len(recommended),
        model_version="fusion-test@1"))


def feedback_event(conversation: str, number: int, video: str, track: str,
                   verdict: Literal["accept", "reject"]) -> EventEnvelope[Any]:
    return envelope(Topic.FEEDBACK, conversation, FeedbackGiven(
        conversation_id=conversation, turn=number, video_id=video, track_id=track, verdict=verdict))


def failed_count() -> float:
    return REGISTRY.get_sample_value("musechat_dataset_quartets_total", {"outcome": "failed"}) or 0.0


def test_accepted_turns_become_readable_quartet_datasets(
        bus_settings: BusSettings, kafka_bootstrap: str, store: VectorStore, tmp_path: Path,
        unique_name: Callable[[str], str]) -> None:
    video = unique_name("vid")
    video_features = seed_video(store, video, segments=4)
    tracks = seed_tracks(store, {"trk-a": "Deliverer", "trk-b": "Slow River", "trk-c": "Quiet Keys"})
    group = unique_name("group")
    settings = DatasetWriterSettings(group_id=group, output_dir=tmp_path / "quartets", shard_size=2,
                                     flush_every_s=600, bus=bus_settings)
    conv = {name: unique_name(name) for name in ("a", "b", "c", "d", "e")}
    words = {"a": "more guitar and a male voice", "b": "slower please, no vocals", "e": "something calmer"}
    ensure_topics(kafka_bootstrap, [Topic.CONVERSATION_TURN, Topic.FEEDBACK])
    with EventProducer(bus_settings) as producer:
        # a: the usual order (turn 1, turn 2, accept on turn 2).
        producer.publish(Topic.CONVERSATION_TURN, turn_event(conv["a"], 1, video, None, None, ["trk-a"]))
        producer.publish(Topic.CONVERSATION_TURN, turn_event(conv["a"], 2, video, words["a"], "trk-a", ["trk-b"]))
        producer.publish(Topic.FEEDBACK, feedback_event(conv["a"], 2, video, "trk-b", "accept"))
        # b: the accept is published before its turn (two topics: consumption order is not guaranteed).
        producer.publish(Topic.FEEDBACK, feedback_event(conv["b"], 2, video, "trk-a", "accept"))
        producer.publish(Topic.CONVERSATION_TURN, turn_event(conv["b"], 2, video, words["b"], "trk-c", ["trk-a"]))
        # c: the accepted track is not in the catalog.
        producer.publish(Topic.CONVERSATION_TURN, turn_event(conv["c"], 2, video, "any", "trk-a", ["trk-x"]))
        producer.publish(Topic.FEEDBACK, feedback_event(conv["c"], 2, video, "trk-x", "accept"))
        # d: a reject and a turn-1 accept make no quartet.
        producer.publish(Topic.CONVERSATION_TURN, turn_event(conv["d"], 2, video, "hm", "trk-a", ["trk-c"]))
        producer.publish(Topic.FEEDBACK, feedback_event(conv["d"], 2, video, "trk-c", "reject"))
        producer.publish(Topic.FEEDBACK, feedback_event(conv["d"], 1, video, "trk-a", "accept"))
        # e: the third quartet, left in the open dataset until the writer stops.
        producer.publish(Topic.CONVERSATION_TURN, turn_event(conv["e"], 2, video, words["e"], "trk-b", ["trk-c"]))
        producer.publish(Topic.FEEDBACK, feedback_event(conv["e"], 2, video, "trk-c", "accept"))
        encoder = text_encoder(settings)  # the real MiniLM, in-process
        writer = dataset_writer(settings, store, encoder)
        failed_before = failed_count()
        stats = run_dataset_writer(settings, writer, producer, threading.Event(), idle_timeout_s=4.0)

    assert stats.processed >= 11
    sealed = writer.sink.sealed
    assert [len(QuartetDataset(p)) for p in sealed] == [2, 1]  # 2 sealed by size, 1 sealed on stop
    quartets = {q.extra["conversation_id"]: q for p in sealed for q in (QuartetDataset(p)[i] for i in
                                                                          range(len(QuartetDataset(p))))}
    assert set(quartets) == {conv["a"], conv["b"], conv["e"]}
    expected = {"a": ("trk-b", "trk-a"), "b": ("trk-a", "trk-c"), "e": ("trk-c", "trk-b")}
    for name, (target, candidate) in expected.items():
        q = quartets[conv[name]]
        assert (q.target_track_id, q.candidate_track_id, q.user_text) == (target, candidate, words[name])
        np.testing.assert_allclose(q.video, video_features, atol=1e-3)
        np.testing.assert_allclose(q.target, tracks[target], atol=1e-3)
        np.testing.assert_allclose(q.candidate, tracks[candidate], atol=1e-3)
        [direct] = encoder.encode([words[name]])
        np.testing.assert_allclose(q.text_tokens, direct.tokens.to_array(), atol=1e-3)
    data = QuartetDataset(sealed[0])
    assert (data.dims.video, data.dims.music, data.dims.text) == (VIDEO_DIM, MUSIC_DIM, 384)
    assert data.info["feature_models"]["text"].startswith("sentence-transformers/all-MiniLM-L6-v2@")

    dead = [r for r in read_topic(kafka_bootstrap, dlq_topic(Topic.FEEDBACK, group)) if conv["c"].encode() == r.key]
    # Dead-lettered when its turn came first; counted as failed when the accept waited for its turn.
    assert len(dead) + (failed_count() - failed_before) == 1
    for record in dead:
        assert dict(record.headers)["dlq_reason"] == b"permanent" and b"trk-x" in dict(record.headers)[
            "dlq_error_message"]
