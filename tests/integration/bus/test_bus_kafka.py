"""The event bus against a real Kafka-protocol broker (Tansu), nothing mocked.

Each test uses fresh topic and group names on the session's broker; a consumer group join takes ~3 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient
from prometheus_client import REGISTRY
from pydantic import BaseModel

from musechat.bus import (
    BusSettings,
    EmbeddedBroker,
    EventConsumer,
    EventProducer,
    FileDedupeStore,
    PermanentError,
    RecordContext,
    ensure_topics,
    read_topic,
    topic_size,
)
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.topics import dlq_topic

pytestmark = pytest.mark.integration

REPO_SRC = Path(__file__).resolve().parents[3] / "src"
WORKER = Path(__file__).with_name("worker_process.py")
# Every run() also gets an idle timeout, so a broken consumer fails the test instead of hanging it.
IDLE_S = 15.0


class Step(BaseModel):
    seq: int


def make_event(subject: str, seq: int) -> EventEnvelope[Step]:
    return EventEnvelope[Step](
        type="musechat.test.step", source="musechat/tests", subject=subject, data=Step(seq=seq)
    )


def committed(bootstrap: str, group: str) -> dict[int, int]:
    """Committed offset per partition of `group` (any topic)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items()}


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


Collected = list[tuple[EventEnvelope[Any], RecordContext]]


def collector() -> tuple[Collected, Callable[[EventEnvelope[Any], RecordContext], None]]:
    seen: Collected = []

    def handler(event: EventEnvelope[Any], ctx: RecordContext) -> None:
        seen.append((event, ctx))

    return seen, handler


@pytest.fixture
def producer(bus_settings: BusSettings) -> Iterator[EventProducer]:
    with EventProducer(bus_settings) as p:
        yield p


def test_round_trip_carries_key_envelope_and_cloudevent_headers(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
) -> None:
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    events = [make_event("track-1", 0), make_event("track-2", 1), make_event("track-1", 2)]
    assert producer.publish_many(topic, events) == 3

    seen, handler = collector()
    stats = EventConsumer(bus_settings, [topic], group, handler).run(max_events=3, idle_timeout_s=IDLE_S)

    assert stats.processed == 3
    assert [e for e, _ in seen] == [EventEnvelope[Any].model_validate(e.model_dump()) for e in events]
    first, ctx = seen[0]
    assert (ctx.topic, ctx.partition, ctx.offset, ctx.attempt, ctx.group_id) == (topic, 0, 0, 1, group)
    assert ctx.key == b"track-1"
    assert ctx.headers["ce_id"] == first.id.encode()
    assert ctx.headers["ce_type"] == b"musechat.test.step"
    assert ctx.headers["ce_source"] == b"musechat/tests"
    assert ctx.headers["ce_specversion"] == b"1.0"
    assert ctx.headers["ce_time"] == first.time.isoformat().encode()
    assert ctx.headers["content-type"] == b"application/cloudevents+json"
    assert committed(kafka_bootstrap, group) == {0: 3}
    assert metric("musechat_bus_events_processed_total", topic=topic, group=group) == 3
    assert metric("musechat_bus_events_published_total", topic=topic) == 3


def test_awaited_publishes_from_one_event_loop_are_acked_and_keep_per_key_order(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
) -> None:
    """The gateway's path: many coroutines publish at once and each awaits its own ack on the loop."""
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=2)
    events = [make_event(f"conv-{i % 3}", i) for i in range(30)]

    async def publish_all() -> None:
        await asyncio.gather(*(producer.publish_async(topic, e) for e in events))

    asyncio.run(publish_all())
    seen, handler = collector()
    stats = EventConsumer(bus_settings, [topic], group, handler).run(max_events=30, idle_timeout_s=IDLE_S)
    assert stats.processed == 30
    assert {e.id for e, _ in seen} == {e.id for e in events}
    for key in ("conv-0", "conv-1", "conv-2"):  # one key, one partition: published order is kept
        assert [e.data["seq"] for e, _ in seen if e.subject == key] == [e.data.seq for e in events
                                                                         if e.subject == key]
    assert metric("musechat_bus_events_published_total", topic=topic) == 30


