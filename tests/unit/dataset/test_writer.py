"""Dataset writer core on a real store (qdrant-client local mode): which feedback makes a quartet, what the
quartet holds, when datasets are sealed. The text encoder is a deterministic stand-in here; the real
MiniLM runs in tests/integration/dataset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest

from musechat.bus import PermanentError
from musechat.contracts.api import TrackFilters
from musechat.contracts.conversation import ConversationTurn, FeedbackGiven
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.text import TextEncoding
from musechat.contracts.topics import Topic
from musechat.dataset.writer import DatasetSink, DatasetWriter, StoreFeatures
from musechat.fusion.data import FeatureDims, QuartetDataset
from musechat.store import VectorStore
from musechat.store.settings import IN_MEMORY, StoreSettings, open_store
from tests.unit.dataset.seeding import MUSIC_DIM, VIDEO_DIM, seed_tracks, seed_video

pytestmark = pytest.mark.unit
TEXT_DIM = 8


class StandInTextEncoder:
    """One token row per word plus [CLS]/[SEP], values derived from the word: deterministic and cheap."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        self.calls.append(texts)
        out = []
        for text in texts:
            rows = np.array([[float(len(w) + i) for i in range(TEXT_DIM)] for w in ["[CLS]", *text.split(), "[SEP]"]])
            out.append(TextEncoding(tokens=FeatureMatrix.from_array(rows), length=len(rows), truncated=False,
                                    pooled=rows.mean(axis=0).tolist(), feature_model="stand-in@0"))
        return out


@pytest.fixture
def store() -> Iterator[VectorStore]:
    store = open_store(StoreSettings(backend="qdrant", path=IN_MEMORY))
    yield store
    store.close()


@pytest.fixture
def seeded(store: VectorStore) -> dict[str, Any]:
    video = seed_video(store, "vid-1")
    tracks = seed_tracks(store, {"trk-a": "Alpha", "trk-b": "Bravo", "trk-c": "Charlie"})
    return {"video": video, "tracks": tracks}


def make_writer(store: VectorStore, out: Path, shard_size: int = 10, max_pending: int = 100,
                clock: list[float] | None = None) -> tuple[DatasetWriter, StandInTextEncoder]:
    now = clock if clock is not None else [0.0]
    sink = DatasetSink(out, shard_size=shard_size, flush_every_s=60.0, info={"source": "unit"},
                       clock=lambda: now[0])
    text = StandInTextEncoder()
    writer = DatasetWriter(StoreFeatures(store), text, sink, max_turns=100, max_pending_feedback=max_pending,
                           max_text_tokens=16)
    return writer, text


def turn(number: int, text: str | None = "more guitar please", candidate: str | None = "trk-a",
         conversation: str = "conv-1") -> ConversationTurn:
    return ConversationTurn(conversation_id=conversation, turn=number, video_id="vid-1", text=text,
                            candidate_track_id=candidate, filters=TrackFilters(),
                            recommended_track_ids=["trk-b", "trk-c"], scores=[0.9, 0.8], model_version="fusion@1")


def accept(number: int, track: str = "trk-b", verdict: Literal["accept", "reject"] = "accept",
           conversation: str = "conv-1") -> FeedbackGiven:
    return FeedbackGiven(conversation_id=conversation, turn=number, video_id="vid-1", track_id=track,
                         verdict=verdict)


def test_accept_on_turn_2_writes_the_quartet_of_video_target_candidate_and_words(
        store: VectorStore, seeded: dict[str, Any], tmp_path: Path) -> None:
    writer, text = make_writer(store, tmp_path)
    writer.on_turn(turn(1, text=None, candidate=None))
    writer.on_turn(turn(2))
    writer.on_feedback(accept(2))
    [path] = [writer.sink.seal()]
    assert path is not None
    data = QuartetDataset(path)
    assert len(data) == 1 and data.dims == FeatureDims(video=VIDEO_DIM, music=MUSIC_DIM, text=TEXT_DIM,
                                                       max_text_tokens=16)
    q = data[0]
    assert (q.video_id, q.target_track_id, q.candidate_track_id) == ("vid-1", "trk-b", "trk-a")
    np.testing.assert_allclose(q.video, seeded["video"], atol=1e-3)
    np.testing.assert_allclose(q.target, seeded["tracks"]["trk-b"], atol=1e-3)
    np.testing.assert_allclose(q.candidate, seeded["tracks"]["trk-a"], atol=1e-3)
    assert q.user_text == "more guitar please" and text.calls == [["more guitar please"]]
    assert q.text_tokens.shape == (5, TEXT_DIM)  # [CLS] more guitar please [SEP]
    assert (q.target_meta.title, q.candidate_meta.title) == ("Bravo", "Alpha")
    assert q.conversation[-1] == {"role": "user", "text": "more guitar please"}
    assert q.extra["ranker_model"] == "fusion@1"
    assert data.info["feature_models"] == {"video": "clip-test@0", "music": "ast-test@0", "text": "stand-in@0"}


def test_an_accept_that_arrives_before_its_turn_waits_for_it(
        store: VectorStore, seeded: dict[str, Any], tmp_path: Path) -> None:
    writer, _ = make_writer(store, tmp_path)
    writer.on_feedback(accept(2))
    assert writer.waiting == 1 and writer.sink.pending == 0
    writer.on_turn(turn(2))
    assert writer.waiting == 0 and writer.sink.pending == 1


