"""At-least-once Kafka consumer: manual commits, dedupe on event id, retries with backoff, per-group DLQ.

Contract for handlers (see docs/event-bus.md):
- An offset is committed only after its handler returned or the record went to the DLQ. A crash in
  between re-delivers the record, so handlers must be idempotent (upserts keyed by entity id, not
  appends). The dedupe store only narrows that window, it cannot close it.
- Raise `PermanentError` when retrying cannot help (corrupt file, invalid payload): the record goes
  straight to the DLQ. Any other exception is retried with exponential backoff up to
  `max_attempts`, then dead-lettered.
- Records of one partition are handled in order, one at a time; a record being retried holds back
  the records behind it (that is what keeps per-key ordering).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from pydantic import BaseModel, ValidationError

from musechat.bus.backoff import backoff_delay
from musechat.bus.bootstrap import bootstrapping
from musechat.bus.dedupe import DedupeStore, InMemoryDedupeStore
from musechat.bus.metrics import (
    EVENTS_DEAD_LETTERED,
    EVENTS_DUPLICATES_SKIPPED,
    EVENTS_PROCESSED,
    EVENTS_RETRIED,
    HANDLER_SECONDS,
)
from musechat.bus.producer import EventProducer
from musechat.bus.settings import BusSettings
from musechat.contracts.envelope import EventEnvelope, parse_envelope
from musechat.contracts.topics import dlq_topic
from musechat.errors import MuseChatError
from musechat.observability import clear_consumer_lag, set_consumer_lag

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

DLQ_HEADER_PREFIX = "dlq_"
MAX_ERROR_MESSAGE_BYTES = 4096


class PermanentError(MuseChatError):
    """Raised by a handler when retrying cannot help; the record goes straight to the DLQ."""

    status, code = 422, "permanent_failure"


@dataclass(frozen=True)
class RecordContext:
    """Where the record came from, and which attempt this is (1-based)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: Mapping[str, bytes]
    timestamp_ms: int
    group_id: str
    attempt: int = 1


Handler = Callable[[EventEnvelope[Any], RecordContext], None]


@dataclass
class ConsumerStats:
    processed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    duplicates_skipped: int = 0
    dead_lettered_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def handled(self) -> int:
        """Records finished (offset committed or committable): what `max_events` counts."""
        return self.processed + self.dead_lettered + self.duplicates_skipped


class DeadLetterReason(enum.StrEnum):
    POISON = "poison"  # not JSON, or not an envelope
    PERMANENT = "permanent"  # the handler raised PermanentError
    EXHAUSTED = "exhausted"  # max_attempts retryable failures


class _Outcome(enum.Enum):
    DONE = enum.auto()  # processed, dead-lettered or skipped as duplicate: commit
    ABANDONED = enum.auto()  # stop requested mid-retry: do not commit, the record is re-delivered


def decode_payload(event: EventEnvelope[Any], model: type[M]) -> M:
    """Validate `event.data` against the handler's payload model; a mismatch is permanent."""
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        raise PermanentError(
            f"event {event.id} ({event.type}) does not match {model.__name__}: {exc}"
        ) from exc


def _error_type(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def dlq_headers(
    original: Sequence[tuple[str, bytes]],
    *,
    topic: str,
    partition: int,
    offset: int,
    group_id: str,
    error: BaseException,
    reason: DeadLetterReason,
    attempts: int,
    failed_at: datetime,
) -> list[tuple[str, bytes]]:
    """Original headers (minus any older dlq_* ones, from an earlier dead-lettering) + error and origin."""
    message = str(error).encode("utf-8", "replace")[:MAX_ERROR_MESSAGE_BYTES]
    kept = [(k, v) for k, v in original if not k.startswith(DLQ_HEADER_PREFIX)]
    return [
        *kept,
        ("dlq_reason", reason.value.encode()),
        ("dlq_error_type", _error_type(error).encode()),
        ("dlq_error_message", message),
        ("dlq_origin_topic", topic.encode()),
        ("dlq_origin_partition", str(partition).encode()),
        ("dlq_origin_offset", str(offset).encode()),
        ("dlq_consumer_group", group_id.encode()),
        ("dlq_attempts", str(attempts).encode()),
        ("dlq_failed_at", failed_at.isoformat().encode()),
    ]


def stop_on_signals(
    stop: threading.Event | None = None, signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT)
) -> threading.Event:
    """Set `stop` on SIGTERM/SIGINT so `run()` finishes the current record and returns (Kubernetes
    sends SIGTERM before killing a pod). Call from the main thread."""
    event = stop if stop is not None else threading.Event()
    for sig in signals:
        signal.signal(sig, lambda _signum, _frame: event.set())
    return event