def test_failing_handler_is_retried_then_committed_once(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
) -> None:
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    producer.publish(topic, make_event("track-1", 0))
    attempts: list[int] = []

    def flaky(event: EventEnvelope[Any], ctx: RecordContext) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt <= 2:
            raise ConnectionError("encoder not ready")

    stats = EventConsumer(bus_settings, [topic], group, flaky).run(max_events=1, idle_timeout_s=IDLE_S)

    assert attempts == [1, 2, 3]
    assert (stats.processed, stats.retried, stats.dead_lettered) == (1, 2, 0)
    assert committed(kafka_bootstrap, group) == {0: 1}
    assert metric("musechat_bus_events_retried_total", topic=topic, group=group) == 2
    assert topic_size(kafka_bootstrap, dlq_topic(topic, group)) == 0


def test_exhausted_retries_dead_letter_and_commit(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
) -> None:
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    event = make_event("track-1", 0)
    producer.publish(topic, event)
    settings = bus_settings.model_copy(update={"max_attempts": 3})

    def always_down(event: EventEnvelope[Any], ctx: RecordContext) -> None:
        raise TimeoutError(f"qdrant timed out (attempt {ctx.attempt})")

    stats = EventConsumer(settings, [topic], group, always_down).run(max_events=1, idle_timeout_s=IDLE_S)

    assert (stats.processed, stats.retried, stats.dead_lettered) == (0, 2, 1)
    [dead] = read_topic(kafka_bootstrap, dlq_topic(topic, group))
    headers = dict(dead.headers)
    assert dead.value == event.to_bytes()
    assert headers["dlq_reason"] == b"exhausted"
    assert headers["dlq_attempts"] == b"3"
    assert headers["dlq_error_type"] == b"TimeoutError"
    assert headers["dlq_error_message"] == b"qdrant timed out (attempt 3)"
    assert committed(kafka_bootstrap, group) == {0: 1}


def test_poison_records_go_to_dlq_with_original_bytes_and_do_not_block(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
) -> None:
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    not_json = b"\x00\xffnot json {"
    not_envelope = b'{"hello": "world"}'
    producer.publish_raw(topic, not_json, key=b"k1", headers=[("trace", b"abc")])
    producer.publish_raw(topic, not_envelope, key=b"k2")
    good = make_event("track-9", 2)
    producer.publish(topic, good)

    seen, handler = collector()
    stats = EventConsumer(bus_settings, [topic], group, handler).run(max_events=3, idle_timeout_s=IDLE_S)

    assert [e.id for e, _ in seen] == [good.id]
    assert (stats.processed, stats.dead_lettered, stats.retried) == (1, 2, 0)
    assert stats.dead_lettered_by_reason == {"poison": 2}
    dead = read_topic(kafka_bootstrap, dlq_topic(topic, group))
    assert [(r.key, r.value) for r in dead] == [(b"k1", not_json), (b"k2", not_envelope)]
    headers = dict(dead[0].headers)
    assert headers["trace"] == b"abc"  # original headers travel with the record
    assert headers["dlq_reason"] == b"poison"
    assert headers["dlq_error_type"] == b"pydantic_core._pydantic_core.ValidationError"
    assert b"Invalid JSON" in headers["dlq_error_message"]
    assert headers["dlq_origin_topic"] == topic.encode()
    assert headers["dlq_origin_partition"] == b"0"
    assert [dict(r.headers)["dlq_origin_offset"] for r in dead] == [b"0", b"1"]
    assert headers["dlq_consumer_group"] == group.encode()
    assert headers["dlq_attempts"] == b"0"
    assert headers["dlq_failed_at"].startswith(b"20")
    assert committed(kafka_bootstrap, group) == {0: 3}
    assert metric("musechat_bus_events_dead_lettered_total", topic=topic, group=group, reason="poison") == 2


