"""Publish envelopes to Kafka: idempotent, acks from all in-sync replicas, synchronous by default."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from musechat.bus.metrics import EVENTS_PUBLISHED
from musechat.bus.settings import BusSettings
from musechat.contracts.envelope import EventEnvelope
from musechat.errors import MuseChatError

Headers = list[tuple[str, bytes]]

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
        self._producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_list,
            client_id=settings.client_id,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=settings.request_timeout_ms,
            max_block_ms=settings.max_block_ms,
            bootstrap_timeout_ms=min(30000, settings.max_block_ms),
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
            raise PublishError(f"could not enqueue a record for topic {topic!r}: {exc}") from exc

    def _wait(self, topic: str, event_id: str, future: Any) -> None:
        try:
            future.get(timeout=self.settings.publish_timeout_s)
        except KafkaError as exc:
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
