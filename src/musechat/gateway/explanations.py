"""The gateway's explainer port: a turn returns its tracks at once; the explanation streams.

A turn with `explain: true` costs no LLM time: it returns an `Explanation` whose `stream` is the URL of
`GET /v1/explanations/{ticket}` (routers/explanations.py), a server-sent-event stream of `delta`, `reset`
and one `final` event. The ticket is an HMAC-signed, self-contained description of what to explain (the
top track, the previous pick, the video, the user's words, the other titles of the list), so any gateway
replica can serve it: no sticky sessions, no shared store.

Serving a ticket gathers the facts (the tracks' `facts` payloads, the video's measured properties) and
runs the explainer: the explainer core in process (the embedded default) or the explainer service's
`/explain_stream` over HTTP. Either way a slow or broken LLM yields the facts-built template, never an
error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from pydantic import BaseModel, Field, ValidationError

from musechat.contracts.api import Explanation, RecommendedTrack
from musechat.errors import MuseChatError
from musechat.lru import ExpiringLru

if TYPE_CHECKING:
    from musechat.contracts.features import FeatureMatrix
    from musechat.explain.explainer import Explainer
    from musechat.explain.schema import ExplainBody, ExplainVideo, ExplanationStreamEvent
    from musechat.gateway.settings import GatewaySettings
    from musechat.store.base import VectorStore

log = logging.getLogger(__name__)
PayloadLookup = Callable[[str], Mapping[str, Any] | None]
VideoLookup = Callable[[str], "ExplainVideo | None"]
# track id -> its per-segment music features (`track_features`), for the explainer's music token.
MusicLookup = Callable[[str], "FeatureMatrix | None"]
STREAM_PATH = "/v1/explanations"
VIDEO_FACTS_FPS = 2.0  # enough to count cuts and measure motion; decoding at 32 px costs ≈0.1 s per minute
VIDEO_FACTS_FRAME = 32


class TicketError(MuseChatError):
    status = 404
    code = "explanation_not_found"


class ExplanationTicket(BaseModel):
    """What to explain; signed into the stream URL (never trusted unsigned)."""

    v: int = 1
    tenant: str | None = None
    track_id: str
    previous_track_id: str | None = None
    video_id: str | None = None
    words: str = Field("", max_length=2000)
    others: list[str] = Field(default_factory=list, max_length=50)


class TicketSigner:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the ticket secret must be at least 16 bytes")
        self._key = hashlib.sha256(b"musechat-explanation-ticket:" + secret).digest()  # its own key

    def sign(self, ticket: ExplanationTicket) -> str:
        body = base64.urlsafe_b64encode(ticket.model_dump_json(exclude_defaults=True).encode()).rstrip(b"=")
        mac = base64.urlsafe_b64encode(hmac.new(self._key, body, hashlib.sha256).digest()[:18])
        return f"{body.decode()}.{mac.decode()}"

    def verify(self, token: str, tenant: str | None) -> ExplanationTicket:
        body, _, mac = token.partition(".")
        good = base64.urlsafe_b64encode(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:18]).decode()
        if not mac or not hmac.compare_digest(mac, good):
            raise TicketError("unknown explanation: the link is not one this gateway issued")
        try:
            ticket = ExplanationTicket.model_validate_json(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValidationError, ValueError) as error:
            raise TicketError(f"unreadable explanation link: {error}") from error
        if tenant is not None and ticket.tenant is not None and ticket.tenant != tenant:
            raise TicketError("unknown explanation: the link is not one this gateway issued")  # same as a forgery
        return ticket


class ExplanationEngine(Protocol):
    def stream(self, body: ExplainBody) -> Iterator[ExplanationStreamEvent]: ...


class InProcessEngine:
    """The explainer core in this process: generation runs on the caller's (a worker) thread. `names`
    (every catalog title and artist) is reloaded into the grounding check every `names_ttl_s`."""

    def __init__(self, explainer: Explainer, names: Callable[[], Iterable[str]] | None = None,
                 names_ttl_s: float = 300.0) -> None:
        self._explainer = explainer
        self._names = names
        self._names_ttl_s = names_ttl_s
        self._names_at = -float("inf")
        self._lock = threading.Lock()

    def _refresh_names(self) -> None:
        if self._names is None or time.monotonic() - self._names_at < self._names_ttl_s:
            return
        with self._lock:
            if time.monotonic() - self._names_at < self._names_ttl_s:
                return
            from musechat.explain.grounding import CatalogTitleIndex

            try:
                self._explainer.catalog = CatalogTitleIndex(self._names())
            except Exception as error:  # a store hiccup keeps the names loaded before
                log.warning("catalog names not reloaded: %s", error)
            self._names_at = time.monotonic()

    def stream(self, body: ExplainBody) -> Iterator[ExplanationStreamEvent]:
        from musechat.explain.schema import to_event, to_request

        self._refresh_names()
        for event in self._explainer.stream(to_request(body)):
            yield to_event(event)


class HttpEngine:
    """The explainer service's NDJSON stream; if it is unreachable, the template from the same facts."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def stream(self, body: ExplainBody) -> Iterator[ExplanationStreamEvent]:
        from musechat.explain.schema import ExplanationStreamEvent

        final = False
        try:
            with self._client.stream("POST", "/explain_stream", json={"body": body.model_dump(mode="json")}) as r:
                r.raise_for_status()
                for line in r.iter_lines():
                    if line.strip():
                        event = ExplanationStreamEvent.model_validate_json(line)
                        final = final or event.kind == "final"
                        yield event
        except (httpx.HTTPError, ValidationError) as error:
            log.warning("explainer unavailable: %s", error)
        if not final:
            yield ExplanationStreamEvent(kind="reset")
            yield _template_event(body, "the explainer service is unavailable or its stream broke off")


