"""`catalog ingest` survives a broker SIGKILL mid-run: the bundled broker (Tansu) comes back empty on the
same address, the ingest re-drives what it lost, and every track ends up indexed exactly once. Real
broker, real music encoder, real qdrant-edge."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from musechat.bus import read_topic
from musechat.bus.broker import EmbeddedBroker, ensure_topics
from musechat.catalog.demo_catalog import generate_catalog
from musechat.catalog.embedded import embedded_catalog_stack
from musechat.catalog.encoder_client import InProcessMusicEncoder
from musechat.catalog.runtime import PIPELINE_OUTCOME_TOPICS, IngestSummary, await_outcomes, publish_ingest
from musechat.contracts.catalog import TRACKS_COLLECTION
from musechat.contracts.topics import Topic

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # ~70 s: a real ingest, a kill, a re-drive
TRACKS = 40


def test_a_broker_killed_mid_ingest_ends_with_every_track_indexed_exactly_once(
    music_encoder: InProcessMusicEncoder, tmp_path: Path
) -> None:
    catalog = generate_catalog(tmp_path / "catalog", TRACKS, seed=3, min_seconds=3.0, max_seconds=5.0,
                               progress=False).parent
    ids = [json.loads(line)["id"] for line in (catalog / "manifest.jsonl").read_text().splitlines()]
    broker = EmbeddedBroker().start()
    port = broker.port
    restarted: EmbeddedBroker | None = None
    try:
        with embedded_catalog_stack(tmp_path / "state", encoder=music_encoder,
                                    bootstrap=broker.bootstrap_servers) as stack:
            receipt = publish_ingest(catalog, stack.producer)
            outcome: dict[str, IngestSummary] = {}
            waiter = threading.Thread(target=lambda: outcome.setdefault("summary", await_outcomes(
                stack.bus, receipt, timeout_s=300, progress=False, producer=stack.producer, redrive_after_s=10)))
            waiter.start()
            deadline = time.monotonic() + 120
            while stack.store.count(TRACKS_COLLECTION) < 5:
                assert time.monotonic() < deadline, "no track indexed before the kill"
                time.sleep(0.05)
            broker._proc.kill()  # type: ignore[union-attr]  # SIGKILL: Tansu keeps everything in memory
            broker._proc.wait()  # type: ignore[union-attr]
            at_kill = stack.store.count(TRACKS_COLLECTION)
            assert at_kill < TRACKS, "the ingest finished before the kill: the test proved nothing"
            time.sleep(2)
            restarted = EmbeddedBroker(port=port).start()  # what a supervisor does: same address, empty
            ensure_topics(restarted.bootstrap_servers,
                          [Topic.TRACK_SUBMITTED, Topic.TRACK_ENCODED, *PIPELINE_OUTCOME_TOPICS])
            waiter.join(timeout=320)
            summary = outcome["summary"]
            assert summary.missing == set() and summary.failed == {}
            assert summary.redrives >= 1
            assert sorted(summary.indexed) == sorted(ids)
            points = stack.store.retrieve(TRACKS_COLLECTION, ids)
            assert sorted(str(point.id) for point in points) == sorted(ids)  # every track, once
            assert stack.store.count(TRACKS_COLLECTION) == TRACKS  # and nothing else
            assert read_topic(restarted.bootstrap_servers, Topic.TRACK_INDEXED, settle_s=0.3)
    finally:
        for running in (broker, restarted):
            if running is not None:
                running.stop()
