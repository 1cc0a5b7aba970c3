"""Videos: uploaded (multipart) or named by server-side path, checked, then encoded asynchronously (202)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from musechat.contracts.api import VideoFromPath, VideoState
from musechat.gateway.context import Caller, Reader, json_response
from musechat.gateway.core import NotFoundError
from musechat.gateway.http_errors import ERROR_RESPONSES, ApiError
from musechat.gateway.idempotency import fingerprint
from musechat.gateway.uploads import (
    is_upload,
    json_body,
    server_side_path,
    spool_upload,
    sweep_uploads,
    validate_video,
)

VIDEO_ID_PATTERN, VIDEO_ID_MAX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*"), 128
router = APIRouter(tags=["videos"], responses=ERROR_RESPONSES)

_UPLOAD_BODY = {"requestBody": {"content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}}}},
    "application/json": {"schema": VideoFromPath.model_json_schema()}}}}


@router.post("/v1/videos", status_code=202, response_model=VideoState, openapi_extra=_UPLOAD_BODY)
async def submit_video(request: Request, ctx: Reader) -> Response:
    """Honours `Idempotency-Key`: a retried upload answers the first video id (the retry's bytes are not
    read again; a JSON path must be the same path)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    digest = fingerprint(content_type, await request.body() if content_type == "application/json" else b"")

    async def submit() -> Response:
        return json_response(await _submit_video(request, ctx, content_type), status_code=202)

    return await ctx.context.idempotency.run(request, ctx.key.sha256, digest, submit)


async def _submit_video(request: Request, ctx: Caller, content_type: str) -> VideoState:
    if content_type == "multipart/form-data":
        await run_in_threadpool(sweep_uploads, ctx.settings)
        path, name = await spool_upload(request, ctx.settings)
    elif content_type == "application/json":
        path, name = server_side_path(await json_body(request, VideoFromPath), ctx.settings), None
    else:
        raise ApiError(415, "unsupported_media_type",
                       "send the video as multipart/form-data (field 'file') or JSON {\"path\": ...}")
    await run_in_threadpool(validate_video, path, name, ctx.settings)
    return await run_in_threadpool(ctx.core.submit_video, path, None, ctx.tenant)


@router.get("/v1/videos/{video_id}", response_model=VideoState)
def get_video(video_id: str, ctx: Reader) -> VideoState:
    return ctx.core.video_state(known_video_id(video_id), ctx.tenant)


@router.delete("/v1/videos/{video_id}", status_code=204, response_class=Response)
def delete_video(video_id: str, ctx: Reader) -> Response:
    """Forget the video: its features, its status, and its uploaded file. Conversations on it end (404)."""
    source = ctx.core.delete_video(known_video_id(video_id), ctx.tenant)
    if source is not None and is_upload(source, ctx.settings):
        source.unlink(missing_ok=True)
    return Response(status_code=204)

def known_video_id(video_id: str) -> str:
    """An id of a shape no video can have (NUL bytes, too long) is unknown: 404 here, not 500 in the store."""
    if len(video_id) > VIDEO_ID_MAX or not VIDEO_ID_PATTERN.fullmatch(video_id):
        raise NotFoundError("video_not_found", "unknown video: submit it with POST /v1/videos")
    return video_id
