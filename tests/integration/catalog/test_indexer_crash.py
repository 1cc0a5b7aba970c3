"""Crash test: the indexer process is SIGKILLed mid-stream and restarted; the collection ends with
exactly the catalog (nothing lost, nothing doubled). Real broker, real qdrant-edge, real subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from musechat.bus import BusSettings, EventProducer, ensure_topics, read_topic
from musechat.contracts.catalog import TRACK_FEATURES_COLLECTION, TRACKS_COLLECTION, TrackEncoded, TrackMetadata
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.music import MusicEncoding, TagScore
from musechat.contracts.topics import Topic
from musechat.store.settings import StoreSettings, open_store

pytestmark = pytest.mark.integration
TRACKS = 600


def _encoded(index: int, rng: np.random.Generator) -> TrackEncoded:
    features = rng.standard_normal((4, 96)).astype(np.float32)
    return TrackEncoded(
        track=TrackMetadata(track_id=f"crash-{index:04d}", title=f"Track {index}", artist="Crash Test"),
        encoding=MusicEncoding(features=FeatureMatrix.from_array(features), num_segments=4, duration_s=40.0,
                               tags=[TagScore(name="guitar", score=0.9, vocabulary="MTT")],
                               feature_model="test-features", feature_dim=96),
        batch_id="crash-batch",
    )


def _start_indexer(bootstrap: str, store_path: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MUSECHAT_BUS_BOOTSTRAP_SERVERS": bootstrap, "MUSECHAT_STORE_PATH": str(store_path),
           "MUSECHAT_BUS_MAX_POLL_RECORDS": "5"}
    return subprocess.Popen([sys.executable, "-m", "musechat.cli", "--verbose", "worker", "indexer"], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _indexed_ids(bootstrap: str) -> list[str]:
    return [record.key.decode() for record in read_topic(bootstrap, Topic.TRACK_INDEXED, settle_s=0.3)]


def test_indexer_killed_mid_stream_then_restarted_ends_with_exactly_the_catalog(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, [Topic.TRACK_ENCODED, Topic.TRACK_INDEXED])
    rng = np.random.default_rng(5)
    with EventProducer(BusSettings(bootstrap_servers=kafka_bootstrap)) as producer:
        for index in range(TRACKS):
            data = _encoded(index, rng)
            producer.publish(Topic.TRACK_ENCODED, EventEnvelope[TrackEncoded](
                id=f"enc-{index}", type=Topic.TRACK_ENCODED.event_type, source="test",
                subject=data.track.track_id, data=data))
    store_path, log = tmp_path / "edge", tmp_path / "indexer.log"

    first = _start_indexer(kafka_bootstrap, store_path, log)
    deadline = time.monotonic() + 120
    while log.read_text().count("indexed crash-") < 20:  # the log is the fastest progress signal
        assert first.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "indexer made no progress:\n" + log.read_text()
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    at_kill = len(set(_indexed_ids(kafka_bootstrap)))
    assert at_kill < TRACKS, "the indexer finished before it could be killed: the test proved nothing"

    second = _start_indexer(kafka_bootstrap, store_path, log)
    try:
        deadline = time.monotonic() + 300
        while len(set(_indexed_ids(kafka_bootstrap))) < TRACKS:
            assert second.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "restarted indexer did not finish:\n" + log.read_text()
            time.sleep(0.5)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    store = open_store(StoreSettings(backend="edge", path=store_path))
    try:
        assert store.count(TRACKS_COLLECTION) == TRACKS
        ids = [f"crash-{index:04d}" for index in range(TRACKS)]
        assert sorted(point.id for point in store.retrieve(TRACKS_COLLECTION, ids)) == ids
        assert store.count(TRACK_FEATURES_COLLECTION) == TRACKS  # every track's features, once
    finally:
        store.close()
