"""Catalog submission (the admin scope `catalog:write`): tracks go to Kafka and are ingested asynchronously."""

from __future__ import annotations

from fastapi import APIRouter

from musechat.contracts.api import SubmissionAccepted, TrackBatch, TrackSubmission
from musechat.gateway.context import CatalogWriter
from musechat.gateway.http_errors import ERROR_RESPONSES

router = APIRouter(tags=["catalog"], responses=ERROR_RESPONSES)


@router.post("/v1/tracks", status_code=202, response_model=SubmissionAccepted)
def submit_track(body: TrackSubmission, ctx: CatalogWriter) -> SubmissionAccepted:
    return ctx.core.submit_tracks([body])


@router.post("/v1/tracks:batch", status_code=202, response_model=SubmissionAccepted)
def submit_tracks(body: TrackBatch, ctx: CatalogWriter) -> SubmissionAccepted:
    return ctx.core.submit_tracks(body.tracks)
