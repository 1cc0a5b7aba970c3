"""Catalog submission (the admin scope `catalog:write`): tracks go to Kafka and are ingested asynchronously."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from musechat.contracts.api import SubmissionAccepted, TrackBatch, TrackSubmission
from musechat.gateway.context import Caller, CatalogWriter, json_response
from musechat.gateway.http_errors import ERROR_RESPONSES
from musechat.gateway.idempotency import fingerprint

router = APIRouter(tags=["catalog"], responses=ERROR_RESPONSES)


@router.post("/v1/tracks", status_code=202, response_model=SubmissionAccepted)
async def submit_track(body: TrackSubmission, request: Request, ctx: CatalogWriter) -> Response:
    return await _submit(request, ctx, [body])


@router.post("/v1/tracks:batch", status_code=202, response_model=SubmissionAccepted)
async def submit_tracks(body: TrackBatch, request: Request, ctx: CatalogWriter) -> Response:
    return await _submit(request, ctx, body.tracks)


async def _submit(request: Request, ctx: Caller, tracks: list[TrackSubmission]) -> Response:
    """Honours `Idempotency-Key`: a retried submission answers its first batch id."""

    async def submit() -> Response:
        return json_response(await run_in_threadpool(ctx.core.submit_tracks, tracks), status_code=202)

    digest = fingerprint(*(t.model_dump_json() for t in tracks))
    return await ctx.context.idempotency.run(request, ctx.key.sha256, digest, submit)
