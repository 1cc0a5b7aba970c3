"""Conversations, the hot path: every route is a coroutine on the server's event loop."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from musechat.contracts.api import Feedback, FeedbackAccepted, StartConversation, TurnRequest, TurnResponse
from musechat.gateway.context import Reader, json_response
from musechat.gateway.http_errors import ERROR_RESPONSES

router = APIRouter(tags=["conversations"], responses=ERROR_RESPONSES)


@router.post("/v1/conversations", status_code=201, response_model=TurnResponse)
async def start_conversation(body: StartConversation, ctx: Reader) -> Response:
    return json_response(await ctx.core.start(body, ctx.tenant), status_code=201)


@router.post("/v1/conversations/{conversation_id}/turns", response_model=TurnResponse)
async def conversation_turn(conversation_id: str, body: TurnRequest, ctx: Reader) -> Response:
    return json_response(await ctx.core.turn(conversation_id, body, ctx.tenant))


@router.post("/v1/conversations/{conversation_id}/feedback", response_model=FeedbackAccepted)
async def conversation_feedback(conversation_id: str, body: Feedback, ctx: Reader) -> Response:
    return json_response(await ctx.core.feedback(conversation_id, body, ctx.tenant))
