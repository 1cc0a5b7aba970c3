"""One JSON shape for every error the gateway answers: `ErrorBody` {error, message}.

Typed errors carry (status, code, message) and one handler maps them; FastAPI's and Starlette's own
errors (malformed JSON, invalid fields, unknown routes, wrong methods) and anything unexpected (500) are
mapped to the same shape, so a client parses one body whatever went wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from musechat.contracts.api import ErrorBody
from musechat.errors import MuseChatError
from musechat.gateway.request_id import current_request_id
from musechat.media.errors import MediaError

log = logging.getLogger(__name__)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 415, 422)
}
_MEDIA_STATUS = {"too_large": 413, "not_found": 422}
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 413: "too_large",
               415: "unsupported_media_type", 429: "rate_limited"}


class ApiError(MuseChatError):
    """An error the API layer raises itself (bad content type, path outside the media roots, ...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, status=status, code=code)


def error_response(status: int, code: str, message: str,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=ErrorBody(error=code, message=message).model_dump(),
                        headers=dict(headers) if headers else None)


def validation_message(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {error.get('msg')}")
    return "; ".join(parts)


async def _typed(request: Request, error: Exception) -> JSONResponse:
    """Every `MuseChatError` (auth, state, media, ranking, store, ...): its own status, code and message."""
    assert isinstance(error, MuseChatError)
    status = _MEDIA_STATUS.get(error.code, error.status) if isinstance(error, MediaError) else error.status
    if status < 500:
        return error_response(status, error.code, error.message)
    # A server-side failure's message names internals (store paths, broker addresses): it goes to the log,
    # the client gets the code and the request id to report.
    request_id = current_request_id.get()
    log.error("%s on %s %s (request %s): %s", error.code, request.method, request.url.path, request_id,
              error.message)
    return error_response(status, error.code, f"the gateway could not answer ({error.code}, request {request_id}); "
                                              "retry, or report the request id if it persists")


async def _invalid(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = error.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        message = "the request body is not valid JSON: " + validation_message(errors)
        return error_response(400, "malformed_json", message)
    return error_response(422, "invalid_request", validation_message(errors))


async def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    if status == 404 and error.detail == "Not Found":
        message = f"no route {request.url.path!r}: see /docs.json for the API"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path!r}"
    else:
        message = str(error.detail)
    return error_response(status, _HTTP_CODES.get(status, f"http_{status}"), message, headers=error.headers)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s (request %s)", request.method, request.url.path,
              current_request_id.get(), exc_info=error)
    return error_response(500, "internal_error", "the gateway failed to answer; retry, or report it if it persists")


def install_error_handlers(app: FastAPI) -> None:
    """The gateway's handlers: every typed error, validation, routing, and 500."""
    app.add_exception_handler(MuseChatError, _typed)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
