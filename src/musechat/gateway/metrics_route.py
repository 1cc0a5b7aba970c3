"""The gateway's /metrics: behind an API key (scope `catalog:write` or `metrics`), or on a port of its own.

BentoML's own /metrics was public and labelled requests by raw path: every video and conversation id
became a series (2,000 ids: +40k series, +129 MB). The gateway's service turns BentoML's metrics off;
its histograms are labelled by route template (`HttpMetricsMiddleware`), and this route serves them to
a caller with a key, or — with `metrics_port` set — a plain exporter on that port serves them to the
cluster's Prometheus and this route answers 404.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from musechat.errors import MuseChatError
from musechat.gateway.auth import SCOPE_CATALOG_WRITE, SCOPE_METRICS
from musechat.gateway.context import GatewayContext

router = APIRouter(include_in_schema=False)


def registry() -> CollectorRegistry:
    """Under `bentoml serve` (PROMETHEUS_MULTIPROC_DIR set) the values live in per-process files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


@router.get("/metrics")
def metrics(request: Request) -> Response:
    context: GatewayContext = request.app.state.context
    if context.settings.metrics_port is not None:
        raise MuseChatError(f"metrics are served on port {context.settings.metrics_port}", status=404,
                            code="not_found")
    header = request.headers.get("authorization")
    try:
        context.keys.authenticate(header, SCOPE_METRICS)
    except MuseChatError as error:
        if error.status != 403:
            raise
        context.keys.authenticate(header, SCOPE_CATALOG_WRITE)
    return Response(generate_latest(registry()), media_type=CONTENT_TYPE_LATEST)
