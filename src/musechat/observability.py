"""Prometheus metrics shared by services and workers (the names the chart's dashboard and alerts query).

Registered once, in the default registry, at import. Under `bentoml serve` the workers run with
PROMETHEUS_MULTIPROC_DIR set and BentoML's /metrics aggregates them; gauges say how (`livemax`: the
highest value among live processes, without a per-pid label). A plain worker serves the default
registry itself with `start_metrics_server` (`musechat worker <name> --metrics-port N`).

Labels stay bounded: `route` is the route template (`/v1/videos/{video_id}`), never the raw path, and
requests that match no route share the `unmatched` route.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

UNMATCHED_ROUTE = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUEST_SECONDS = Histogram(
    "musechat_http_request_duration_seconds",
    "Wall time of one HTTP request, from the first byte in to the last byte out.",
    ["service", "route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
BATCH_SIZE = Histogram(
    "musechat_batch_size",
    "Items per call of a batchable API (the size BentoML's adaptive batching chose).",
    ["service", "api"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
CONSUMER_LAG = Gauge(
    "musechat_consumer_lag",
    "Records of a partition not yet handled by the consumer group (high watermark minus position).",
    ["topic", "partition", "group"],
    multiprocess_mode="livemax",
)
MODEL_INFO = Gauge(
    "musechat_model_info",
    "The model a service or worker serves (always 1; the labels carry the information).",
    ["service", "model", "version"],
    multiprocess_mode="livemax",
)
INDEX_INFO = Gauge(
    "musechat_index_info",
    "The collection an alias points at and the model that embedded it (always 1).",
    ["alias", "collection", "index_model"],
    multiprocess_mode="livemax",
)

# Info-style gauges keep one series per service / alias: the previous label set is removed on change,
# or a dashboard would show the old and the new version side by side after a hot swap.
_info_lock = threading.Lock()
_current_model: dict[str, tuple[str, str]] = {}
_current_index: dict[str, tuple[str, str]] = {}


def observe_batch(service: str, api: str, size: int) -> None:
    """Record the size of one adaptive batch; call at the top of a `batchable=True` API."""
    BATCH_SIZE.labels(service=service, api=api).observe(size)


def set_model_info(service: str, model: str, version: str) -> None:
    """Publish which model `service` serves now (replaces the previous one)."""
    with _info_lock:
        previous = _current_model.get(service)
        if previous == (model, version):
            return
        if previous is not None:
            MODEL_INFO.remove(service, *previous)
        MODEL_INFO.labels(service=service, model=model, version=version).set(1)
        _current_model[service] = (model, version)


def set_index_info(alias: str, collection: str, index_model: str) -> None:
    """Publish the collection `alias` resolves to and its index model (replaces the previous one)."""
    with _info_lock:
        previous = _current_index.get(alias)
        if previous == (collection, index_model):
            return
        if previous is not None:
            INDEX_INFO.remove(alias, *previous)
        INDEX_INFO.labels(alias=alias, collection=collection, index_model=index_model).set(1)
        _current_index[alias] = (collection, index_model)


def set_consumer_lag(topic: str, partition: int, group: str, lag: int) -> None:
    CONSUMER_LAG.labels(topic=topic, partition=str(partition), group=group).set(max(lag, 0))


def clear_consumer_lag(topic: str, partition: int, group: str) -> None:
    """Drop the series of a partition this member no longer owns (its new owner reports it)."""
    with contextlib.suppress(KeyError):  # never reported, or already cleared
        CONSUMER_LAG.remove(topic, str(partition), group)


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> None:
    """Serve the default registry on http://addr:port/metrics (and `/`), in a daemon thread.

    Raises `OSError` with the port in the message when it cannot bind (taken, or privileged)."""
    if not 0 < port < 65536:
        raise ValueError(f"metrics port must be between 1 and 65535, got {port}")
    try:
        start_http_server(port, addr=addr)
    except OSError as error:
        raise OSError(error.errno, f"cannot serve metrics on {addr}:{port}: {error.strerror or error}") from error
    log.info("serving Prometheus metrics on http://%s:%d/metrics", addr, port)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HttpMetricsMiddleware:
    """Pure ASGI middleware recording `musechat_http_request_duration_seconds` per route template.

    FastAPI: `app.add_middleware(HttpMetricsMiddleware, service="gateway")`; a BentoML service class:
    `MyService.add_asgi_middleware(HttpMetricsMiddleware, service="text-encoder")`. The router writes the
    matched route into the shared `scope`, so it is read after the app has run. An exception escaping
    the app counts as a 500 (the server turns it into one)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            method = scope.get("method", "")
            HTTP_REQUEST_SECONDS.labels(
                service=self.service, route=route, method=method if method in _METHODS else "other",
                status=str(status),
            ).observe(time.perf_counter() - started)
