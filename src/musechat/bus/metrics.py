"""Prometheus metrics of the event bus (registered once, in the default registry, at import).

Labels are bounded: topics and consumer groups are fixed per deployment and `reason` is one of
`permanent`, `exhausted`, `poison`.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_PUBLISHED = Counter(
    "musechat_bus_events_published_total",
    "Events acknowledged by the broker, per topic.",
    ["topic"],
)
EVENTS_PROCESSED = Counter(
    "musechat_bus_events_processed_total",
    "Events whose handler succeeded and whose offset was committed.",
    ["topic", "group"],
)
EVENTS_RETRIED = Counter(
    "musechat_bus_events_retried_total",
    "Handler attempts that failed with a retryable error and were retried.",
    ["topic", "group"],
)
EVENTS_DEAD_LETTERED = Counter(
    "musechat_bus_events_dead_lettered_total",
    "Records published to the consumer's DLQ topic, by reason.",
    ["topic", "group", "reason"],
)
EVENTS_DUPLICATES_SKIPPED = Counter(
    "musechat_bus_events_duplicates_skipped_total",
    "Records skipped because their event id was already handled.",
    ["topic", "group"],
)
HANDLER_SECONDS = Histogram(
    "musechat_bus_handler_seconds",
    "Wall time of one handler attempt.",
    ["topic", "group"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
