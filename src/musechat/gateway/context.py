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

from musechat.gateway.auth import SCOPE_CATALOG_WRITE, SCOPE_READ, ApiKeyRing
from musechat.gateway.core import GatewayCore
from musechat.gateway.settings import GatewaySettings


@dataclass
class GatewayContext:
    core: GatewayCore
    keys: ApiKeyRing
    settings: GatewaySettings


def authenticated(required: str) -> Any:
    async def check(request: Request, authorization: Annotated[str | None, Header()] = None) -> GatewayContext:
        context: GatewayContext = request.app.state.context
        context.keys.authenticate(authorization, required)
        return context

    return Depends(check)


Reader = Annotated[GatewayContext, authenticated(SCOPE_READ)]
CatalogWriter = Annotated[GatewayContext, authenticated(SCOPE_CATALOG_WRITE)]


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    """The route's own model, serialised once: FastAPI would validate it against `response_model` again."""
    return Response(body.model_dump_json(), status_code=status_code, media_type="application/json")
