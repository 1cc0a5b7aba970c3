"""`musechat_consumer_lag` on the real broker (Tansu): records a consumer group has not handled yet,
right even for multi-record batches (where Tansu's `end_offsets()` is wrong), cleared on stop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from musechat.bus import BusSettings, EventConsumer, EventProducer, RecordContext, ensure_topics
from musechat.contracts.envelope import EventEnvelope

pytestmark = pytest.mark.integration
RECORDS, PER_POLL = 30, 5


def test_lag_counts_what_the_group_has_not_handled_and_is_cleared_on_stop(
        bus_settings: BusSettings, kafka_bootstrap: str, unique_name: Callable[[str], str]) -> None:
    topic, group = unique_name("topic"), unique_name("group")
    ensure_topics(kafka_bootstrap, [topic], partitions=1)
    with EventProducer(bus_settings) as producer:
        # One publish_many call: the records share batches on the wire.
        producer.publish_many(topic, [EventEnvelope[Any](
            type="musechat.test.step", source="tests", subject="s", data={"seq": i}) for i in range(RECORDS)])
    labels = {"topic": topic, "partition": "0", "group": group}
    seen: list[tuple[int, float | None]] = []

    def handler(_event: EventEnvelope[Any], context: RecordContext) -> None:
        seen.append((context.offset, REGISTRY.get_sample_value("musechat_consumer_lag", labels)))

    settings = bus_settings.model_copy(update={"max_poll_records": PER_POLL})
    stats = EventConsumer(settings, [topic], group, handler).run(idle_timeout_s=10.0, max_events=RECORDS)

    assert stats.processed == RECORDS
    reported = [(offset, lag) for offset, lag in seen if lag is not None]
    # Reported after each handled poll: while a later poll's records are handled, the lag is what was left
    # when that poll began, i.e. the total minus the records before it (fewer than PER_POLL back).
    assert reported, "no lag was reported while the group worked through the topic"
    for offset, lag in reported:
        assert RECORDS - offset <= lag <= RECORDS - offset + PER_POLL - 1, (offset, lag)
    assert max(lag for _, lag in reported) >= RECORDS - 2 * PER_POLL  # the early backlog was seen
    assert REGISTRY.get_sample_value("musechat_consumer_lag", labels) is None  # the stopped member reports nothing