def _template_event(body: ExplainBody, reason: str) -> ExplanationStreamEvent:
    from musechat.explain.grounding import template_explanation
    from musechat.explain.schema import ExplanationOut, ExplanationStreamEvent, to_request

    req = to_request(body)
    text = template_explanation(req.track, req.user_words, req.context())
    out = ExplanationOut(text=text, grounded=True, fallback=True, reason=reason, attempts=0, latency_ms=0.0)
    return ExplanationStreamEvent(kind="final", text=text, result=out)


def _track(payload: Mapping[str, Any]) -> Any:
    from musechat.explain.facts import facts_from_payload
    from musechat.explain.schema import ExplainTrack

    meta = facts_from_payload(payload)
    return ExplainTrack(track_id=meta.track_id, title=meta.title, artist=meta.artist, album=meta.album,
                        tags=list(meta.tags)[:100], tempo_bpm=meta.tempo_bpm, vocals=meta.vocals,
                        duration_s=meta.duration_s)  # fmt: skip


class StreamingExplainer:
    """The gateway's ExplainerPort: `explain` hands out a signed stream link at once; `events` serves it."""

    def __init__(self, engine: ExplanationEngine, signer: TicketSigner, payloads: PayloadLookup,
                 videos: VideoLookup | None = None, *, music: MusicLookup | None = None) -> None:
        """`music`: where the track's features come from when the explainer reads them (a music token);
        None: it does not, and they are never fetched."""
        self._engine = engine
        self._signer = signer
        self._payloads = payloads
        self._videos = videos
        self._music = music

    def explain(self, track: RecommendedTrack, words: str | None, history: list[str], others: list[str],
                previous: str | None = None, video_id: str | None = None, tenant: str | None = None) -> Explanation:
        """`history` is not needed: what it established is the previous pick and the words."""
        del history
        ticket = ExplanationTicket(tenant=tenant, track_id=track.track_id, previous_track_id=previous,
                                   video_id=video_id, words=(words or "")[:2000],
                                   others=[t for t in others if t != track.title][:50])  # fmt: skip
        return Explanation(text=None, reason="streaming: GET the `stream` URL (server-sent events)",
                           stream=f"{STREAM_PATH}/{self._signer.sign(ticket)}")

    def body(self, token: str, tenant: str | None) -> ExplainBody:
        from musechat.explain.schema import ExplainBody

        ticket = self._signer.verify(token, tenant)
        payload = self._payloads(ticket.track_id)
        if payload is None:
            raise TicketError(f"track {ticket.track_id!r} is no longer in the catalog")
        previous = self._payloads(ticket.previous_track_id) if ticket.previous_track_id else None
        video = self._videos(ticket.video_id) if (self._videos and ticket.video_id) else None
        return ExplainBody(
            track=_track(payload), user_words=ticket.words, other_titles=ticket.others,
            previous=None if previous is None else _track(previous), video=video,
            music_features=self._music(ticket.track_id) if self._music is not None else None,
        )  # fmt: skip

    @property
    def engine(self) -> ExplanationEngine:
        return self._engine


