"""Idempotency-Key on the routes that create things (video uploads, track submissions).

A client that lost the answer to an upload retries with the same `Idempotency-Key` and gets the first
answer again (header `Idempotent-Replayed: true`) instead of a second video; a retry that arrives while the
first is still running gets 409 `idempotency_key_in_use`; the same key with a different body gets 422
`idempotency_key_reused`. Keys are scoped by API key and remembered for `max_age_s` in this process (a
client retries against the replica that answered, or, behind a balancer, may create one duplicate — for
tracks harmless: their event ids are derived from the submission, and consumers dedupe on them).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from musechat.errors import MuseChatError
from musechat.lru import ExpiringLru

HEADER = "idempotency-key"
_SANE = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    status: int
    body: bytes


class IdempotencyCache:
    def __init__(self, max_entries: int = 10_000, max_age_s: float = 24 * 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._done: ExpiringLru[tuple[str, str], Stored] = ExpiringLru(max_entries, max_age_s, clock)
        self._running: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    async def run(self, request: Request, owner: str, fingerprint: str,
                  handler: Callable[[], Awaitable[Response]]) -> Response:
        """Answer via `handler`, or replay the answer stored under the request's Idempotency-Key."""
        key = request.headers.get(HEADER)
        if key is None:
            return await handler()
        if not _SANE.fullmatch(key):
            raise MuseChatError("Idempotency-Key must be 1-255 printable ASCII characters", status=422,
                                code="invalid_request")
        slot = (owner, key)
        with self._lock:
            stored = self._done.get(slot)
            if stored is None:
                if slot in self._running:
                    raise MuseChatError("a request with this Idempotency-Key is still running; retry later",
                                        status=409, code="idempotency_key_in_use")
                self._running.add(slot)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise MuseChatError("this Idempotency-Key was used for a different request", status=422,
                                    code="idempotency_key_reused")
            return Response(stored.body, status_code=stored.status, media_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
        try:
            response = await handler()
            if 200 <= response.status_code < 300:
                self._done.put(slot, Stored(fingerprint, response.status_code, bytes(response.body)))
            return response
        finally:
            with self._lock:
                self._running.discard(slot)


def fingerprint(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()
