"""A consumer whose DLQ publishes fail, run as its own process by test_dlq_publish_failure.py.

    python dlq_down_process.py BOOTSTRAP TOPIC GROUP
Its DLQ producer talks to a second broker that is stopped before the first record arrives, so every
dead-lettering fails the way it does when the DLQ topic's leader is unreachable. run() must raise out
and the process must exit non-zero, as a pod does into CrashLoopBackOff.
"""

from __future__ import annotations

import sys
from typing import Any

from musechat.bus import BusSettings, EmbeddedBroker, EventConsumer, EventProducer, PermanentError, RecordContext
from musechat.contracts.envelope import EventEnvelope


def reject(event: EventEnvelope[Any], ctx: RecordContext) -> None:
    raise PermanentError(f"event {event.id} cannot be handled")


def main(bootstrap: str, topic: str, group: str) -> None:
    settings = BusSettings(bootstrap_servers=bootstrap, poll_timeout_ms=200, session_timeout_ms=3000,
                           heartbeat_interval_ms=500, max_poll_interval_ms=3000)
    with EmbeddedBroker() as dlq_broker:
        dlq_settings = BusSettings(bootstrap_servers=dlq_broker.bootstrap_servers, max_block_ms=1000,
                                   request_timeout_ms=1000, publish_timeout_s=1.0)
        dlq_producer = EventProducer(dlq_settings)
    EventConsumer(settings, [topic], group, reject, dlq_producer=dlq_producer).run(idle_timeout_s=15.0)


if __name__ == "__main__":
    main(*sys.argv[1:4])
