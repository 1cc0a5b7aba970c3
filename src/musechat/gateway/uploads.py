"""Getting a video into the gateway: a multipart upload spooled to the upload folder, or a server-side
path inside the media roots; either is checked before it is accepted (a specific 4xx now rather than a
failed status later)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

from fastapi import Request
from pydantic import ValidationError

from musechat.contracts.api import VideoFromPath
from musechat.gateway.http_errors import ApiError, validation_message
from musechat.gateway.settings import GatewaySettings
from musechat.media.errors import MediaError

UPLOAD_CHUNK = 1 << 20


async def json_body(request: Request, model: type[VideoFromPath]) -> VideoFromPath:
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        if any(e.get("type") == "json_invalid" for e in error.errors()):
            raise ApiError(400, "malformed_json", "the request body is not valid JSON") from error
        raise ApiError(422, "invalid_request", validation_message(error.errors())) from error


def server_side_path(body: VideoFromPath, settings: GatewaySettings) -> Path:
    path = Path(body.path).resolve()
    if not any(path.is_relative_to(root.resolve()) for root in settings.media_roots):
        roots = ", ".join(str(r) for r in settings.media_roots) or "none configured"
        raise ApiError(422, "path_not_allowed", f"{body.path} is outside the media roots ({roots}); upload it")
    return path


async def spool_upload(request: Request, settings: GatewaySettings) -> tuple[Path, str | None]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + UPLOAD_CHUNK:
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
        while chunk := await upload.read(UPLOAD_CHUNK):
            written += len(chunk)
            if written > settings.max_upload_bytes:
                spool.close()
                Path(spool.name).unlink(missing_ok=True)
                raise ApiError(413, "too_large",
                               f"uploads are limited to {settings.max_upload_bytes // 2**20} MiB")
            spool.write(chunk)
    shutil.move(spool.name, target)
    return target, upload.filename


def validate_video(path: Path, name: str | None, settings: GatewaySettings) -> None:
    """Reject unusable videos now, with a specific reason, rather than as a failed status later."""
    from musechat.media.video import decode_video

    try:
        decode_video(path, fps=1.0, frame_size=16, max_duration_s=settings.max_video_seconds,
                     max_bytes=settings.max_upload_bytes, name=name)
    except MediaError:
        if path.is_relative_to(settings.upload_dir.resolve()) or path.parent == settings.upload_dir:
            path.unlink(missing_ok=True)
        raise
