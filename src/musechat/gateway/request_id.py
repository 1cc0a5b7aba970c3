"""X-Request-ID: taken from the request when it is a sane token, generated otherwise, echoed on every
response, attached to the gateway's log records and to the events the request causes (the `ce_requestid`
CloudEvents extension header on each Kafka record), so one id follows a request from the edge to the
dataset writer."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from starlette.types import Message, Receive, Scope, Send

from musechat.gateway.middleware import HttpMiddleware

HEADER = "x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
current_request_id: ContextVar[str | None] = ContextVar("musechat_request_id", default=None)


def event_headers() -> list[tuple[str, bytes]]:
    """Extra Kafka headers for an event written while a request is served (the outbox asks)."""
    request_id = current_request_id.get()
    return [("ce_requestid", request_id.encode())] if request_id else []


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record (use `%(request_id)s` in a format); '-' outside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get() or "-"
        return True


class RequestIdMiddleware(HttpMiddleware):
    async def handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        offered = next((value.decode("latin-1") for name, value in scope.get("headers", ())
                        if name == HEADER.encode()), "")
        request_id = offered if _SANE.fullmatch(offered) else uuid.uuid4().hex
        token = current_request_id.set(request_id)

        async def echo(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, echo)
        finally:
            current_request_id.reset(token)
