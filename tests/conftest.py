"""Shared fixtures. Kafka: one embedded Tansu broker per test session (started on first use).

    def test_x(kafka_bootstrap, bus_settings, unique_name):
        topic = unique_name("topic")          # fresh names: the broker is shared by the whole session
        ensure_topics(kafka_bootstrap, [topic], partitions=1)
        EventConsumer(bus_settings, [topic], unique_name("group"), handler).run(idle_timeout_s=1.0)

`bus_settings` points at the session broker with millisecond backoff, so retry tests stay fast.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from musechat.bus import BusSettings, EmbeddedBroker

_name_counter = itertools.count()


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[EmbeddedBroker]:
    from musechat.bus import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: EmbeddedBroker) -> str:
    """`host:port` of the session's embedded Kafka-protocol broker."""
    return kafka_broker.bootstrap_servers


@pytest.fixture
def bus_settings(kafka_bootstrap: str) -> BusSettings:
    from musechat.bus import BusSettings

    return BusSettings(
        bootstrap_servers=kafka_bootstrap,
        client_id="musechat-tests",
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
        poll_timeout_ms=200,
        publish_timeout_s=10.0,
    )


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """`unique_name("topic")` -> e.g. `test-retry-topic-3-1a2b3c`: legal as a Kafka topic and group name,
    readable in broker logs, never reused within the session."""
    test = re.sub(r"[^a-zA-Z0-9-]+", "-", request.node.name)[:60].strip("-")

    def make(kind: str) -> str:
        return f"{test}-{kind}-{next(_name_counter)}-{uuid.uuid4().hex[:6]}"

    return make