class EventConsumer:
    """One consumer-group member running `handler` on every envelope of `topics`."""

    def __init__(
        self,
        settings: BusSettings,
        topics: Sequence[str],
        group_id: str,
        handler: Handler,
        dedupe: DedupeStore | None = None,
        *,
        dlq_producer: EventProducer | None = None,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        rng: random.Random | None = None,
    ) -> None:
        if not topics:
            raise ValueError("EventConsumer needs at least one topic")
        if not group_id:
            raise ValueError("EventConsumer needs a non-empty group_id (offsets are committed per group)")
        if auto_offset_reset not in ("earliest", "latest"):
            raise ValueError(f"auto_offset_reset must be 'earliest' or 'latest', got {auto_offset_reset!r}")
        self.settings = settings
        self.topics = [str(t) for t in topics]
        self.group_id = group_id
        self.handler = handler
        self.dedupe: DedupeStore = dedupe if dedupe is not None else InMemoryDedupeStore()
        self.auto_offset_reset = auto_offset_reset
        self._dlq_producer = dlq_producer
        self._rng = rng or random.Random()

    def run(
        self,
        stop: threading.Event | None = None,
        idle_timeout_s: float | None = None,
        max_events: int | None = None,
    ) -> ConsumerStats:
        """Consume until `stop` is set, `max_events` records were handled, or no record arrived for
        `idle_timeout_s` (counted from the first partition assignment, so the group join is not
        idle time). Records polled but not handled are left uncommitted and are re-delivered."""
        stop = stop if stop is not None else threading.Event()
        stats = ConsumerStats()
        s = self.settings
        with contextlib.ExitStack() as resources:
            producer = self._dlq_producer or resources.enter_context(EventProducer(s))
            with bootstrapping(s) as security:  # bounded like the producer's, BusBootstrapError if it fails
                consumer = KafkaConsumer(
                    *self.topics,
                    bootstrap_servers=s.bootstrap_list,
                    client_id=s.client_id,
                    group_id=self.group_id,
                    enable_auto_commit=False,
                    auto_offset_reset=self.auto_offset_reset,
                    session_timeout_ms=s.session_timeout_ms,
                    heartbeat_interval_ms=s.heartbeat_interval_ms,
                    max_poll_interval_ms=s.max_poll_interval_ms,
                    max_poll_records=s.max_poll_records,
                    request_timeout_ms=s.request_timeout_ms,
                    bootstrap_timeout_ms=s.bootstrap_timeout_ms,
                    **security,
                )
            # autocommit=False: the only commits are the explicit per-record ones. Closing leaves the
            # group at once, so the partitions move to the other members without a session timeout.
            resources.callback(consumer.close, autocommit=False)
            lag_reported: set[TopicPartition] = set()
            resources.callback(self._clear_lag, lag_reported)
            started = time.monotonic()
            idle_since: float | None = None
            while not stop.is_set() and not self._reached(stats, max_events):
                batches = consumer.poll(timeout_ms=s.poll_timeout_ms)
                now = time.monotonic()
                if batches:
                    idle_since = now
                    self._handle_batches(consumer, producer, batches, stop, stats, max_events)
                    self._report_lag(consumer, lag_reported)
                    continue
                self._report_lag(consumer, lag_reported)
                if idle_timeout_s is None:
                    continue
                if idle_since is None and consumer.assignment():
                    idle_since = now
                # With no assignment yet (joining, or more members than partitions) the idle clock
                # starts one rebalance window after start.
                reference = idle_since if idle_since is not None else started + s.max_poll_interval_ms / 1000
                if now - reference >= idle_timeout_s:
                    break
        log.info("consumer %s on %s stopped: %s", self.group_id, self.topics, stats)
        return stats

    def _report_lag(self, consumer: KafkaConsumer, reported: set[TopicPartition]) -> None:
        """Lag per owned partition = high watermark (from the last fetch response) - position.

        Not `end_offsets()`: Tansu, the dev/CI broker, answers ListOffsets wrongly for multi-record
        batches, while the fetch responses' high watermark is right on Tansu and Kafka alike. Both
        numbers are local after a poll; a partition without a fetch yet reports nothing."""
        owned = consumer.assignment()
        for tp in reported - owned:
            clear_consumer_lag(tp.topic, tp.partition, self.group_id)
        reported &= owned
        for tp in owned:
            highwater = consumer.highwater(tp)
            position = consumer.position(tp, timeout_ms=0) if highwater is not None else None
            if highwater is None or position is None:
                continue
            set_consumer_lag(tp.topic, tp.partition, self.group_id, highwater - position)
            reported.add(tp)

    def _clear_lag(self, reported: set[TopicPartition]) -> None:
        for tp in reported:
            clear_consumer_lag(tp.topic, tp.partition, self.group_id)

    @staticmethod
    def _reached(stats: ConsumerStats, max_events: int | None) -> bool:
        return max_events is not None and stats.handled >= max_events

    def _handle_batches(
        self,
        consumer: KafkaConsumer,
        producer: EventProducer,
        batches: Mapping[TopicPartition, Sequence[Any]],
        stop: threading.Event,
        stats: ConsumerStats,
        max_events: int | None,
    ) -> None:
        # First offset not yet committed, per partition of this poll.
        uncommitted = {tp: records[0].offset for tp, records in batches.items() if records}
        for tp, records in batches.items():
            for record in records:
                if stop.is_set() or self._reached(stats, max_events):
                    return  # run() returns and closes; uncommitted records are re-delivered
                if self._handle(producer, record, stop, stats) is _Outcome.ABANDONED:
                    return
                try:
                    consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "", -1)})
                except KafkaError as exc:
                    # Typically a rebalance took partitions away. Rewind the ones still owned so no
                    # polled-but-uncommitted record is skipped; the record just handled comes back
                    # and the dedupe store skips it.
                    log.warning("commit of %s@%d failed (%s); rewinding", tp, record.offset, exc)
                    owned = consumer.assignment()
                    for part, offset in uncommitted.items():
                        if part in owned:
                            consumer.seek(part, offset)
                    return
                uncommitted[tp] = record.offset + 1

    def _handle(
        self, producer: EventProducer, record: Any, stop: threading.Event, stats: ConsumerStats
    ) -> _Outcome:
        headers = {k: v for k, v in (record.headers or [])}
        ctx = RecordContext(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            headers=headers,
            timestamp_ms=record.timestamp,
            group_id=self.group_id,
        )
        try:
            if record.value is None:
                raise ValueError("record has no value (tombstone); expected an event envelope")
            event = parse_envelope(record.value)
        except (ValidationError, ValueError) as exc:
            log.error("poison record %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc)
            self._dead_letter(producer, record, exc, DeadLetterReason.POISON, 0, stats)
            return _Outcome.DONE

        if self.dedupe.seen(event.id):
            stats.duplicates_skipped += 1
            EVENTS_DUPLICATES_SKIPPED.labels(topic=record.topic, group=self.group_id).inc()
            return _Outcome.DONE

        s = self.settings
        attempt = 1
        while True:
            try:
                with HANDLER_SECONDS.labels(topic=record.topic, group=self.group_id).time():
                    self.handler(event, replace(ctx, attempt=attempt))
            except PermanentError as exc:
                log.error("event %s failed permanently: %s", event.id, exc)
                self._dead_letter(producer, record, exc, DeadLetterReason.PERMANENT, attempt, stats)
                return _Outcome.DONE
            except Exception as exc:
                if attempt >= s.max_attempts:
                    log.error("event %s failed %d times, dead-lettering: %s", event.id, attempt, exc)
                    self._dead_letter(producer, record, exc, DeadLetterReason.EXHAUSTED, attempt, stats)
                    return _Outcome.DONE
                delay = backoff_delay(attempt, s.backoff_initial_s, s.backoff_max_s, self._rng)
                log.warning(
                    "event %s attempt %d/%d failed (%s: %s); retrying in %.2fs",
                    event.id,
                    attempt,
                    s.max_attempts,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                stats.retried += 1
                EVENTS_RETRIED.labels(topic=record.topic, group=self.group_id).inc()
                if stop.wait(delay):
                    return _Outcome.ABANDONED
                attempt += 1
            else:
                self.dedupe.add(event.id)
                stats.processed += 1
                EVENTS_PROCESSED.labels(topic=record.topic, group=self.group_id).inc()
                return _Outcome.DONE

    def _dead_letter(
        self,
        producer: EventProducer,
        record: Any,
        error: BaseException,
        reason: DeadLetterReason,
        attempts: int,
        stats: ConsumerStats,
    ) -> None:
        headers = dlq_headers(
            record.headers or [],
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group_id=self.group_id,
            error=error,
            reason=reason,
            attempts=attempts,
            failed_at=datetime.now(UTC),
        )
        # A failed DLQ publish raises out of run(): the offset stays uncommitted and the record returns.
        producer.publish_raw(dlq_topic(record.topic, self.group_id), record.value, record.key, headers)
        stats.dead_lettered += 1
        stats.dead_lettered_by_reason[reason.value] = stats.dead_lettered_by_reason.get(reason.value, 0) + 1
        EVENTS_DEAD_LETTERED.labels(topic=record.topic, group=self.group_id, reason=reason.value).inc()