def test_permanent_error_goes_to_dlq_without_retries(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
) -> None:
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    event = make_event("track-1", 0)
    producer.publish(topic, event)
    calls: list[int] = []

    def corrupt(event: EventEnvelope[Any], ctx: RecordContext) -> None:
        calls.append(ctx.attempt)
        raise PermanentError("audio file is truncated")

    stats = EventConsumer(bus_settings, [topic], group, corrupt).run(max_events=1, idle_timeout_s=IDLE_S)

    assert calls == [1]
    assert (stats.processed, stats.retried, stats.dead_lettered) == (0, 0, 1)
    [dead] = read_topic(kafka_bootstrap, dlq_topic(topic, group))
    headers = dict(dead.headers)
    assert (dead.key, dead.value) == (b"track-1", event.to_bytes())
    assert headers["ce_id"] == event.id.encode()
    assert headers["dlq_reason"] == b"permanent"
    assert headers["dlq_error_type"] == b"musechat.bus.consumer.PermanentError"
    assert headers["dlq_error_message"] == b"audio file is truncated"
    assert headers["dlq_attempts"] == b"1"
    assert committed(kafka_bootstrap, group) == {0: 1}


def test_duplicate_event_ids_are_processed_once(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
) -> None:
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    twice = make_event("track-1", 0)
    other = make_event("track-1", 1)
    producer.publish_many(topic, [twice, twice, other, twice])

    seen, handler = collector()
    stats = EventConsumer(bus_settings, [topic], group, handler).run(max_events=4, idle_timeout_s=IDLE_S)

    assert [e.id for e, _ in seen] == [twice.id, other.id]
    assert (stats.processed, stats.duplicates_skipped) == (2, 2)
    assert committed(kafka_bootstrap, group) == {0: 4}


def test_file_dedupe_store_skips_events_a_previous_worker_handled(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """A replay (here: a new group reading from the start) after a restart re-handles nothing old."""
    topic = unique_name("topic")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    old = [make_event("track-1", i) for i in range(3)]
    producer.publish_many(topic, old)
    with FileDedupeStore(tmp_path / "ids") as store:
        first = EventConsumer(bus_settings, [topic], unique_name("group"), collector()[1], store).run(
            max_events=3, idle_timeout_s=IDLE_S
        )
    assert first.processed == 3

    new = make_event("track-1", 3)
    producer.publish(topic, new)
    seen, handler = collector()
    with FileDedupeStore(tmp_path / "ids") as restarted:
        # No max_events: run() ends on the idle timeout.
        replay = EventConsumer(bus_settings, [topic], unique_name("group"), handler, restarted).run(
            idle_timeout_s=1.0
        )

    assert [e.id for e, _ in seen] == [new.id]
    assert (replay.processed, replay.duplicates_skipped) == (1, 3)


def test_ordering_is_kept_per_key(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
) -> None:
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=4)
    keys = [f"video-{k}" for k in range(6)]
    producer.publish_many(topic, [make_event(key, seq) for seq in range(15) for key in keys])

    order: dict[str, list[int]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)

    def handler(event: EventEnvelope[Any], ctx: RecordContext) -> None:
        order[event.subject].append(event.data["seq"])
        partitions[event.subject].add(ctx.partition)

    stats = EventConsumer(bus_settings, [topic], group, handler).run(max_events=90, idle_timeout_s=IDLE_S)

    assert stats.processed == 90
    assert all(order[key] == list(range(15)) for key in keys), dict(order)
    assert all(len(partitions[key]) == 1 for key in keys)
    assert len(set().union(*partitions.values())) > 1  # the keys really were spread over partitions
    assert sum(committed(kafka_bootstrap, group).values()) == 90


def _spawn_worker(bootstrap: str, topic: str, group: str, out: Path, mode: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(WORKER), bootstrap, topic, group, str(out), mode], env=env)


