"""What every route depends on: the gateway's context (core, keys, settings) and the caller's key.

The one dependency of every route checks the caller's key for the route's scope and hands the route the
context bound at start-up (`app.state.context`). It is a coroutine: microseconds of CPU, and a plain
function would cost every request a hop through the thread pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from musechat.gateway.auth import SCOPE_CATALOG_WRITE, SCOPE_READ, ApiKey, ApiKeyRing
from musechat.gateway.core import GatewayCore
from musechat.gateway.idempotency import IdempotencyCache
from musechat.gateway.ratelimit import STATE_KEY as RATE_STATE
from musechat.gateway.ratelimit import RateLimitedError, RateLimiter
from musechat.gateway.settings import GatewaySettings


@dataclass
class GatewayContext:
    core: GatewayCore
    keys: ApiKeyRing
    settings: GatewaySettings
    limiter: RateLimiter | None = field(default=None)
    idempotency: IdempotencyCache = field(default_factory=IdempotencyCache)

    def __post_init__(self) -> None:
        if self.limiter is None and self.settings.rate_limit_per_s > 0:
            self.limiter = RateLimiter(self.settings.rate_limit_per_s, self.settings.rate_limit_burst)


@dataclass(frozen=True)
class Caller:
    """A route's view of one request: the gateway's parts and the key that authenticated it."""

    context: GatewayContext
    key: ApiKey

    @property
    def core(self) -> GatewayCore:
        return self.context.core

    @property
    def settings(self) -> GatewaySettings:
        return self.context.settings

    @property
    def tenant(self) -> str:
        return self.key.tenant


def authenticated(required: str) -> Any:
    async def check(request: Request) -> Caller:
        context: GatewayContext = request.app.state.context
        key = context.keys.authenticate(request.headers.get("authorization"), required)
        if context.limiter is not None:  # after authentication: an anonymous flood cannot drain a key's quota
            try:
                quota = context.limiter.take(key.sha256)
            except RateLimitedError as error:
                request.scope.setdefault("state", {})[RATE_STATE] = error.quota
                raise
            request.scope.setdefault("state", {})[RATE_STATE] = quota
        return Caller(context, key)

    return Depends(check)


Reader = Annotated[Caller, authenticated(SCOPE_READ)]
CatalogWriter = Annotated[Caller, authenticated(SCOPE_CATALOG_WRITE)]


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    """The route's own model, serialised once: FastAPI would validate it against `response_model` again."""
    return Response(body.model_dump_json(), status_code=status_code, media_type="application/json")
