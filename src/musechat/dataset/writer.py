"""The dataset writer's core: remember turns, turn accepted feedback into quartets, seal datasets.

A quartet comes from an `accept` on turn N >= 2: the video's features, the accepted track (target),
the track suggested at turn N-1 that the user's words answered (candidate, the hard negative) and
those words, encoded by the text encoder. Turn 1 (video only) and rejects make no quartet.

Turn and feedback events travel on two topics, so an accept can be consumed before its turn: it waits
(bounded) until the turn arrives. Waiting accepts are persisted (`pending_path`, rewritten atomically on
every change: they are few and rare), so a restart resumes waiting for their turns instead of dropping
them. The turn memory is in-process: after a restart, feedback on a turn consumed before the restart is
counted as `turn_unknown` and skipped. Quartets wait in memory until
their dataset is sealed (every `shard_size` quartets or `flush_every_s`), so a crash loses at most one
unsealed dataset; a clean stop (SIGTERM) seals it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from prometheus_client import Counter

from musechat.bus import PermanentError, RecordContext, decode_payload
from musechat.catalog.track_features import read_track_features
from musechat.contracts.api import VideoStatus
from musechat.contracts.catalog import TRACK_FEATURES_COLLECTION, TRACKS_COLLECTION, TrackPayload
from musechat.contracts.conversation import VIDEOS_COLLECTION, ConversationTurn, FeedbackGiven, VideoPayload
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.topics import Topic
from musechat.encoders.text_client import TextSource
from musechat.fusion.data import FeatureDims, Quartet, QuartetFormatError, QuartetWriter, TrackMeta
from musechat.store import CollectionNotFoundError, VectorStore

log = logging.getLogger(__name__)

QUARTETS = Counter(
    "musechat_dataset_quartets_total",
    "Accepted-feedback events by what the dataset writer did with them.",
    ["outcome"],  # written, duplicate, not_a_quartet, turn_unknown, failed
)
DATASETS_SEALED = Counter("musechat_dataset_datasets_sealed_total", "Quartet datasets sealed (manifest written).")


@dataclass(frozen=True)
class TrackFeatures:
    features: np.ndarray
    meta: TrackMeta
    feature_model: str


@dataclass(frozen=True)
class VideoFeatures:
    features: np.ndarray
    feature_model: str


class StoreFeatures:
    """Features from the store: `videos` payload `features`; a track's `track_features` point + its
    `tracks` metadata.
    Unknown ids and videos without features are permanent: retrying cannot make them appear."""

    def __init__(self, store: VectorStore) -> None:
        self._store = store

    def video(self, video_id: str) -> VideoFeatures:
        records = self._retrieve(VIDEOS_COLLECTION, [video_id])
        if not records:
            raise PermanentError(f"video {video_id!r} is not in the {VIDEOS_COLLECTION!r} collection")
        payload = VideoPayload.model_validate(records[0].payload)
        if payload.status is not VideoStatus.READY or payload.features is None:
            raise PermanentError(f"video {video_id!r} has no features (status {payload.status.value})")
        return VideoFeatures(payload.features.to_array(), payload.feature_model or "unknown")

    def tracks(self, track_ids: list[str]) -> dict[str, TrackFeatures]:
        found = {r.id: TrackPayload.model_validate(r.payload) for r in self._retrieve(TRACKS_COLLECTION, track_ids)}
        if missing := [t for t in track_ids if t not in found]:
            raise PermanentError(f"tracks {missing} are not in the {TRACKS_COLLECTION!r} collection")
        features = read_track_features(self._store, list(found))
        if missing := [t for t in found if t not in features]:
            raise PermanentError(f"tracks {missing} have no features in the {TRACK_FEATURES_COLLECTION!r} collection")
        return {
            track_id: TrackFeatures(features[track_id].features.to_array(),
                                    TrackMeta(p.title, p.artist, tuple(p.tags)), features[track_id].feature_model)
            for track_id, p in found.items()
        }

    def _retrieve(self, collection: str, ids: list[str]) -> list[Any]:
        try:
            return self._store.retrieve(collection, ids)
        except CollectionNotFoundError as error:
            raise PermanentError(f"collection {collection!r} does not exist: {error}") from error


class FeatureSource(Protocol):
    def video(self, video_id: str) -> VideoFeatures: ...

    def tracks(self, track_ids: list[str]) -> dict[str, TrackFeatures]: ...


class DatasetSink:
    """Quartets → sealed dataset directories under `output_dir`, one `QuartetWriter` per open dataset.

    A dataset is sealed (its manifest written) when it holds `shard_size` quartets, when its first
    quartet is `flush_every_s` old (`seal_if_due`, called by a timer), on `seal()`, and when a quartet
    with other feature widths or models arrives (a dataset has one set of dims). Thread-safe."""

    def __init__(self, output_dir: Path, shard_size: int, flush_every_s: float, info: dict[str, Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.output_dir = output_dir
        self.shard_size = shard_size
        self.flush_every_s = flush_every_s
        self.info = dict(info or {})
        self.sealed: list[Path] = []
        self._clock = clock
        self._lock = threading.Lock()
        self._writer: QuartetWriter | None = None
        self._key: tuple[FeatureDims, tuple[tuple[str, str], ...]] | None = None
        self._ids: set[str] = set()
        self._opened_at = 0.0

    def add(self, quartet: Quartet, dims: FeatureDims, models: dict[str, str]) -> bool:
        """Append a quartet; False when the open dataset already holds its id (a redelivered event)."""
        key = (dims, tuple(sorted(models.items())))
        with self._lock:
            if self._writer is not None and key != self._key:
                self._seal_locked()
            if quartet.quartet_id in self._ids:
                return False
            if self._writer is None:
                self._open_locked(dims, models, key)
            assert self._writer is not None
            try:
                self._writer.add(quartet)
            except QuartetFormatError:
                if self._writer.count == 0:  # no empty dataset for a quartet the format refuses
                    self._writer.out_dir.rmdir()
                    self._writer, self._key = None, None
                raise
            self._ids.add(quartet.quartet_id)
            if self._writer.count >= self.shard_size:
                self._seal_locked()
            return True

    def seal_if_due(self) -> Path | None:
        with self._lock:
            if self._writer is not None and self._clock() - self._opened_at >= self.flush_every_s:
                return self._seal_locked()
            return None

    def seal(self) -> Path | None:
        with self._lock:
            return self._seal_locked()

    @property
    def pending(self) -> int:
        with self._lock:
            return self._writer.count if self._writer is not None else 0

    def _open_locked(self, dims: FeatureDims, models: dict[str, str],
                     key: tuple[FeatureDims, tuple[tuple[str, str], ...]]) -> None:
        now = datetime.now(UTC)
        name = f"quartets-{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        info = {**self.info, "created_at": now.isoformat(), "feature_models": models}
        # shard_size quartets seal the dataset, so each dataset is exactly one shard.
        self._writer = QuartetWriter(self.output_dir / name, dims, shard_size=self.shard_size, info=info)
        self._key = key
        self._opened_at = self._clock()

    def _seal_locked(self) -> Path | None:
        if self._writer is None:
            return None
        self._writer.close()
        path = self._writer.out_dir
        log.info("sealed quartet dataset %s (%d quartets)", path, self._writer.count)
        self.sealed.append(path)
        DATASETS_SEALED.inc()
        self._writer, self._key, self._ids = None, None, set()
        return path


def _load_pending(path: Path | None) -> list[FeedbackGiven]:
    if path is None or not path.is_file():
        return []
    try:
        return [FeedbackGiven.model_validate(item) for item in json.loads(path.read_text(encoding="utf-8"))]
    except ValueError as error:  # a corrupt file must not stop the writer: say so, start empty
        log.error("waiting accepts in %s are unreadable (%s); starting without them", path, error)
        return []


def _quartet_id(feedback: FeedbackGiven) -> str:
    # Deterministic, so a redelivered feedback event maps onto the same quartet.
    return f"{feedback.conversation_id}:{feedback.turn}:{feedback.track_id}"


class DatasetWriter:
    """The handler of both topics: `handle(event, context)` dispatches on the CloudEvents type."""

    def __init__(self, features: FeatureSource, text: TextSource, sink: DatasetSink, *,
                 max_turns: int, max_pending_feedback: int, max_text_tokens: int,
                 pending_path: Path | None = None) -> None:
        self._features = features
        self._text = text
        self.sink = sink
        self._max_turns = max_turns
        self._max_pending = max_pending_feedback
        self._max_text_tokens = max_text_tokens
        self._turns: OrderedDict[tuple[str, int], ConversationTurn] = OrderedDict()
        self._waiting: OrderedDict[tuple[str, int], FeedbackGiven] = OrderedDict()
        self._pending_path = pending_path
        for feedback in _load_pending(pending_path):
            self._waiting[(feedback.conversation_id, feedback.turn)] = feedback
        if self._waiting:
            log.info("%d accepts waiting for their turn events were restored from %s", len(self._waiting),
                     pending_path)

    def handle(self, event: EventEnvelope[Any], _context: RecordContext | None = None) -> None:
        if event.type == Topic.CONVERSATION_TURN.event_type:
            self.on_turn(decode_payload(event, ConversationTurn))
        elif event.type == Topic.FEEDBACK.event_type:
            self.on_feedback(decode_payload(event, FeedbackGiven))
        else:
            raise PermanentError(f"the dataset writer handles {Topic.CONVERSATION_TURN.event_type!r} and "
                                 f"{Topic.FEEDBACK.event_type!r} events, not {event.type!r}")

    def on_turn(self, turn: ConversationTurn) -> None:
        key = (turn.conversation_id, turn.turn)
        self._turns[key] = turn
        self._turns.move_to_end(key)
        while len(self._turns) > self._max_turns:
            self._turns.popitem(last=False)
        waiting = self._waiting.get(key)
        if waiting is None:
            return
        # The accept arrived first. A permanent failure belongs to that accept, not to this turn event:
        # count and log it instead of dead-lettering the turn. Retryable errors propagate and the turn
        # event (with the accept still waiting) is retried.
        try:
            self._write(turn, waiting)
        except PermanentError as error:
            QUARTETS.labels(outcome="failed").inc()
            log.error("accept on %s turn %d makes no quartet: %s", turn.conversation_id, turn.turn, error)
        del self._waiting[key]
        self._save_pending()

    def on_feedback(self, feedback: FeedbackGiven) -> None:
        if feedback.verdict != "accept" or feedback.turn < 2:
            QUARTETS.labels(outcome="not_a_quartet").inc()
            return
        key = (feedback.conversation_id, feedback.turn)
        turn = self._turns.get(key)
        if turn is None:
            self._wait(key, feedback)
            return
        self._write(turn, feedback)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _wait(self, key: tuple[str, int], feedback: FeedbackGiven) -> None:
        self._waiting[key] = feedback
        self._waiting.move_to_end(key)
        while len(self._waiting) > self._max_pending:
            (conversation, number), _ = self._waiting.popitem(last=False)
            QUARTETS.labels(outcome="turn_unknown").inc()
            log.warning("no turn event for %s turn %d arrived; its accept is dropped", conversation, number)
        self._save_pending()

    def _save_pending(self) -> None:
        if self._pending_path is None:
            return
        from musechat.store.aliases import write_atomic

        self._pending_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self._pending_path, json.dumps([f.model_dump(mode="json") for f in self._waiting.values()]))

    def _write(self, turn: ConversationTurn, feedback: FeedbackGiven) -> None:
        if turn.text is None or turn.candidate_track_id is None:
            QUARTETS.labels(outcome="not_a_quartet").inc()  # nothing was suggested before these words
            return
        if turn.video_id != feedback.video_id:
            raise PermanentError(f"feedback names video {feedback.video_id!r}, its turn {turn.video_id!r}")
        quartet, dims, models = self.build(turn, feedback)
        try:
            written = self.sink.add(quartet, dims, models)
        except QuartetFormatError as error:
            raise PermanentError(f"quartet {quartet.quartet_id} breaks the quartet format: {error}") from error
        QUARTETS.labels(outcome="written" if written else "duplicate").inc()

    def build(self, turn: ConversationTurn, feedback: FeedbackGiven) -> tuple[Quartet, FeatureDims, dict[str, str]]:
        """The quartet of an accept on `turn`, its feature dims and the models behind its features."""
        assert turn.text is not None and turn.candidate_track_id is not None
        video = self._features.video(turn.video_id)
        tracks = self._features.tracks(list(dict.fromkeys([feedback.track_id, turn.candidate_track_id])))
        target, candidate = tracks[feedback.track_id], tracks[turn.candidate_track_id]
        if target.features.shape[1] != candidate.features.shape[1]:
            raise PermanentError(f"tracks {feedback.track_id!r} and {turn.candidate_track_id!r} have features of "
                                 "different widths (catalog mid re-encoding)")
        [encoding] = self._text.encode([turn.text])
        tokens = encoding.tokens.to_array()[: self._max_text_tokens]
        dims = FeatureDims(video=video.features.shape[1], music=target.features.shape[1], text=tokens.shape[1],
                           max_text_tokens=self._max_text_tokens)
        models = {"video": video.feature_model, "music": target.feature_model, "text": encoding.feature_model}
        quartet = Quartet(
            quartet_id=_quartet_id(feedback),
            video_id=turn.video_id,
            video=video.features,
            target_track_id=feedback.track_id,
            target=target.features,
            target_meta=target.meta,
            candidate_track_id=turn.candidate_track_id,
            candidate=candidate.features,
            candidate_meta=candidate.meta,
            user_text=turn.text,
            text_tokens=tokens,
            conversation=(
                {"role": "assistant", "text": f"I suggest {candidate.meta.title} by {candidate.meta.artist}."},
                {"role": "user", "text": turn.text},
            ),
            extra={"conversation_id": turn.conversation_id, "turn": turn.turn,
                   "ranker_model": turn.model_version, "text_truncated": encoding.truncated
                   or encoding.length > self._max_text_tokens},
        )
        return quartet, dims, models
