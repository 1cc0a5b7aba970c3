"""Readiness with a report per dependency: `GET /readyz/dependencies` (JSON) and BentoML's `/readyz`
(through the service's `__is_ready__`).

Ready means a turn can be served: the vector store answers and the event outbox accepts writes. The
broker is reported but does not make the gateway unready — turns are served through a broker outage
(events wait in the outbox, `pending` and `oldest_age_s` say how long); readiness that flipped with the
broker would take every replica out of the balancer at once for no gain.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from musechat.bus.outbox import Outbox
from musechat.gateway.context import GatewayContext

router = APIRouter(include_in_schema=False)


def dependencies(context: GatewayContext) -> dict[str, dict[str, Any]]:
    report: dict[str, dict[str, Any]] = {}
    videos = getattr(context.core, "_videos", None)
    started = time.perf_counter()
    try:
        store = getattr(videos, "_store", None)
        ok = store is not None and store.collection_exists("videos")
        report["store"] = {"ok": bool(ok), "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as error:  # any failure of the store is "not ready", with its reason
        report["store"] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
    events = getattr(context.core, "_producer", None)
    if isinstance(events, Outbox):
        status = events.status()
        report["outbox"] = {"ok": True, "pending": status.pending, "oldest_age_s": status.oldest_age_s}
        report["broker"] = {"ok": status.connected, "critical": False, "last_error": status.last_error}
    return report


def is_ready(context: GatewayContext | None) -> bool:
    if context is None:
        return False
    return all(entry["ok"] for entry in dependencies(context).values() if entry.get("critical", True))


@router.get("/readyz/dependencies")
def readiness(request: Request) -> JSONResponse:
    context: GatewayContext | None = request.app.state.context
    if context is None:
        return JSONResponse({"ready": False, "dependencies": {}}, status_code=503)
    report = dependencies(context)
    ready = all(entry["ok"] for entry in report.values() if entry.get("critical", True))
    return JSONResponse({"ready": ready, "dependencies": report}, status_code=200 if ready else 503)
