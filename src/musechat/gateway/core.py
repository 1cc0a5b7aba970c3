"""Gateway orchestration, free of HTTP: catalog submission, videos, and conversation turns.

A turn: verify the signed state → hard constraints parsed from the words join the filters → one text
encoding → one fusion-ranker call (video + candidate + words, candidate and rejected tracks excluded)
→ a turn event on Kafka → a new signed state. Turn 1 is the video alone.

The conversation methods are coroutines, awaited on the server's event loop (the hot path); catalog and
video submission are plain calls, which the API runs in its thread pool.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from musechat.contracts.api import (
    Explanation,
    Feedback,
    FeedbackAccepted,
    RecommendedTrack,
    StartConversation,
    SubmissionAccepted,
    TrackSubmission,
    TurnRequest,
    TurnResponse,
    VideoState,
    VideoStatus,
)
from musechat.contracts.catalog import TrackSubmitted, submission_event_id
from musechat.contracts.conversation import DEFAULT_TENANT, ConversationTurn, FeedbackGiven, VideoSubmitted
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.contracts.topics import Topic
from musechat.errors import MuseChatError
from musechat.gateway.ports import RankerPort, TextEncoderPort
from musechat.gateway.state import ConversationState, StateSigner, VersionBook
from musechat.registry.metrics import observe_served
from musechat.understanding import from_filters, to_filters, understand
from musechat.video.registry import VideoRegistry

log = logging.getLogger(__name__)
SOURCE = "musechat/gateway"


class EventSink(Protocol):
    """Where the core's events go: the durable outbox (the gateway's runtime) or a producer itself."""

    def publish(self, topic: str, event: EventEnvelope[Any]) -> None: ...

    def publish_many(self, topic: str, events: Iterable[EventEnvelope[Any]]) -> int: ...

    async def publish_async(self, topic: str, event: EventEnvelope[Any]) -> None: ...


class ExplainerPort(Protocol):
    def explain(self, track: RecommendedTrack, words: str | None, history: list[str], others: list[str],
                previous: str | None = None, video_id: str | None = None, tenant: str | None = None) -> Explanation: ...


class NotFoundError(MuseChatError):
    status = 404

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def _event(topic: Topic, subject: str, data: Any, event_id: str | None = None) -> EventEnvelope[Any]:
    return EventEnvelope[Any](
        id=event_id or str(uuid.uuid4()), type=topic.event_type, source=SOURCE, subject=subject, data=data)


class GatewayCore:
    def __init__(self, producer: EventSink, videos: VideoRegistry, text: TextEncoderPort,
                 ranker: RankerPort, signer: StateSigner, explainer: ExplainerPort | None = None) -> None:
        self._producer = producer
        self._videos = videos
        self._text = text
        self._ranker = ranker
        self._signer = signer
        self._explainer = explainer
        self._versions = VersionBook()

    # ------------------------------------------------------------------ catalog
    def submit_tracks(self, submissions: list[TrackSubmission]) -> SubmissionAccepted:
        batch_id = f"api-{uuid.uuid4().hex[:12]}"
        events = []
        for submission in submissions:
            payload = TrackSubmitted(track=submission.track, audio_path=submission.audio_path, batch_id=batch_id)
            events.append(_event(Topic.TRACK_SUBMITTED, submission.track.track_id, payload,
                                 submission_event_id(payload)))
        self._producer.publish_many(Topic.TRACK_SUBMITTED, events)
        return SubmissionAccepted(batch_id=batch_id, track_ids=[s.track.track_id for s in submissions])

    # ------------------------------------------------------------------ videos
    def submit_video(self, path: Path, video_id: str | None = None, tenant: str = DEFAULT_TENANT) -> VideoState:
        video_id = video_id or f"vid-{uuid.uuid4().hex}"
        self._videos.mark_pending(video_id, tenant, str(path))
        submitted = VideoSubmitted(video_id=video_id, path=str(path))
        self._producer.publish(Topic.VIDEO_SUBMITTED, _event(Topic.VIDEO_SUBMITTED, video_id, submitted))
        return VideoState(video_id=video_id, status=VideoStatus.PENDING)

    def video_state(self, video_id: str, tenant: str | None = None) -> VideoState:
        state = self._videos.state(video_id, tenant)
        if state is None:
            raise _unknown_video(video_id)
        return state

    def delete_video(self, video_id: str, tenant: str | None = None) -> Path | None:
        """Forget the video (features included); returns the file it was read from, for the caller to
        delete when it is an upload."""
        video = self._videos.owned(video_id, tenant)
        if video is None:
            raise _unknown_video(video_id)
        self._videos.delete(video)
        return Path(video.source_path) if video.source_path else None

    # ------------------------------------------------------------------ conversations
    async def start(self, request: StartConversation, tenant: str | None = None) -> TurnResponse:
        if tenant is not None and await asyncio.to_thread(self._videos.owned, request.video_id, tenant) is None:
            raise _unknown_video(request.video_id)  # another tenant's video is as unknown as a missing one
        conversation_id = f"conv-{uuid.uuid4().hex}"
        understood, filters, tokens = from_filters(request.filters), request.filters, None
        if request.text is not None:  # video + words, no previous pick: read like a turn's words
            understood = understand(request.text, understood)
            filters = to_filters(understood)
            [encoding] = await self._text.encode([request.text])
            tokens = encoding.tokens
        ranked = await self._ranker.rank(RankRequest(
            video_id=request.video_id, filters=filters, limit=request.limit, text_tokens=tokens,
            understood=understood if request.text is not None else None))
        state = ConversationState(conversation_id=conversation_id, video_id=request.video_id, turn=1,
                                  candidate_track_id=ranked.tracks[0].track_id if ranked.tracks else None,
                                  filters=filters, understood=understood, tenant=tenant or DEFAULT_TENANT)
        history = [request.text] if request.text is not None else []
        return await self._respond(state, ranked, text=request.text, candidate=None, explain=request.explain,
                                   history=history)

    async def turn(self, conversation_id: str, request: TurnRequest, tenant: str | None = None) -> TurnResponse:
        previous = self._signer.verify(request.state, conversation_id, tenant)
        # The words, read into the standing request (replace semantics; a self-contradiction is a 422),
        # give the hard filters and the ranker's soft signals; the fusion model reads them as tokens too.
        understood = understand(request.text, previous.understood or from_filters(previous.filters))
        filters = to_filters(understood)
        [encoding] = await self._text.encode([request.text])
        excluded = previous.remember(*([previous.candidate_track_id] if previous.candidate_track_id else []))
        ranked = await self._ranker.rank(RankRequest(  # no candidate when filters emptied turn 1: words alone
            video_id=previous.video_id, candidate_track_id=previous.candidate_track_id, text_tokens=encoding.tokens,
            exclude_track_ids=excluded, filters=filters, limit=request.limit, understood=understood))
        version, replay = self._versions.advance(conversation_id, previous.version, _request_key(request))
        state = ConversationState(
            conversation_id=conversation_id, video_id=previous.video_id, turn=previous.turn + 1,
            candidate_track_id=ranked.tracks[0].track_id if ranked.tracks else previous.candidate_track_id,
            excluded_track_ids=excluded, filters=filters, understood=understood, tenant=previous.tenant,
            version=version)
        return await self._respond(state, ranked, text=request.text, candidate=previous.candidate_track_id,
                                   explain=request.explain, history=[request.text], publish=not replay)

    async def feedback(self, conversation_id: str, feedback: Feedback, tenant: str | None = None) -> FeedbackAccepted:
        state = self._signer.verify(feedback.state, conversation_id, tenant)
        if feedback.track_id not in (*state.recommended_track_ids, *state.excluded_track_ids):
            raise MuseChatError(f"track {feedback.track_id!r} was not recommended in this conversation; give "
                                "feedback on a track of the last turn", status=422, code="track_not_recommended")
        version, replay = self._versions.advance(conversation_id, state.version, _request_key(feedback))
        update: dict[str, Any] = {"version": version}
        if feedback.verdict == "reject":
            update["excluded_track_ids"] = state.remember(feedback.track_id)
        state = state.model_copy(update=update)
        if not replay:  # a retried request is answered again; its event is not published twice
            await self._producer.publish_async(Topic.FEEDBACK, _event(Topic.FEEDBACK, conversation_id, FeedbackGiven(
                conversation_id=conversation_id, turn=state.turn, video_id=state.video_id,
                track_id=feedback.track_id, verdict=feedback.verdict)))
        return FeedbackAccepted(conversation_id=conversation_id, state=self._signer.sign(state))

    async def _respond(self, state: ConversationState, ranked: RankResponse, text: str | None,
                       candidate: str | None, explain: bool, history: list[str],
                       publish: bool = True) -> TurnResponse:
        if publish:  # False for a retried turn: its event is already on the log
            await self._producer.publish_async(Topic.CONVERSATION_TURN, _event(
                Topic.CONVERSATION_TURN, state.conversation_id, ConversationTurn(
                    conversation_id=state.conversation_id, turn=state.turn, video_id=state.video_id, text=text,
                    candidate_track_id=candidate, excluded_track_ids=state.excluded_track_ids,
                    filters=state.filters, recommended_track_ids=[t.track_id for t in ranked.tracks],
                    scores=[t.score for t in ranked.tracks], model_version=ranked.model_version)))
        explanation = None
        if explain:  # seconds of LLM work (or a blocking call to the explainer service): off the loop
            explanation = await asyncio.to_thread(self._explain, ranked.tracks, text, history, candidate, state)
        observe_served(ranked)
        state = state.model_copy(update={"recommended_track_ids": [t.track_id for t in ranked.tracks]})
        return TurnResponse(conversation_id=state.conversation_id, turn=state.turn, tracks=ranked.tracks,
                            applied_filters=state.filters, understood=state.understood, explanation=explanation,
                            state=self._signer.sign(state),
                            model_version=ranked.model_version, shortfall=ranked.shortfall)

    def _explain(self, tracks: list[RecommendedTrack], words: str | None, history: list[str],
                 candidate: str | None, state: ConversationState) -> Explanation:
        if not tracks:
            return Explanation(text=None, reason="no track matched the filters")
        if self._explainer is None:
            return Explanation(text=None, reason="no explainer is configured")
        return self._explainer.explain(tracks[0], words, history, [t.title for t in tracks[1:]], previous=candidate,
                                       video_id=state.video_id, tenant=getattr(state, "tenant", None))

    @property
    def explainer(self) -> ExplainerPort | None:
        """The explanation port (routers/explanations.py serves its streams)."""
        return self._explainer


def _request_key(request: TurnRequest | Feedback) -> str:
    """What makes a request a replay of another: the same body, its state token included."""
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def _unknown_video(video_id: str) -> NotFoundError:
    return NotFoundError("video_not_found", f"unknown video {video_id!r}: submit it with POST /v1/videos")
