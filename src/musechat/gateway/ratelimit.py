"""Per-key rate limits: a token bucket per API key (refilled at `rate_per_s`, holding `burst`), checked
right after authentication. Over the limit: 429 `rate_limited` with `Retry-After`; every authenticated
answer carries the IETF draft's `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers.

The buckets live in this process: with N gateway replicas behind a balancer a key gets up to N times the
rate (set the limit per replica accordingly). Keys are few (one per client), so the table stays small.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import Message, Receive, Scope, Send

from musechat.errors import MuseChatError
from musechat.gateway.middleware import HttpMiddleware

STATE_KEY = "musechat_ratelimit"


@dataclass
class Quota:
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"ratelimit-limit", str(self.limit).encode()), (b"ratelimit-remaining", str(self.remaining).encode()),
                (b"ratelimit-reset", str(self.reset_s).encode())]


class RateLimitedError(MuseChatError):
    status, code = 429, "rate_limited"

    def __init__(self, quota: Quota) -> None:
        super().__init__(f"too many requests for this API key: retry in {quota.reset_s} s")
        self.quota = quota


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate_per_s, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> Quota:
        """One request for `key`: its quota after this request, or `RateLimitedError` when none is left."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
        reset = math.ceil((1.0 - tokens) / self.rate) if tokens < 1.0 else 0
        quota = Quota(self.burst, int(tokens), max(reset, 1) if not allowed else reset)
        if not allowed:
            raise RateLimitedError(quota)
        return quota


class RateLimitHeadersMiddleware(HttpMiddleware):
    """Copies the quota the auth dependency left in the request's state onto the response headers."""

    async def handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                quota = scope.get("state", {}).get(STATE_KEY)
                if isinstance(quota, Quota):
                    extra = quota.headers()
                    if message.get("status") == 429:
                        extra.append((b"retry-after", str(quota.reset_s).encode()))
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_quota)
