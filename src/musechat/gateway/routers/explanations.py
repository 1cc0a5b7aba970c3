"""Explanations, streamed: `GET /v1/explanations/{ticket}` (the `stream` URL of a turn's explanation).

`Accept: text/event-stream` (the default) streams server-sent events — `delta` (text as it is generated),
`reset` (discard the deltas so far: a retry or the template follows) and one `final` whose `result` is
authoritative (grounded text, fallback flag, reason). `Accept: application/json` waits and returns the
final `ExplanationOut`. The turn itself never waits for the LLM.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from musechat.errors import MuseChatError
from musechat.explain.schema import ExplanationOut
from musechat.gateway.context import Reader, json_response
from musechat.gateway.explanations import StreamingExplainer, final_of, sse
from musechat.gateway.http_errors import ERROR_RESPONSES

router = APIRouter(tags=["conversations"], responses=ERROR_RESPONSES)


@router.get("/v1/explanations/{ticket}", response_model=ExplanationOut,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def explanation(ticket: str, request: Request, ctx: Reader) -> Response:
    port = ctx.core.explainer
    if not isinstance(port, StreamingExplainer):
        raise MuseChatError("no explainer is configured on this gateway", status=404, code="explainer_not_configured")
    body = await run_in_threadpool(port.body, ticket, ctx.tenant)  # verified before any byte is sent
    events = port.engine.stream(body)
    if "application/json" in request.headers.get("accept", "") and "text/event-stream" not in request.headers.get(
            "accept", ""):
        final = await run_in_threadpool(final_of, events)
        assert final.result is not None
        return json_response(final.result)
    # A sync iterator: Starlette runs each step in its thread pool, so generation never blocks the loop.
    return StreamingResponse(sse(events), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
