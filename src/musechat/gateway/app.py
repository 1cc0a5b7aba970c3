"""The public REST API (/v1) as a FastAPI app; the gateway BentoML service mounts it.

`create_app` only wires: the routers (one per resource, `gateway/routers/`), the middleware, and the error
handlers (`gateway/http_errors.py`). Every error is an `ErrorBody` {error, message}: 400 malformed JSON,
401/403 auth, 404 unknown ids or routes, 405 wrong method, 409 a video still pending, 413 too large, 415
wrong content type, 422 invalid fields or unusable media, 500 unexpected.
"""

from __future__ import annotations

from fastapi import FastAPI

from musechat.gateway import health, metrics_route, openapi
from musechat.gateway.context import GatewayContext
from musechat.gateway.cors import LazyCorsMiddleware
from musechat.gateway.fallback import FallbackRoute
from musechat.gateway.http_errors import ApiError, install_error_handlers
from musechat.gateway.limits import BodyLimitMiddleware
from musechat.gateway.ratelimit import RateLimitHeadersMiddleware
from musechat.gateway.request_id import RequestIdMiddleware
from musechat.gateway.routers import ROUTERS
from musechat.gateway.settings import GatewaySettings
from musechat.observability import HttpMetricsMiddleware

API_VERSION = "v1"

__all__ = ["API_VERSION", "ApiError", "GatewayContext", "create_app"]


def create_app(context: GatewayContext | None = None) -> FastAPI:
    """The API; `context` (core, keys, settings) is bound at start-up, or later via `app.state`."""
    app = FastAPI(title="MuseChat API", version=API_VERSION,
                  description="Conversational music recommendation for videos. Authenticate with "
                              "`Authorization: Bearer <api key>`.")
    app.state.context = context
    # The last added runs first: request id, then CORS (preflights answered before auth), then the body
    # limit (before any byte is read), then metrics; rate-limit headers wrap the routes' answers.
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(HttpMetricsMiddleware, service="gateway")
    app.add_middleware(BodyLimitMiddleware, limits=lambda: _body_limits(app))
    app.add_middleware(LazyCorsMiddleware, origins=lambda: _cors_origins(app))
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(metrics_route.router)
    app.include_router(health.router)
    app.router.routes.append(FallbackRoute(app.router.routes))
    openapi.install(app)
    return app


_DEFAULT_LIMITS = (GatewaySettings.model_fields["max_json_bytes"].default,
                   GatewaySettings.model_fields["max_upload_bytes"].default)


def _body_limits(app: FastAPI) -> tuple[int, int]:
    context: GatewayContext | None = app.state.context
    if context is None:
        return _DEFAULT_LIMITS
    return context.settings.max_json_bytes, context.settings.max_upload_bytes


def _cors_origins(app: FastAPI) -> list[str]:
    context: GatewayContext | None = app.state.context
    return list(context.settings.cors_origins) if context is not None else []
