"""The public REST API (/v1) as a FastAPI app; the gateway BentoML service mounts it.

Every error is an `ErrorBody` {error, message}: 400 malformed JSON, 401/403 auth, 404 unknown ids,
409 a video still pending, 413 too large, 415 wrong content type, 422 invalid fields or unusable media.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from musechat.contracts.api import (
    ErrorBody,
    Feedback,
    FeedbackAccepted,
    StartConversation,
    SubmissionAccepted,
    TrackBatch,
    TrackSubmission,
    TurnRequest,
    TurnResponse,
    VideoFromPath,
    VideoState,
)
from musechat.gateway.auth import SCOPE_CATALOG_WRITE, SCOPE_READ, ApiKeyRing, AuthError
from musechat.gateway.core import GatewayCore, NotFoundError
from musechat.gateway.settings import GatewaySettings
from musechat.gateway.state import StateError
from musechat.media.errors import MediaError
from musechat.observability import HttpMetricsMiddleware
from musechat.ranker.errors import RankingError

API_VERSION = "v1"
_UPLOAD_CHUNK = 1 << 20
_MEDIA_STATUS = {"too_large": 413, "not_found": 422}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 415, 422)
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content=ErrorBody(error=code, message=message).model_dump())


def _validation_message(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {error.get('msg')}")
    return "; ".join(parts)


@dataclass
class GatewayContext:
    core: GatewayCore
    keys: ApiKeyRing
    settings: GatewaySettings


# The one dependency of every route: the caller's key is checked for the route's scope, and the route
# gets the gateway's context. A coroutine: it is microseconds of CPU, and a plain function would cost
# every request a hop through the thread pool.
def authenticated(required: str) -> Any:
    async def check(request: Request, authorization: Annotated[str | None, Header()] = None) -> GatewayContext:
        context: GatewayContext = request.app.state.context
        context.keys.authenticate(authorization, required)
        return context

    return Depends(check)


Reader = Annotated[GatewayContext, authenticated(SCOPE_READ)]
CatalogWriter = Annotated[GatewayContext, authenticated(SCOPE_CATALOG_WRITE)]


def _json(body: BaseModel, status_code: int = 200) -> Response:
    """The route's own model, serialised once: FastAPI would validate it against `response_model` again."""
    return Response(body.model_dump_json(), status_code=status_code, media_type="application/json")


def create_app(context: GatewayContext | None = None) -> FastAPI:
    """The routes; `context` (core, keys, settings) is bound at start-up, or later via `app.state`."""
    app = FastAPI(title="MuseChat API", version=API_VERSION,
                  description="Conversational music recommendation for videos. Authenticate with "
                              "`Authorization: Bearer <api key>`.")
    app.state.context = context
    app.add_middleware(HttpMetricsMiddleware, service="gateway")

    @app.exception_handler(AuthError)
    async def _auth(_: Request, error: AuthError) -> JSONResponse:
        return _error(error.status, error.code, error.message)

    @app.exception_handler(ApiError)
    async def _api(_: Request, error: ApiError) -> JSONResponse:
        return _error(error.status, error.code, error.message)

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, error: NotFoundError) -> JSONResponse:
        return _error(404, error.code, error.message)

    @app.exception_handler(RankingError)
    async def _ranking(_: Request, error: RankingError) -> JSONResponse:
        return _error(error.status, error.code, error.message)

    @app.exception_handler(StateError)
    async def _state(_: Request, error: StateError) -> JSONResponse:
        return _error(404, "conversation_not_found", f"unknown conversation state: {error}")

    @app.exception_handler(MediaError)
    async def _media(_: Request, error: MediaError) -> JSONResponse:
        return _error(_MEDIA_STATUS.get(error.code, 422), error.code, error.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = error.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "malformed_json", "the request body is not valid JSON: " + _validation_message(errors))
        return _error(422, "invalid_request", _validation_message(errors))

    # ---------------------------------------------------------------- catalog (admin scope)
    @app.post("/v1/tracks", status_code=202, response_model=SubmissionAccepted, responses=_ERRORS,
              tags=["catalog"])
    def submit_track(body: TrackSubmission, ctx: CatalogWriter) -> SubmissionAccepted:
        return ctx.core.submit_tracks([body])

    @app.post("/v1/tracks:batch", status_code=202, response_model=SubmissionAccepted, responses=_ERRORS,
              tags=["catalog"])
    def submit_tracks(body: TrackBatch, ctx: CatalogWriter) -> SubmissionAccepted:
        return ctx.core.submit_tracks(body.tracks)

    # ---------------------------------------------------------------- videos
    @app.post("/v1/videos", status_code=202, response_model=VideoState, responses=_ERRORS,
              tags=["videos"],
              openapi_extra={"requestBody": {"content": {
                  "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                      "file": {"type": "string", "format": "binary"}}}},
                  "application/json": {"schema": VideoFromPath.model_json_schema()}}}})
    async def submit_video(request: Request, ctx: Reader) -> VideoState:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            path, name = await _spool_upload(request, ctx.settings)
        elif content_type == "application/json":
            path, name = _server_side_path(await _json_body(request, VideoFromPath), ctx.settings), None
        else:
            raise ApiError(415, "unsupported_media_type",
                           "send the video as multipart/form-data (field 'file') or JSON {\"path\": ...}")
        await run_in_threadpool(_validate_video, path, name, ctx.settings)
        return await run_in_threadpool(ctx.core.submit_video, path)

    @app.get("/v1/videos/{video_id}", response_model=VideoState, responses=_ERRORS,
             tags=["videos"])
    def get_video(video_id: str, ctx: Reader) -> VideoState:
        return ctx.core.video_state(video_id)

    # ---------------------------------------------------------------- conversations (the hot path: async)
    @app.post("/v1/conversations", status_code=201, response_model=TurnResponse, responses=_ERRORS,
              tags=["conversations"])
    async def start_conversation(body: StartConversation, ctx: Reader) -> Response:
        return _json(await ctx.core.start(body), status_code=201)

    @app.post("/v1/conversations/{conversation_id}/turns", response_model=TurnResponse, responses=_ERRORS,
              tags=["conversations"])
    async def conversation_turn(conversation_id: str, body: TurnRequest, ctx: Reader) -> Response:
        return _json(await ctx.core.turn(conversation_id, body))

    @app.post("/v1/conversations/{conversation_id}/feedback", response_model=FeedbackAccepted,
              responses=_ERRORS, tags=["conversations"])
    async def conversation_feedback(conversation_id: str, body: Feedback, ctx: Reader) -> Response:
        return _json(await ctx.core.feedback(conversation_id, body))

    return app


