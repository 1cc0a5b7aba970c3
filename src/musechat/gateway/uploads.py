"""Getting a video into the gateway: a multipart upload spooled to the upload folder, or a server-side
path inside the media roots; either is checked before it is accepted (a specific 4xx now rather than a
failed status later)."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import BinaryIO

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from musechat.contracts.api import VideoFromPath
from musechat.gateway.http_errors import ApiError, validation_message
from musechat.gateway.settings import GatewaySettings

UPLOAD_CHUNK = 1 << 20
_SUFFIX = re.compile(r"\.[a-z0-9]{1,7}")


async def json_body(request: Request, model: type[VideoFromPath]) -> VideoFromPath:
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        if any(e.get("type") == "json_invalid" for e in error.errors()):
            raise ApiError(400, "malformed_json", "the request body is not valid JSON") from error
        raise ApiError(422, "invalid_request", validation_message(error.errors())) from error


def server_side_path(body: VideoFromPath, settings: GatewaySettings) -> Path:
    if "\x00" in body.path:
        raise ApiError(422, "invalid_request", "path: must not contain NUL bytes")
    path = Path(body.path).resolve()
    if not any(path.is_relative_to(root.resolve()) for root in settings.media_roots):
        roots = ", ".join(str(r) for r in settings.media_roots) or "none configured"
        raise ApiError(422, "path_not_allowed", f"{body.path} is outside the media roots ({roots}); upload it")
    return path


async def spool_upload(request: Request, settings: GatewaySettings) -> tuple[Path, str | None]:
    """The multipart field `file` written to the upload folder (the body's size is capped upstream, by
    `BodyLimitMiddleware`, as it streams in). Nothing is left behind when the upload is refused."""
    try:
        form = await request.form(max_files=1, max_fields=4)
    except HTTPException:  # the body limit, raised while the parser was reading
        raise
    except Exception as error:  # starlette raises several types for broken multipart bodies
        raise ApiError(400, "malformed_multipart", f"the multipart body could not be parsed: {error}") from error
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ApiError(422, "invalid_request", "multipart field 'file' with the video is required")
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    target = settings.upload_dir / f"upload-{uuid.uuid4().hex}{_safe_suffix(upload.filename)}"
    # The copy runs in a worker thread: chunked reads and writes of a large upload on the event loop
    # stalled every concurrent turn for their duration (the isolation bench's p99 under attack).
    await run_in_threadpool(_spool_to, upload.file, target, settings)
    return target, _printable(upload.filename)


def _spool_to(source: BinaryIO, target: Path, settings: GatewaySettings) -> None:
    written = 0
    with tempfile.NamedTemporaryFile(dir=settings.upload_dir, prefix=".spool-", delete=False) as spool:
        try:
            while chunk := source.read(UPLOAD_CHUNK):
                written += len(chunk)
                if written > settings.max_upload_bytes:
                    raise ApiError(413, "too_large",
                                   f"uploads are limited to {settings.max_upload_bytes // 2**20} MiB")
                spool.write(chunk)
        except BaseException:
            spool.close()
            Path(spool.name).unlink(missing_ok=True)
            raise
    shutil.move(spool.name, target)


def _safe_suffix(filename: str | None) -> str:
    """The file's extension if it is plain (letters and digits); the name itself never reaches the disk."""
    suffix = Path((filename or "").replace("\x00", "")).suffix.lower()[:8]
    return suffix if _SUFFIX.fullmatch(suffix) else ""


def _printable(filename: str | None) -> str | None:
    """The client's file name as error messages quote it: control characters dropped, at most 200."""
    if filename is None:
        return None
    return "".join(ch for ch in filename if ch.isprintable())[:200] or None


def validate_video(path: Path, name: str | None, settings: GatewaySettings) -> None:
    """Reject unusable videos now, with a specific reason, rather than as a failed status later. The
    frame size and rate are read from the stream header first: a 4K clip is refused before decoding."""
    from musechat.media.video import decode_video

    try:
        decode_video(path, fps=1.0, frame_size=16, max_duration_s=settings.max_video_seconds,
                     max_bytes=settings.max_upload_bytes, name=name, max_pixels=settings.max_video_pixels,
                     max_fps=settings.max_video_fps)
    except BaseException:
        if is_upload(path, settings):
            path.unlink(missing_ok=True)
        raise


def is_upload(path: Path, settings: GatewaySettings) -> bool:
    return path.parent.resolve() == settings.upload_dir.resolve()


_SPOOL_GRACE_S = 3600.0  # a half-written spool older than this belongs to a request that died


def sweep_uploads(settings: GatewaySettings, now: float | None = None) -> int:
    """Delete uploads older than `upload_retention_s` (and abandoned spools): the video worker read them
    long ago, and the features live in the store. Run before each upload (a listing of one folder), so
    the folder is bounded without a timer thread. Returns how many files went."""
    if not settings.upload_dir.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for path in settings.upload_dir.iterdir():
        limit = settings.upload_retention_s if path.name.startswith("upload-") else _SPOOL_GRACE_S
        if not path.name.startswith(("upload-", ".spool-")):
            continue
        try:
            if now - path.stat().st_mtime > limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another request swept it first
    return removed
