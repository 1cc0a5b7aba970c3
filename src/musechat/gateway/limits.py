"""Request body limits, enforced on the byte stream before any route, dependency or key check runs.

A declared `Content-Length` over the route's limit is answered 413 at once, before a byte is read (a
300 MB JSON body used to be read in full before its 401); a chunked body is counted as it streams in and
cut off at the limit, so an upload without a length cannot fill the disk either. Uploads
(`POST /v1/videos`) get the upload limit plus room for the multipart framing; every other route gets
the (small) JSON limit.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from musechat.gateway.http_errors import error_response

MULTIPART_SLACK = 1 << 20  # boundaries and part headers around the file


class BodyTooLargeError(HTTPException):
    """Raised from `receive` when a streamed body passes its limit; FastAPI lets HTTPExceptions through
    body parsing unchanged, and the app's handler answers it as 413 {error: too_large}."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the {_size(limit)} limit for this route")
        self.limit = limit


def _size(limit: int) -> str:
    return f"{limit / 2**20:.0f} MiB" if limit >= 2**20 else f"{limit // 1024} KiB"


class BodyLimitMiddleware:
    """`limits()` gives (JSON limit, upload limit) in bytes; read per request, since the gateway's settings
    are bound after the app is built (`app.state.context`)."""

    def __init__(self, app: ASGIApp, limits: Callable[[], tuple[int, int]],
                 upload_paths: frozenset[str] = frozenset({"/v1/videos"})) -> None:
        self.app = app
        self.limits = limits
        self.upload_paths = upload_paths

    def limit_for(self, scope: Scope) -> int:
        json_limit, upload_limit = self.limits()
        return upload_limit + MULTIPART_SLACK if scope.get("path") in self.upload_paths else json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            error = BodyTooLargeError(limit)
            response = error_response(413, "too_large", str(error.detail), headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLargeError as error:  # raised where no handler caught it (e.g. a middleware)
            if started:
                raise
            await error_response(413, "too_large", str(error.detail))(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
