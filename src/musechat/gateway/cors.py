"""CORS, configured by `cors_origins` in the gateway's settings: the settings are bound after the app is
built (`app.state.context`), so Starlette's CORS middleware is built on the first request."""

from __future__ import annotations

from collections.abc import Callable

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from musechat.gateway.request_id import HEADER as REQUEST_ID


class LazyCorsMiddleware:
    def __init__(self, app: ASGIApp, origins: Callable[[], list[str]]) -> None:
        self.app = app
        self._origins = origins
        self._built: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: the settings may not be bound yet
            await self.app(scope, receive, send)
            return
        if self._built is None:
            origins = self._origins()
            self._built = self.app if not origins else CORSMiddleware(
                self.app, allow_origins=origins, allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["authorization", "content-type", "idempotency-key", REQUEST_ID],
                expose_headers=[REQUEST_ID, "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset",
                                "retry-after"], max_age=600)
        await self._built(scope, receive, send)
