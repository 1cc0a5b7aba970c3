"""Where an encoder request's bytes come from: inline base64, or a server-side path that must resolve
(symlinks followed) inside an allowed root, so a client cannot make an encoder read arbitrary files.
Shared by the music and video encoders."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from musechat.errors import MuseChatError

RequestErrorCode = Literal["invalid_request", "path_not_allowed", "too_large"]


class RequestError(MuseChatError):
    """A request that names no usable source (bad base64, a path outside the allowed roots, too big)."""

    status = 422

    def __init__(self, code: RequestErrorCode, message: str) -> None:
        super().__init__(message, status=413 if code == "too_large" else 422)
        self.code: RequestErrorCode = code


def resolve_source(*, encoded: str | None, field: str, path: str | None, filename: str | None,
                   allowed_roots: Sequence[Path], max_bytes: int, what: str) -> tuple[Path | bytes, str]:
    """(bytes or resolved path, a name for error messages). Exactly one of `encoded` / `path` is set."""
    if encoded is not None:
        if len(encoded) > math.ceil(max_bytes / 3) * 4:
            raise RequestError("too_large", f"upload exceeds the {max_bytes} byte limit")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestError("invalid_request", f"{field} is not valid base64: {exc}") from exc
        return data, filename or f"the uploaded {what}"
    assert path is not None  # the request models guarantee exactly one source
    if not allowed_roots:
        raise RequestError("path_not_allowed", "path inputs are disabled on this encoder (no allowed roots)")
    resolved = Path(path).resolve()
    if not any(resolved.is_relative_to(root.resolve()) for root in allowed_roots):
        raise RequestError("path_not_allowed", f"{path} is outside the encoder's allowed roots")
    if resolved.is_file() and resolved.stat().st_size > max_bytes:
        raise RequestError("too_large", f"{path} exceeds the {max_bytes} byte limit")
    return resolved, filename or path