def test_turn_1_accepts_rejects_and_redeliveries_make_no_extra_quartet(
        store: VectorStore, seeded: dict[str, Any], tmp_path: Path) -> None:
    writer, text = make_writer(store, tmp_path)
    writer.on_turn(turn(1, text=None, candidate=None))
    writer.on_feedback(accept(1))
    writer.on_turn(turn(2))
    writer.on_feedback(accept(2, verdict="reject"))
    assert writer.sink.pending == 0 and text.calls == []
    writer.on_feedback(accept(2))
    writer.on_feedback(accept(2))  # the same feedback event again (at-least-once delivery)
    assert writer.sink.pending == 1


def test_unknown_tracks_are_permanent_errors(store: VectorStore, seeded: dict[str, Any], tmp_path: Path) -> None:
    writer, _ = make_writer(store, tmp_path)
    writer.on_turn(turn(2, candidate="trk-gone"))
    with pytest.raises(PermanentError, match=r"\['trk-unknown', 'trk-gone'\]"):
        writer.on_feedback(accept(2, track="trk-unknown"))


def test_unknown_video_is_a_permanent_error(store: VectorStore, seeded: dict[str, Any], tmp_path: Path) -> None:
    writer, _ = make_writer(store, tmp_path)
    writer.on_turn(turn(2).model_copy(update={"video_id": "vid-nope"}))
    feedback = accept(2).model_copy(update={"video_id": "vid-nope"})
    with pytest.raises(PermanentError, match="vid-nope"):
        writer.on_feedback(feedback)
    assert writer.sink.seal() is None  # nothing half-written


def test_a_store_without_the_collections_is_a_permanent_error(store: VectorStore, tmp_path: Path) -> None:
    writer, _ = make_writer(store, tmp_path)
    writer.on_turn(turn(2))
    with pytest.raises(PermanentError, match="does not exist"):
        writer.on_feedback(accept(2))


def test_datasets_are_sealed_by_size_and_by_age(store: VectorStore, seeded: dict[str, Any], tmp_path: Path) -> None:
    clock = [0.0]
    writer, _ = make_writer(store, tmp_path, shard_size=2, clock=clock)
    for n in range(2, 5):
        writer.on_turn(turn(n))
        writer.on_feedback(accept(n))
    assert len(writer.sink.sealed) == 1 and writer.sink.pending == 1  # 2 sealed by size, 1 open
    assert writer.sink.seal_if_due() is None
    clock[0] = 61.0
    assert writer.sink.seal_if_due() is not None
    assert [len(QuartetDataset(p)) for p in writer.sink.sealed] == [2, 1]
    assert writer.sink.seal() is None


def test_other_feature_widths_start_a_new_dataset(store: VectorStore, seeded: dict[str, Any], tmp_path: Path) -> None:
    writer, text = make_writer(store, tmp_path)
    writer.on_turn(turn(2))
    writer.on_feedback(accept(2))
    # The same sink fed by a writer configured with wider text rows (e.g. after a restart with new settings).
    wider = DatasetWriter(StoreFeatures(store), text, writer.sink, max_turns=10, max_pending_feedback=10,
                          max_text_tokens=20)
    wider.on_turn(turn(3))
    wider.on_feedback(accept(3))
    writer.sink.seal()
    assert [QuartetDataset(p).dims.max_text_tokens for p in writer.sink.sealed] == [16, 20]


def test_waiting_accepts_are_bounded(store: VectorStore, seeded: dict[str, Any], tmp_path: Path) -> None:
    writer, _ = make_writer(store, tmp_path, max_pending=2)
    for n in range(2, 6):
        writer.on_feedback(accept(n))
    assert writer.waiting == 2
    writer.on_turn(turn(2))  # its accept was evicted
    writer.on_turn(turn(5))
    assert writer.sink.pending == 1


def test_events_of_other_types_are_permanent_errors(store: VectorStore, tmp_path: Path) -> None:
    writer, _ = make_writer(store, tmp_path)
    event = EventEnvelope[Any](id="e1", type=Topic.VIDEO_SUBMITTED.event_type, source="test", subject="x",
                               data={"video_id": "v", "path": "/x"})
    with pytest.raises(PermanentError, match=r"not 'musechat\.video\.submitted'"):
        writer.handle(event)
    bad_turn = EventEnvelope[Any](id="e2", type=Topic.CONVERSATION_TURN.event_type, source="test", subject="x",
                                  data={"turn": 0})
    with pytest.raises(PermanentError, match="ConversationTurn"):
        writer.handle(bad_turn)


def test_waiting_accepts_survive_a_restart(store: VectorStore, seeded: dict[str, Any], tmp_path: Path) -> None:
    pending = tmp_path / "state" / ".pending-feedback.json"

    def writer() -> DatasetWriter:
        sink = DatasetSink(tmp_path / "out", shard_size=10, flush_every_s=60.0)
        return DatasetWriter(StoreFeatures(store), StandInTextEncoder(), sink, max_turns=100,
                             max_pending_feedback=100, max_text_tokens=16, pending_path=pending)

    first = writer()
    first.on_feedback(accept(2))
    first.on_feedback(accept(3, conversation="conv-2"))
    assert first.waiting == 2 and pending.is_file()
    del first  # the process stops (SIGTERM or a crash): nothing but the file remains
    restarted = writer()
    assert restarted.waiting == 2
    restarted.on_turn(turn(2))  # the turn event arrives after the restart: the accept becomes a quartet
    assert restarted.waiting == 1 and restarted.sink.pending == 1
    assert writer().waiting == 1  # what was written is no longer waiting on disk either
    pending.write_text("{not json")
    assert writer().waiting == 0  # an unreadable file is reported and skipped, never fatal
