"""The facts-only ranker: the gateway's `BatchRanker` when no fusion model fits the catalog.

`musechat serve --catalog` selects it (`MUSECHAT_GATEWAY_RANKER=facts`) when the catalog's features are
not the ones a fusion checkpoint was trained on. Each turn is answered as `musechat recommend` answers
it: the typed request the gateway already read from the words (`RankRequest.understood`) becomes the
facts path's request (`musechat.catalog.recommend.from_understood`) and every track passing the hard
filters is scored by its measured facts, fused with nothing. The video is not read: the embedded video
encoder is random-init, so its features say nothing about the music (README).

Each request scrolls the tracks that pass its filters (facts and the response fields only, no
features): linear in the catalog, which is what a personal catalog of hundreds to a few thousand
tracks affords; a larger one wants the fusion path's ANN search.
"""

from __future__ import annotations

from typing import Any

from musechat.catalog.facts import facts_of
from musechat.catalog.recommend import Pick, from_understood, rank, shortfall
from musechat.contracts.api import RecommendedTrack
from musechat.contracts.catalog import TRACKS_COLLECTION
from musechat.contracts.music import TrackFacts
from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.ranker.core import RESPONSE_FIELDS, search_filter
from musechat.ranker.errors import RankingError, TrackNotFoundError
from musechat.store import VectorStore

FACTS_ONLY_VERSION = "facts-only"
_FIELDS = ("track_id", *RESPONSE_FIELDS, "facts")


class FactsRanker:
    """Ranks turns by the catalog's measured facts alone (the `BatchRanker` protocol)."""

    def __init__(self, store: VectorStore) -> None:
        self._store = store

    def rank_many(self, requests: list[RankRequest]) -> list[RankResponse | RankingError]:
        collection = self._store.resolve(TRACKS_COLLECTION)
        answers: list[RankResponse | RankingError] = []
        for request in requests:
            try:
                answers.append(self._rank(collection, request))
            except RankingError as error:
                answers.append(error)
        return answers

    def _rank(self, collection: str, request: RankRequest) -> RankResponse:
        candidate, candidate_duration_s = self._candidate(collection, request.candidate_track_id)
        payloads = {str(record.payload["track_id"]): record.payload for record in self._store.scroll(
            collection, filter=search_filter(request.filters), fields=list(_FIELDS))}
        excluded = {*request.exclude_track_ids, *([request.candidate_track_id] if request.candidate_track_id else [])}
        wanted = from_understood(request.understood)
        picks = rank(payloads.values(), wanted, limit=request.limit, exclude=sorted(excluded), candidate=candidate,
                     candidate_duration_s=candidate_duration_s)
        missing = None
        if len(picks) < request.limit:  # say why: what the store's filters and the facts' refusals removed
            missing = (f"{len(picks)} of {request.limit} asked: the applied filters leave {len(payloads)} of the "
                       f"catalog's {self._store.count(collection)} tracks; "
                       + shortfall(payloads.values(), wanted, exclude=sorted(excluded), scope="left with facts"))
        return RankResponse(tracks=[_recommended(pick, payloads[pick.track_id]) for pick in picks],
                            model_version=FACTS_ONLY_VERSION, index_collection=collection, shortfall=missing)

    def _candidate(self, collection: str, track_id: str | None) -> tuple[TrackFacts | None, float | None]:
        """The previous pick's facts and length: what "faster"/"slower", "more"/"less" and "shorter"/"longer"
        are relative to."""
        if track_id is None:
            return None, None
        records = self._store.retrieve(collection, [track_id])
        if not records:
            raise TrackNotFoundError(f"unknown candidate track {track_id!r}")
        duration = records[0].payload.get("duration_s")
        return facts_of(records[0].payload), float(duration) if isinstance(duration, int | float) else None


def _recommended(pick: Pick, payload: dict[str, Any]) -> RecommendedTrack:
    return RecommendedTrack(
        track_id=pick.track_id, title=payload["title"], artist=payload["artist"], album=payload.get("album"),
        licence=payload.get("licence"), duration_s=payload["duration_s"], tags=payload["tags"], score=pick.score)
