"""A durable local outbox: events are written to a SQLite file at once, and a relay thread publishes them.

Why: the gateway's turn path must not wait on Kafka. With the producer in the request, a broker outage
turned every start and upload into a 30 s wait and a 500, and a broker restart left the producer broken
(InitProducerId errors) until the gateway restarted. Through the outbox a request costs one local
insert (~0.1 ms in WAL mode); the relay publishes in order, with the idempotent producer, retrying with
backoff, and when publishing keeps failing it replaces its producer (a fresh one re-initialises its
producer id against whatever broker now answers) and, if asked, re-creates the topics (the bundled
Tansu broker forgets them on a restart). A broker outage delays events; it loses none: a row leaves
the file only once the broker acknowledged it. Events keep their ids, so a record published twice (an
ack lost to a crash) is dropped by the consumers, which dedupe on the id.

`Outbox` offers the producer's publishing methods (`publish`, `publish_many`, `publish_async`), so the
gateway's core takes either.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from prometheus_client import Counter, Gauge

from musechat.bus.backoff import backoff_delay
from musechat.bus.producer import Headers, PublishError, cloudevent_headers
from musechat.contracts.envelope import EventEnvelope

log = logging.getLogger(__name__)

OUTBOX_PENDING = Gauge("musechat_outbox_pending", "Events written to the outbox and not yet acknowledged.",
                       multiprocess_mode="livemax")
OUTBOX_RELAYED = Counter("musechat_outbox_relayed_total", "Events the relay published and the broker acked.")
OUTBOX_FAILURES = Counter("musechat_outbox_publish_failures_total",
                          "Relay publish attempts that failed (the batch stays and is retried).")
OUTBOX_PRODUCER_RESETS = Counter("musechat_outbox_producer_resets_total",
                                 "Producers the relay replaced after repeated failures.")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    headers TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class RawPublisher(Protocol):
    """What the relay publishes through: `EventProducer` (`publish_raw_many` sends a batch in order, waits
    for the acks, and on failure says how many of the batch were acknowledged)."""

    def publish_raw_many(self, records: Sequence[tuple[str, bytes | None, bytes | None, Headers]]) -> int: ...

    def close(self, timeout_s: float | None = None) -> None: ...


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    oldest_age_s: float | None
    last_error: str | None
    connected: bool


class Outbox:
    """Write events now, publish them from a relay thread. `start()` the relay; `close()` stops it (what is
    still pending stays in the file and goes out after the next start)."""

    def __init__(self, path: Path, producer_factory: Callable[[], RawPublisher], *,
                 batch_size: int = 100, backoff_initial_s: float = 0.2, backoff_max_s: float = 5.0,
                 reset_after_failures: int = 3, recover: Callable[[list[str]], None] | None = None,
                 headers: Callable[[], Headers] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._factory = producer_factory
        self._producer: RawPublisher | None = None
        self._batch_size = batch_size
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._reset_after = reset_after_failures
        self._recover = recover
        self._headers = headers  # extra record headers taken at write time (the request id)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash (kill -9)
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._last_error: str | None = None
        OUTBOX_PENDING.set(self.pending())

    # ------------------------------------------------------------------ writing (the request path)
    def publish(self, topic: str, event: EventEnvelope[Any]) -> None:
        self.publish_many(topic, [event])

    def publish_many(self, topic: str, events: Iterable[EventEnvelope[Any]]) -> int:
        extra = self._headers() if self._headers is not None else []
        rows = [(event.id, str(topic), event.key(), event.to_bytes(),
                 json.dumps([(name, value.decode()) for name, value in [*cloudevent_headers(event), *extra]]),
                 time.time()) for event in events]
        with self._lock:
            # An id already waiting is the same event submitted twice (a retried request): kept once.
            self._db.executemany("INSERT OR IGNORE INTO outbox (event_id, topic, key, value, headers, created) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", rows)
        OUTBOX_PENDING.set(self.pending())
        self._wake.set()
        return len(rows)

    async def publish_async(self, topic: str, event: EventEnvelope[Any]) -> None:
        """One local insert (sub-millisecond): cheaper inline than a hop to a thread."""
        self.publish_many(topic, [event])

    # ------------------------------------------------------------------ state
    def pending(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def status(self) -> OutboxStatus:
        with self._lock:
            count, oldest = self._db.execute("SELECT COUNT(*), MIN(created) FROM outbox").fetchone()
        return OutboxStatus(pending=int(count), oldest_age_s=None if oldest is None else time.time() - oldest,
                            last_error=self._last_error, connected=self._failures == 0)

    def wait_until_empty(self, timeout_s: float) -> bool:
        """Block until every event was acknowledged (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while self.pending():
            self._wake.set()
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    # ------------------------------------------------------------------ the relay
    def start(self) -> Outbox:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self._relay_batch()
            except Exception as error:  # the broker is away, or the producer is broken: keep the rows
                sent = 0
                self._on_failure(error)
                delay = backoff_delay(self._failures, *self._backoff)
                self._stop.wait(delay)
                continue
            if sent == 0:
                self._wake.wait(0.5)
                self._wake.clear()

    def _batch(self) -> list[tuple[int, str, bytes | None, bytes, str]]:
        with self._lock:
            return list(self._db.execute("SELECT seq, topic, key, value, headers FROM outbox ORDER BY seq LIMIT ?",
                                         (self._batch_size,)))

    def _relay_batch(self) -> int:
        batch = self._batch()
        if not batch:
            return 0
        if self._producer is None:
            self._producer = self._factory()
        records = [(topic, key, value, [(name, text.encode()) for name, text in json.loads(headers)])
                   for _, topic, key, value, headers in batch]  # in order: one entity's events stay ordered
        acked = 0
        try:
            acked = self._producer.publish_raw_many(records)
        except PublishError as error:
            acked = error.acked
            raise
        finally:
            if acked:
                with self._lock:
                    self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(row[0],) for row in batch[:acked]])
                OUTBOX_RELAYED.inc(acked)
                OUTBOX_PENDING.set(self.pending())
        if self._failures:
            log.info("outbox relay publishing again after %d failed attempts", self._failures)
        self._failures, self._last_error = 0, None
        return acked

    def _on_failure(self, error: Exception) -> None:
        self._failures += 1
        self._last_error = f"{type(error).__name__}: {error}"[:300]
        OUTBOX_FAILURES.inc()
        log.warning("outbox relay: publish failed (%d in a row; %d pending): %s",
                    self._failures, self.pending(), self._last_error)
        if self._failures % self._reset_after == 0:
            self._reset_producer()

    def _reset_producer(self) -> None:
        """A producer that failed repeatedly may be wedged (after a broker restart its producer id is
        unknown there): replace it, and let `recover` re-create what the broker lost (topics)."""
        OUTBOX_PRODUCER_RESETS.inc()
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout_s=1.0)
            except Exception as error:  # closing a broken producer may fail too; it is dropped either way
                log.debug("closing the old producer failed: %s", error)
        if self._recover is not None:
            try:
                self._recover(sorted({row[1] for row in self._batch()}))
            except Exception as error:
                log.warning("outbox relay: recovery hook failed: %s", error)

    def close(self, drain_s: float = 0.0) -> None:
        if drain_s > 0:
            self.wait_until_empty(drain_s)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._producer is not None:
            self._producer.close(timeout_s=1.0)
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
