"""The dataset writer as an embedded worker: it reads features through the engine process that owns the
qdrant-edge store (`HostedStore`, as in the single-machine gateway), so no second process opens the engine;
an accept that waits for its turn survives a stop and becomes a quartet when the turn arrives after the
restart. Real broker, real engine, the real text model (loaded lazily, on the first quartet)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from musechat.bus import BusSettings, EventProducer, ensure_topics
from musechat.contracts.topics import Topic
from musechat.dataset.runtime import start_embedded_dataset_writer
from musechat.dataset.settings import DatasetWriterSettings
from musechat.fusion.data import QuartetDataset
from musechat.registry.training import sealed_datasets
from musechat.store.hosted import HostedStore
from musechat.store.settings import StoreSettings
from tests.integration.dataset.test_dataset_writer import feedback_event, turn_event
from tests.unit.dataset.seeding import seed_tracks, seed_video

pytestmark = pytest.mark.integration


@pytest.fixture
def hosted(tmp_path: Path) -> Iterator[HostedStore]:
    store = HostedStore.open(StoreSettings(backend="edge", path=tmp_path / "qdrant-edge"))
    yield store
    store.close()


def test_the_embedded_writer_goes_through_the_engine_process_and_keeps_waiting_accepts(
        hosted: HostedStore, bus_settings: BusSettings, kafka_bootstrap: str, tmp_path: Path,
        unique_name: Callable[[str], str]) -> None:
    video = unique_name("vid")
    seed_video(hosted, video, segments=4)
    seed_tracks(hosted, {"trk-a": "Deliverer", "trk-b": "Slow River"})
    settings = DatasetWriterSettings(group_id=unique_name("group"), output_dir=tmp_path / "quartets",
                                     flush_every_s=1.0, embedded=True, bus=bus_settings)
    conversation = unique_name("conv")
    ensure_topics(kafka_bootstrap, [Topic.CONVERSATION_TURN, Topic.FEEDBACK])
    with EventProducer(bus_settings) as producer:
        # The accept arrives; its turn event does not (yet). The writer stops: the accept must not be lost.
        producer.publish(Topic.FEEDBACK, feedback_event(conversation, 2, video, "trk-b", "accept"))
        stop = threading.Event()
        thread = start_embedded_dataset_writer(settings, hosted, producer, stop)
        _until(lambda: settings.pending_path.is_file() and conversation in settings.pending_path.read_text())
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive()
        # The turn event arrives while the writer is down; after the restart the waiting accept meets it.
        producer.publish(Topic.CONVERSATION_TURN, turn_event(conversation, 2, video, "slower, no vocals",
                                                             "trk-a", ["trk-b"]))
        stop = threading.Event()
        thread = start_embedded_dataset_writer(settings, hosted, producer, stop)
        try:
            _until(lambda: sum(d.count for d in sealed_datasets(settings.output_dir)) == 1, timeout_s=120)
        finally:
            stop.set()
            thread.join(timeout=60)
    [dataset] = sealed_datasets(settings.output_dir)
    [quartet] = [QuartetDataset(dataset.path)[0]]
    assert (quartet.target_track_id, quartet.candidate_track_id) == ("trk-b", "trk-a")
    assert quartet.extra["conversation_id"] == conversation
    assert conversation not in settings.pending_path.read_text()


def _until(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")