async def _json_body(request: Request, model: type[VideoFromPath]) -> VideoFromPath:
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        if any(e.get("type") == "json_invalid" for e in error.errors()):
            raise ApiError(400, "malformed_json", "the request body is not valid JSON") from error
        raise ApiError(422, "invalid_request", _validation_message(error.errors())) from error


def _server_side_path(body: VideoFromPath, settings: GatewaySettings) -> Path:
    path = Path(body.path).resolve()
    if not any(path.is_relative_to(root.resolve()) for root in settings.media_roots):
        roots = ", ".join(str(r) for r in settings.media_roots) or "none configured"
        raise ApiError(422, "path_not_allowed", f"{body.path} is outside the media roots ({roots}); upload it")
    return path


async def _spool_upload(request: Request, settings: GatewaySettings) -> tuple[Path, str | None]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + _UPLOAD_CHUNK:
        raise ApiError(413, "too_large", f"uploads are limited to {settings.max_upload_bytes // 2**20} MiB")
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception as error:  # starlette raises several types for broken multipart bodies
        raise ApiError(400, "malformed_multipart", f"the multipart body could not be parsed: {error}") from error
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ApiError(422, "invalid_request", "multipart field 'file' with the video is required")
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.filename or "").suffix.lower()[:8]
    target = settings.upload_dir / f"upload-{uuid.uuid4().hex}{suffix}"
    written = 0
    with tempfile.NamedTemporaryFile(dir=settings.upload_dir, delete=False) as spool:
        while chunk := await upload.read(_UPLOAD_CHUNK):
            written += len(chunk)
            if written > settings.max_upload_bytes:
                spool.close()
                Path(spool.name).unlink(missing_ok=True)
                raise ApiError(413, "too_large",
                               f"uploads are limited to {settings.max_upload_bytes // 2**20} MiB")
            spool.write(chunk)
    shutil.move(spool.name, target)
    return target, upload.filename


def _validate_video(path: Path, name: str | None, settings: GatewaySettings) -> None:
    """Reject unusable videos now, with a specific reason, rather than as a failed status later."""
    from musechat.media.video import decode_video

    try:
        decode_video(path, fps=1.0, frame_size=16, max_duration_s=settings.max_video_seconds,
                     max_bytes=settings.max_upload_bytes, name=name)
    except MediaError:
        if path.is_relative_to(settings.upload_dir.resolve()) or path.parent == settings.upload_dir:
            path.unlink(missing_ok=True)
        raise
