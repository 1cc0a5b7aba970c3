"""A failed DLQ publish must not lose the event: the offset stays uncommitted and the worker exits
non-zero (Kubernetes restarts it, CrashLoopBackOff shows it). Real Tansu brokers, nothing mocked."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from musechat.bus import BusSettings, EventConsumer, EventProducer, RecordContext, ensure_topics
from musechat.contracts.envelope import EventEnvelope

from .test_bus_kafka import IDLE_S, REPO_SRC, committed, make_event

pytestmark = pytest.mark.integration

PROCESS = Path(__file__).with_name("dlq_down_process.py")


def test_failed_dlq_publish_exits_non_zero_and_leaves_the_event_for_the_next_pod(
    kafka_bootstrap: str, bus_settings: BusSettings, unique_name: Callable[[str], str]
) -> None:
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    event = make_event("track-dlq", 0)
    with EventProducer(bus_settings) as producer:
        producer.publish(topic, event)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_SRC), os.environ.get("PYTHONPATH", "")])}
    crashed = subprocess.run([sys.executable, str(PROCESS), kafka_bootstrap, topic, group],
                             env=env, capture_output=True, text=True, timeout=60)

    assert crashed.returncode != 0, crashed.stderr[-2000:]
    assert "PublishError" in crashed.stderr
    assert committed(kafka_bootstrap, group) in ({}, {0: -1})  # nothing committed for the lost DLQ write
    # The restarted pod (same group) gets the very same event again.
    seen: list[str] = []

    def record(received: EventEnvelope[Any], ctx: RecordContext) -> None:
        seen.append(received.id)

    EventConsumer(bus_settings, [topic], group, record).run(max_events=1, idle_timeout_s=IDLE_S)
    assert seen == [event.id]
    assert committed(kafka_bootstrap, group) == {0: 1}