def _wait_for_lines(path: Path, n: int, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = path.read_text().split() if path.exists() else []
        if len(lines) >= n:
            return lines
        assert proc.poll() is None, f"worker exited early with code {proc.returncode}"
        time.sleep(0.05)
    raise AssertionError(f"worker handled fewer than {n} events in {timeout_s}s")


def test_killed_consumer_loses_nothing_uncommitted(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """SIGKILL a worker while it handles the 3rd event: a new member of the group gets events 3..6."""
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    producer.publish_many(topic, [make_event(f"e{i}", i) for i in range(6)])
    out = tmp_path / "handled.txt"
    worker = _spawn_worker(kafka_bootstrap, topic, group, out, "hang-after-3")
    try:
        assert _wait_for_lines(out, 3, worker) == ["e0", "e1", "e2"]
    finally:
        worker.kill()
        worker.wait()

    assert committed(kafka_bootstrap, group) == {0: 2}  # e2 was in flight, never committed
    seen, handler = collector()
    stats = EventConsumer(bus_settings, [topic], group, handler).run(max_events=4, idle_timeout_s=IDLE_S)
    assert [e.subject for e, _ in seen] == ["e2", "e3", "e4", "e5"]
    assert stats.processed == 4
    assert committed(kafka_bootstrap, group) == {0: 6}


def test_sigterm_finishes_the_current_event_and_commits_it(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    producer.publish_many(topic, [make_event(f"e{i}", i) for i in range(8)])
    out = tmp_path / "handled.txt"
    worker = _spawn_worker(kafka_bootstrap, topic, group, out, "slow")
    try:
        _wait_for_lines(out, 2, worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    handled = out.read_text().split()
    assert committed(kafka_bootstrap, group) == {0: len(handled)}  # the in-flight event was finished
    seen, handler = collector()
    EventConsumer(bus_settings, [topic], group, handler).run(
        max_events=8 - len(handled), idle_timeout_s=IDLE_S
    )
    assert handled + [e.subject for e, _ in seen] == [f"e{i}" for i in range(8)]


def test_topic_size_counts_records_of_multi_record_batches(
    kafka_bootstrap: str, producer: EventProducer, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("topic")
    ensure_topics(kafka_bootstrap, [topic], partitions=2)
    producer.publish_many(topic, [make_event(f"k{i % 3}", i) for i in range(7)])
    assert topic_size(kafka_bootstrap, topic) == 7
    assert topic_size(kafka_bootstrap, unique_name("missing")) == 0


def test_ensure_topics_is_idempotent_and_rejects_too_few_partitions(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("topic")
    ensure_topics(kafka_bootstrap, [topic], partitions=2)
    ensure_topics(kafka_bootstrap, [topic], partitions=2)
    with pytest.raises(ValueError, match="fewer than 4 partitions"):
        ensure_topics(kafka_bootstrap, [topic], partitions=4)


def test_embedded_broker_leaves_no_process_behind_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError, match="test failure"), EmbeddedBroker() as broker:
        pid = broker.pid
        assert topic_size(broker.bootstrap_servers, "nothing-here") == 0
        raise RuntimeError("test failure")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_handler_slower_than_max_poll_interval_loses_nothing(
    kafka_bootstrap: str,
    bus_settings: BusSettings,
    producer: EventProducer,
    unique_name: Callable[[str], str],
) -> None:
    """The member is evicted while handling e0, so its commit fails: it rewinds, rejoins, gets e0 again
    (skipped by the dedupe store, since its handler had succeeded) and goes on with e1, e2."""
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    producer.publish_many(topic, [make_event(f"e{i}", i) for i in range(3)])
    settings = bus_settings.model_copy(
        update={"max_poll_interval_ms": 2000, "session_timeout_ms": 2000, "heartbeat_interval_ms": 500}
    )
    calls: list[str] = []

    def slow_first(event: EventEnvelope[Any], ctx: RecordContext) -> None:
        calls.append(event.subject)
        if len(calls) == 1:
            time.sleep(3.5)

    stats = EventConsumer(settings, [topic], group, slow_first).run(max_events=4, idle_timeout_s=IDLE_S)

    assert calls == ["e0", "e1", "e2"]
    assert (stats.processed, stats.duplicates_skipped) == (3, 1)
    assert committed(kafka_bootstrap, group) == {0: 3}
