"""A consumer run as its own process by test_bus_kafka.py, so a test can SIGKILL or SIGTERM it.

    python worker_process.py BOOTSTRAP TOPIC GROUP OUT_FILE MODE
MODE `hang-after-N`: record each event's subject in OUT_FILE, and block forever inside the handler of
the N-th event (it is never finished, so never committed). MODE `slow`: take 0.3 s per event and stop
gracefully on SIGTERM.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

from musechat.bus import BusSettings, EventConsumer, RecordContext, stop_on_signals
from musechat.contracts.envelope import EventEnvelope


def main(bootstrap: str, topic: str, group: str, out_file: str, mode: str) -> None:
    out = Path(out_file)
    hang_at = int(mode.removeprefix("hang-after-")) if mode.startswith("hang-after-") else None
    seen = 0

    def handler(event: EventEnvelope[Any], ctx: RecordContext) -> None:
        nonlocal seen
        seen += 1
        with out.open("a") as f:  # written first so the test sees the event as "in flight"
            f.write(f"{event.subject}\n")
        if hang_at is not None and seen >= hang_at:
            threading.Event().wait()
        if mode == "slow":
            time.sleep(0.3)

    stop = stop_on_signals()
    # Short group timeouts: the member a test kills is evicted sooner, so the next member joins sooner.
    settings = BusSettings(
        bootstrap_servers=bootstrap,
        poll_timeout_ms=200,
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
        max_poll_interval_ms=3000,
    )
    EventConsumer(settings, [topic], group, handler).run(stop=stop)


if __name__ == "__main__":
    main(*sys.argv[1:6])