class VideoFactsCache:
    """Measured video properties, computed once per video from its source file (cut rate, motion,
    brightness, colour: `explain.facts.video_facts`) and kept in a small LRU."""

    def __init__(self, store: VectorStore, max_entries: int = 256, max_age_s: float = 3600.0) -> None:
        self._store = store
        self._cache: ExpiringLru[str, ExplainVideo] = ExpiringLru(max_entries, max_age_s)

    def __call__(self, video_id: str) -> ExplainVideo | None:
        hit = self._cache.get(video_id)
        if hit is not None:
            return hit
        value = self._measure(video_id)
        if value is not None:
            self._cache.put(video_id, value)
        return value

    def _measure(self, video_id: str) -> ExplainVideo | None:
        from musechat.contracts.conversation import VIDEOS_COLLECTION

        records = self._store.retrieve(VIDEOS_COLLECTION, [video_id])
        path = records[0].payload.get("source_path") if records else None
        if not path:
            return None
        try:
            return measure_video(str(path))
        except Exception as error:  # a vanished or unreadable file costs the facts, not the explanation
            log.info("no video facts for %s: %s", video_id, error)
            return None


def measure_video(path: str) -> ExplainVideo:
    import numpy as np

    from musechat.explain.facts import video_facts
    from musechat.explain.schema import ExplainVideo
    from musechat.media.video import decode_video

    decoded = decode_video(path, fps=VIDEO_FACTS_FPS, frame_size=VIDEO_FACTS_FRAME)
    frames = np.concatenate(decoded.segments, axis=0)
    facts = video_facts(frames, fps=VIDEO_FACTS_FPS)
    return ExplainVideo(cuts_per_min=facts.cuts_per_min, motion=min(facts.motion, 1.0), brightness=facts.brightness,
                        warmth=facts.warmth, saturation=facts.saturation)  # fmt: skip


def explainer_port(settings: GatewaySettings, store: VectorStore) -> StreamingExplainer | None:
    """The port the gateway's settings ask for (`explainer`: none | local | http)."""
    from musechat.contracts.catalog import TRACKS_COLLECTION

    if settings.explainer == "none":
        return None

    def payload(track_id: str) -> Mapping[str, Any] | None:
        records = store.retrieve(TRACKS_COLLECTION, [track_id])
        return records[0].payload if records else None

    engine: ExplanationEngine
    use_music = False
    if settings.explainer == "http":
        assert settings.explainer_url is not None  # the settings validator guarantees it
        engine = HttpEngine(settings.explainer_url, settings.explainer_timeout_s)
    else:
        from musechat.explain.settings import ExplainerSettings, build_explainer

        explainer_settings = ExplainerSettings()
        use_music = explainer_settings.use_music
        def names() -> Iterator[str]:
            for record in store.scroll(TRACKS_COLLECTION, fields=["title", "artist"]):
                yield from (str(record.payload.get("title", "")), str(record.payload.get("artist", "")))

        engine = InProcessEngine(build_explainer(explainer_settings), names)
    signer = TicketSigner(settings.state_secret_bytes())
    return StreamingExplainer(engine, signer, payload, VideoFactsCache(store),
                              music=store_music(store) if use_music else None)


def store_music(store: VectorStore) -> MusicLookup:
    """The music token's lookup: a track's features from `track_features` (by id, one engine call)."""
    from musechat.catalog.track_features import read_track_features

    def music(track_id: str) -> FeatureMatrix | None:
        record = read_track_features(store, [track_id]).get(track_id)
        return None if record is None else record.features

    return music


def explain_body(track: RecommendedTrack, words: str | None, history: list[str], others: list[str],
                 features: Any = None) -> ExplainBody:
    """A body from a turn's top track alone (tags only, no measured facts): for callers without a store."""
    from musechat.explain.schema import ExplainBody, ExplainTrack

    del history
    return ExplainBody(
        track=ExplainTrack(track_id=track.track_id, title=track.title, artist=track.artist,
                           album=track.album or "", tags=track.tags, duration_s=track.duration_s),
        user_words=words or "", music_features=features,
        other_titles=[title for title in others if title != track.title],
    )  # fmt: skip


def sse(events: Iterator[ExplanationStreamEvent]) -> Iterator[str]:
    """Server-sent events: `event: <kind>` + `data: <json>`."""
    for event in events:
        yield f"event: {event.kind}\ndata: {event.model_dump_json()}\n\n"


def final_of(events: Iterator[ExplanationStreamEvent]) -> ExplanationStreamEvent:
    last = None
    for event in events:
        if event.kind == "final":
            last = event
    if last is None:
        raise RuntimeError("the explanation stream ended without a final event")
    return last


