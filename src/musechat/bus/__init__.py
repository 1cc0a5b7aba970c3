"""Kafka event bus: envelope producer, at-least-once consumer with retries/dedupe/DLQ, embedded broker.

Import-light on purpose (kafka-python and prometheus_client only), so services start fast.
"""

from musechat.bus.backoff import backoff_delay
from musechat.bus.bootstrap import BusBootstrapError
from musechat.bus.broker import EmbeddedBroker, ensure_topics, read_topic, topic_size
from musechat.bus.consumer import (
    ConsumerStats,
    DeadLetterReason,
    EventConsumer,
    Handler,
    PermanentError,
    RecordContext,
    decode_payload,
    stop_on_signals,
)
from musechat.bus.dedupe import DedupeStore, FileDedupeStore, InMemoryDedupeStore
from musechat.bus.producer import EventProducer, PublishError
from musechat.bus.settings import BusSettings

__all__ = [
    "BusBootstrapError",
    "BusSettings",
    "ConsumerStats",
    "DeadLetterReason",
    "DedupeStore",
    "EmbeddedBroker",
    "EventConsumer",
    "EventProducer",
    "FileDedupeStore",
    "Handler",
    "InMemoryDedupeStore",
    "PermanentError",
    "PublishError",
    "RecordContext",
    "backoff_delay",
    "decode_payload",
    "ensure_topics",
    "read_topic",
    "stop_on_signals",
    "topic_size",
]
