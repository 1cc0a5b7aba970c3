"""Publish envelopes to Kafka: idempotent, acks from all in-sync replicas, synchronous by default."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from musechat.bus.bootstrap import bootstrapping
from musechat.bus.metrics import EVENTS_PUBLISHED
from musechat.bus.settings import BusSettings
from musechat.contracts.envelope import EventEnvelope
from musechat.errors import MuseChatError

Headers = list[tuple[str, bytes]]
log = logging.getLogger(__name__)

# The record value is the whole envelope in CloudEvents *structured* mode, hence this content type.
# The ce_* headers repeat the attributes (as binary mode would) so tools and routers can read them
# without parsing the value.
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"


class PublishError(MuseChatError, RuntimeError):
    """The broker did not acknowledge a record within `publish_timeout_s`."""

    status, code = 503, "publish_timeout"
    acked = 0  # records of a batch acknowledged before this failure (`publish_raw_many`)


def cloudevent_headers(event: EventEnvelope[Any]) -> Headers:
    return [
        ("ce_specversion", event.specversion.encode()),
        ("ce_id", event.id.encode()),
        ("ce_type", event.type.encode()),
        ("ce_source", event.source.encode()),
        ("ce_subject", event.subject.encode()),
        ("ce_time", event.time.isoformat().encode()),
        ("ce_schemaversion", str(event.schemaversion).encode()),
        ("content-type", STRUCTURED_CONTENT_TYPE.encode()),
    ]


class EventProducer:
    """Kafka producer for envelopes. `publish*` return once the broker has acknowledged every record,
    so a worker that publishes its output before committing its input offset never loses an event."""

    def __init__(self, settings: BusSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._producer = self._new_producer()

    def _new_producer(self) -> KafkaProducer:
        """A connected producer; `BusBootstrapError` (a KafkaError) naming the cause if it cannot bootstrap."""
        settings = self.settings
        with bootstrapping(settings) as security:
            return KafkaProducer(
                bootstrap_servers=settings.bootstrap_list,
                client_id=settings.client_id,
                acks="all",
                enable_idempotence=True,
                request_timeout_ms=settings.request_timeout_ms,
                max_block_ms=settings.max_block_ms,
                bootstrap_timeout_ms=settings.bootstrap_timeout_ms,
                **security,
            )

    def publish(self, topic: str, event: EventEnvelope[Any]) -> None:
        """Publish one envelope keyed by its subject and wait for the broker's ack."""
        self.publish_many(topic, [event])

    def publish_many(self, topic: str, events: Iterable[EventEnvelope[Any]]) -> int:
        """Publish envelopes in order (per key order is kept by the idempotent producer); wait for all
        acks. Returns the number published."""
        pending = [
            (event.id, self._send(topic, event.key(), event.to_bytes(), cloudevent_headers(event)))
            for event in events
        ]
        for event_id, future in pending:
            self._wait(topic, event_id, future)
        EVENTS_PUBLISHED.labels(topic=topic).inc(len(pending))
        return len(pending)

    async def publish_async(self, topic: str, event: EventEnvelope[Any]) -> None:
        """`publish` for an event loop: the same record and the same wait for the broker's ack, awaited
        without parking a thread (the producer's network thread settles the future)."""
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if acked.done():  # the wait already timed out
                return
            if error is None:
                acked.set_result(None)
            else:
                acked.set_exception(error)

        future = self._send(topic, event.key(), event.to_bytes(), cloudevent_headers(event))
        future.add_callback(lambda _metadata: loop.call_soon_threadsafe(settle, None))
        future.add_errback(lambda error: loop.call_soon_threadsafe(settle, error))
        try:
            await asyncio.wait_for(acked, self.settings.publish_timeout_s)
        except (TimeoutError, KafkaError) as exc:
            self._reset(exc)
            raise PublishError(
                f"broker did not acknowledge event {event.id} on topic {topic!r} "
                f"within {self.settings.publish_timeout_s}s: {exc!r}"
            ) from exc
        EVENTS_PUBLISHED.labels(topic=topic).inc()

    def publish_raw(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Publish bytes as they are (the DLQ forwards records it could not even parse) and wait."""
        self._wait(topic, "<raw>", self._send(topic, key, value, list(headers)))
        EVENTS_PUBLISHED.labels(topic=topic).inc()

    def publish_raw_many(self, records: Sequence[tuple[str, bytes | None, bytes | None, Headers]]) -> int:
        """Send (topic, key, value, headers) records in order, then wait for every ack. Returns how many
        were acknowledged; on the first failure raises `PublishError` with `acked` = the records before
        it that were acknowledged (the outbox deletes exactly those)."""
        futures = [self._send(topic, key, value, headers) for topic, key, value, headers in records]
        for acked, ((topic, *_), future) in enumerate(zip(records, futures, strict=True)):
            try:
                self._wait(topic, "<raw>", future)
            except PublishError as error:
                error.acked = acked
                raise
            EVENTS_PUBLISHED.labels(topic=topic).inc()
        return len(futures)

    def _send(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> Any:
        try:
            return self._producer.send(topic, value=value, key=key, headers=headers)
        except KafkaError as exc:
            self._reset(exc)
            raise PublishError(f"could not enqueue a record for topic {topic!r}: {exc}") from exc

    def _reset(self, cause: BaseException) -> None:
        """Replace the Kafka producer after a failed publish. An idempotent producer whose broker restarted
        stays wedged (UnknownProducerId, then InitProducerId errors on every send) until it is recreated:
        without this a worker or the gateway published nothing more until it was restarted. The next
        publish gets a fresh producer (a new producer id); records of the old one that did reach the
        broker may come again, and consumers drop them by event id."""
        with self._lock:
            broken, self._producer = self._producer, self._new_producer_quietly()
        log.warning("producer reset after a failed publish (%s: %s)", type(cause).__name__, cause)
        try:
            broken.close(timeout=0)
        except Exception as error:  # a wedged producer may fail to close; it is dropped either way
            log.debug("closing the failed producer: %s", error)

    def _new_producer_quietly(self) -> KafkaProducer:
        try:
            return self._new_producer()
        except KafkaError:  # the broker is still away: keep trying on the next publish
            return _AbsentProducer(self)

    def _wait(self, topic: str, event_id: str, future: Any) -> None:
        try:
            future.get(timeout=self.settings.publish_timeout_s)
        except KafkaError as exc:
            self._reset(exc)
            raise PublishError(
                f"broker did not acknowledge event {event_id} on topic {topic!r} "
                f"within {self.settings.publish_timeout_s}s: {exc}"
            ) from exc

    def flush(self, timeout_s: float | None = None) -> None:
        self._producer.flush(timeout=timeout_s)

    def close(self, timeout_s: float | None = None) -> None:
        self._producer.close(timeout=timeout_s)

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _AbsentProducer:
    """Stands in while no producer could be built (the broker is away): every send retries the build."""

    def __init__(self, owner: EventProducer) -> None:
        self._owner = owner

    def send(self, topic: str, **kwargs: Any) -> Any:
        fresh = self._owner._new_producer()  # raises KafkaError while the broker is still away
        with self._owner._lock:
            self._owner._producer = fresh
        return fresh.send(topic, **kwargs)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None
