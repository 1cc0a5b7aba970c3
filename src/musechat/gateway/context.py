"""What every route depends on: the gateway's context (core, keys, settings) and the caller's key.

The one dependency of every route checks the caller's key for the route's scope and hands the route the
context bound at start-up (`app.state.context`). It is a coroutine: microseconds of CPU, and a plain
function would cost every request a hop through the thread pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel

from musechat.gateway.auth import SCOPE_CATALOG_WRITE, SCOPE_READ, ApiKey, ApiKeyRing
from musechat.gateway.core import GatewayCore
from musechat.gateway.settings import GatewaySettings


@dataclass
class GatewayContext:
    core: GatewayCore
    keys: ApiKeyRing
    settings: GatewaySettings


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
    async def check(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
        context: GatewayContext = request.app.state.context
        key = context.keys.authenticate(authorization, required)
        request.state.api_key = key  # for what runs after the route (rate limits, logs)
        return Caller(context, key)

    return Depends(check)


Reader = Annotated[Caller, authenticated(SCOPE_READ)]
CatalogWriter = Annotated[Caller, authenticated(SCOPE_CATALOG_WRITE)]


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    """The route's own model, serialised once: FastAPI would validate it against `response_model` again."""
    return Response(body.model_dump_json(), status_code=status_code, media_type="application/json")
