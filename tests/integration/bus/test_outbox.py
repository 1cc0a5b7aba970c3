"""The durable outbox against a real Kafka-protocol broker (Tansu) that is killed with SIGKILL and
restarted: writes stay fast throughout, nothing written is lost, and the relay recovers by itself (a
fresh producer, the topic re-created on the new, empty broker). Nothing mocked."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from musechat.bus import BusSettings, EmbeddedBroker, EventProducer, PublishError, ensure_topics, read_topic
from musechat.bus.outbox import Outbox
from musechat.contracts.envelope import EventEnvelope

pytestmark = pytest.mark.integration


class Ping(BaseModel):
    n: int


def _event(n: int) -> EventEnvelope[Any]:
    return EventEnvelope[Any](id=f"ping-{n}", type="musechat.test.ping", source="test", subject=f"k{n % 3}",
                              data=Ping(n=n))


def _ids(bootstrap: str, topic: str) -> Counter[str]:
    return Counter(json.loads(record.value)["id"] for record in read_topic(bootstrap, topic, settle_s=0.5,
                                                                          timeout_s=20))


def test_a_broker_killed_and_restarted_loses_none_of_the_outbox_events(tmp_path: Path) -> None:
    topic = "outbox-test.v1"
    broker = EmbeddedBroker().start()
    port = broker.port
    assert port is not None
    bootstrap = broker.bootstrap_servers
    ensure_topics(bootstrap, [topic], partitions=2)
    settings = BusSettings(bootstrap_servers=bootstrap, client_id="outbox-test", publish_timeout_s=3.0,
                           request_timeout_ms=3000, max_block_ms=3000)
    outbox = Outbox(tmp_path / "outbox.db", lambda: EventProducer(settings), backoff_initial_s=0.1,
                    backoff_max_s=1.0, reset_after_failures=2,
                    recover=lambda topics: ensure_topics(bootstrap, topics, partitions=2, timeout_s=3))
    restarted: EmbeddedBroker | None = None
    try:
        outbox.start()
        for n in range(10):
            outbox.publish(topic, _event(n))
        assert outbox.wait_until_empty(30)
        assert set(_ids(bootstrap, topic)) == {f"ping-{n}" for n in range(10)}

        broker._proc.kill()  # type: ignore[union-attr]  # SIGKILL: Tansu keeps topics in memory only
        broker._proc.wait()  # type: ignore[union-attr]
        slowest = 0.0
        for n in range(10, 40):  # the turn path keeps writing while the broker is gone
            started = time.perf_counter()
            outbox.publish(topic, _event(n))
            slowest = max(slowest, time.perf_counter() - started)
        assert slowest < 0.05, f"a write waited {slowest:.3f} s on the missing broker"
        deadline = time.monotonic() + 15
        while outbox.status().last_error is None and time.monotonic() < deadline:
            time.sleep(0.2)  # the relay fails (a 3 s publish timeout) and backs off meanwhile
        assert outbox.pending() == 30 and outbox.status().last_error is not None

        restarted = EmbeddedBroker(port=port).start()  # same address, empty broker: the topic is gone
        assert outbox.wait_until_empty(60), outbox.status()
        seen = _ids(bootstrap, topic)
        assert set(seen) == {f"ping-{n}" for n in range(10, 40)}  # every event written during the outage
        assert max(seen.values()) == 1  # and each once
    finally:
        outbox.close()
        for running in (broker, restarted):
            if running is not None:
                running.stop()


def test_events_written_survive_a_crash_of_the_writer_and_go_out_after_restart(tmp_path: Path,
                                                                                kafka_bootstrap: str) -> None:
    topic = "outbox-restart-test.v1"
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    settings = BusSettings(bootstrap_servers=kafka_bootstrap, client_id="outbox-test")
    first = Outbox(tmp_path / "outbox.db", lambda: EventProducer(settings))  # relay never started: a crash
    first.publish_many(topic, [_event(n) for n in range(5)])
    first.publish(topic, _event(0))  # the same event again (a retried request): kept once
    assert first.pending() == 5
    first.close()
    with Outbox(tmp_path / "outbox.db", lambda: EventProducer(settings)) as second:
        assert second.wait_until_empty(30)
    assert sorted(_ids(kafka_bootstrap, topic).elements()) == [f"ping-{n}" for n in range(5)]


def test_a_producer_publishes_again_after_its_broker_restarted_without_being_recreated(tmp_path: Path) -> None:
    """Before: UnknownProducerId, then InitProducerId errors on every publish until the process restarted."""
    topic = "producer-recovery-test.v1"
    broker = EmbeddedBroker().start()
    port = broker.port
    assert port is not None
    restarted: EmbeddedBroker | None = None
    producer = EventProducer(BusSettings(bootstrap_servers=broker.bootstrap_servers, publish_timeout_s=3.0,
                                         max_block_ms=3000))
    try:
        ensure_topics(broker.bootstrap_servers, [topic], partitions=1)
        producer.publish(topic, _event(1))
        broker._proc.kill()  # type: ignore[union-attr]
        broker._proc.wait()  # type: ignore[union-attr]
        with pytest.raises(PublishError):
            producer.publish(topic, _event(2))
        restarted = EmbeddedBroker(port=port).start()
        ensure_topics(restarted.bootstrap_servers, [topic], partitions=1)
        outcomes = []
        for n in range(3, 6):  # the first publish after the restart may still meet the old session
            try:
                producer.publish(topic, _event(n))
                outcomes.append("ok")
            except PublishError:
                outcomes.append("failed")
        assert outcomes[-2:] == ["ok", "ok"], outcomes
        assert {"ping-4", "ping-5"} <= set(_ids(restarted.bootstrap_servers, topic))
    finally:
        producer.close(timeout_s=1)
        for running in (broker, restarted):
            if running is not None:
                running.stop()
