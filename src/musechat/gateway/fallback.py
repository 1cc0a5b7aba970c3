"""The gateway's last route: unknown paths get the API's JSON 404 (and wrong methods its 405).

BentoML mounts the app passively: a path that no route of the app matches falls through to BentoML's own
router, whose 404 is `text/plain`. This route matches every path except those BentoML serves itself
(its index page, docs and assets), so clients get one error shape everywhere.
"""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Message, Receive, Scope, Send

from musechat.gateway.middleware import HttpMiddleware

_BENTOML_PATHS = frozenset({"/", "/docs.json", "/schema.json", "/livez", "/readyz", "/healthz", "/metrics"})
_BENTOML_PREFIXES = ("/static_content/", "/assets/")
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class FallbackRoute(Route):
    def __init__(self, routes: list[BaseRoute]) -> None:
        self._routes = routes
        super().__init__("/{path:path}", self._answer, methods=_METHODS, include_in_schema=False)
        # `.` must match a newline too: a path with an encoded %0A (and a `/` inside an id) matched no route
        # of the app, fell through to BentoML, and got its text/plain 404 (found by the stateful fuzz run).
        self.path_regex = re.compile(r"^/(?P<path>.*)$", re.DOTALL)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope.get("type") != "http" or path in _BENTOML_PATHS or path.startswith(_BENTOML_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)

    async def _answer(self, request: Request) -> Response:
        allowed = [method for method in _METHODS if self._matched_by_another(request.scope, method)]
        if allowed:
            raise HTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise HTTPException(404)

    def _matched_by_another(self, scope: Scope, method: str) -> bool:
        probe = {**scope, "method": method}
        return any(route is not self and route.matches(probe)[0] == Match.FULL for route in self._routes)


class PlainErrorsAsJson(HttpMiddleware):
    """Around BentoML's whole app (`GatewayService.add_asgi_middleware`): a plain-text 404/405 that BentoML's
    own router produced — a path its mount of the app never offered to the app, e.g. one with an encoded
    newline — leaves as the API's JSON error body instead."""

    async def handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: dict[str, Message] = {}

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                if message["status"] in (404, 405) and headers.get(b"content-type", b"").startswith(b"text/plain"):
                    held["start"] = message
                    return
            elif message["type"] == "http.response.body" and "start" in held:
                if message.get("more_body"):
                    return
                status = held["start"]["status"]
                body = json.dumps({"error": "not_found" if status == 404 else "method_not_allowed",
                                   "message": f"no route {scope.get('path', '')!r}: see /docs.json for the API"
                                   if status == 404 else "this method is not allowed here"}).encode()
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, rewrite)
