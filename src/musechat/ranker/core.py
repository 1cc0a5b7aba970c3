"""Build the fused query for a turn and search the catalog with hard filters and exclusions."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from musechat.catalog.track_features import read_track_features
from musechat.contracts.api import RecommendedTrack, TrackFilters, VideoStatus
from musechat.contracts.catalog import MUSIC_VECTOR, TRACKS_COLLECTION
from musechat.contracts.conversation import VIDEOS_COLLECTION, VideoPayload
from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.lru import ExpiringLru
from musechat.ranker.attributes import RERANK_FIELDS, needs_rerank, pool_size, rerank
from musechat.ranker.errors import (
    RankingError,
    TrackNotFoundError,
    VideoFailedError,
    VideoNotFoundError,
    VideoNotReadyError,
)
from musechat.store import Hit, MatchAny, MatchValue, NearestQuery, Range, SearchFilter, VectorStore
from musechat.store.base import CollectionNotFoundError

if TYPE_CHECKING:
    from musechat.fusion.model import FusionConfig, FusionModel
    from musechat.registry.registry import ModelRegistry

log = logging.getLogger(__name__)


# The payload keys a recommendation shows; the rest (the facts' tag scores; old stores: per-segment
# features, ~15-40 KB a track) stays in the engine instead of being copied out for every hit of every turn.
RESPONSE_FIELDS = ("title", "artist", "album", "licence", "duration_s", "tags")


def checkpoint_version(checkpoint: Path) -> str:
    weights = checkpoint / "model.safetensors" if checkpoint.is_dir() else checkpoint
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    return f"fusion@{digest}"


def search_filter(filters: TrackFilters) -> SearchFilter | None:
    must: list[Any] = [MatchValue(key="tags", value=tag) for tag in filters.include_tags]
    if filters.vocals is not None:
        must.append(MatchValue(key="vocals", value=filters.vocals))
    if filters.licences:
        must.append(MatchAny(key="licence", values=filters.licences))
    if filters.min_duration_s is not None or filters.max_duration_s is not None:
        must.append(Range(key="duration_s", gte=filters.min_duration_s, lte=filters.max_duration_s))
    must_not: list[Any] = [MatchAny(key="tags", values=filters.exclude_tags)] if filters.exclude_tags else []
    return SearchFilter(must=must, must_not=must_not) if must or must_not else None


def _padded(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack [n_i, d] arrays into [B, max n, d] with a boolean validity mask."""
    return _padded_optional(list(rows))


def _padded_optional(rows: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """`_padded` where a missing row (None) becomes an all-False mask row: the input is absent there."""
    present = [r for r in rows if r is not None]
    longest = max(len(r) for r in present)
    out = np.zeros((len(rows), longest, present[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(rows), longest), dtype=bool)
    for i, r in enumerate(rows):
        if r is not None:
            out[i, : len(r)] = r
            mask[i, : len(r)] = True
    return out, mask


_BATCH_ATTEMPTS = 3  # a batch whose resolved collection vanished runs again on the alias's new target


class FusionVectorizer:
    """The checkpoint's music tower as the indexer's track vectorizer (TrackVectorizer protocol)."""

    def __init__(self, model: FusionModel, version: str) -> None:
        self._model = model
        self.version = version

    @classmethod
    def load(cls, checkpoint: Path) -> FusionVectorizer:
        from musechat.fusion.model import load_checkpoint

        model, _ = load_checkpoint(checkpoint)
        return cls(model, checkpoint_version(checkpoint))

    def embed(self, features: np.ndarray) -> np.ndarray:
        return self.embed_many([features])[0]

    def embed_many(self, batch: list[np.ndarray]) -> np.ndarray:
        import torch

        if not batch:  # an answer with no tracks has no vectors to make
            return np.zeros((0, self._model.config.out_dim), dtype=np.float32)
        music, mask = _padded(batch)
        with torch.inference_mode():
            vectors = self._model.encode_music(torch.from_numpy(music), torch.from_numpy(mask))
        return vectors.numpy().astype(np.float32)


# Feature caches: a conversation's video and its candidates come back turn after turn. A ready video's
# features never change; a track's change only when it is re-ingested, which the age limit bounds.
FEATURE_CACHE_ENTRIES = 4096
FEATURE_CACHE_AGE_S = 600.0


def ready_video_features(video_id: str, payload: dict[str, Any] | None) -> np.ndarray:
    """The features of a `videos` point, or the error that says why the video cannot be used yet."""
    if payload is None:
        raise VideoNotFoundError(f"unknown video {video_id!r}: submit it with POST /v1/videos first")
    video = VideoPayload.model_validate(payload)
    if video.status is VideoStatus.PENDING:
        raise VideoNotReadyError(f"video {video_id!r} is still being encoded: poll GET /v1/videos/{video_id}")
    if video.status is VideoStatus.FAILED or video.features is None:
        raise VideoFailedError(f"video {video_id!r} could not be encoded: {video.reason}")
    return video.features.to_array()


# Query towers kept loaded: the live one and the one before it, so a rollback (or an A/B flip) swaps
# without reading a checkpoint again.
LOADED_MODELS = 3


class FusionRanker:
    """Query tower + filtered ANN search. With a model registry it follows the index: each batch resolves
    the `tracks` alias once, runs the query tower of the model that built *that* collection (loaded from
    the registry on first sight) and searches that physical collection, so a publish that flips the alias
    mid-stream never pairs one model's query with another model's track vectors."""

    def __init__(self, store: VectorStore, model: FusionModel, config: FusionConfig, version: str,
                 feature_cache_entries: int = FEATURE_CACHE_ENTRIES, registry: ModelRegistry | None = None) -> None:
        self._store = store
        self._model = model
        self._config = config
        self.version = version
        self._registry = registry
        self._models: dict[str, FusionModel] = {version: model}
        self._collection_versions: dict[str, str | None] = {}
        # Decoded features of ready videos, and of tracks by id (they come from `track_features`, whatever
        # index serves): a hit skips the engine lookup, the payload validation and the base64 decoding.
        self._videos: ExpiringLru[str, np.ndarray] = ExpiringLru(feature_cache_entries, FEATURE_CACHE_AGE_S)
        self._tracks: ExpiringLru[str, np.ndarray] = ExpiringLru(feature_cache_entries, FEATURE_CACHE_AGE_S)
        self._candidate_views: ExpiringLru[tuple[str, str], dict[str, Any]] = ExpiringLru(
            feature_cache_entries, FEATURE_CACHE_AGE_S)

    @classmethod
    def load(cls, store: VectorStore, checkpoint: Path, feature_cache_entries: int = FEATURE_CACHE_ENTRIES,
             registry: ModelRegistry | None = None) -> FusionRanker:
        """`checkpoint` is the start-up default; a registry with a live version overrides it, so a restart
        comes back on the published model, not on the one in the environment."""
        from musechat.fusion.model import load_checkpoint

        live = registry.live() if registry is not None else None
        if live is not None and registry is not None:
            checkpoint = registry.checkpoint(live)
        model, config = load_checkpoint(checkpoint)
        return cls(store, model, config, checkpoint_version(checkpoint), feature_cache_entries, registry)

    def serving(self, collection: str) -> tuple[str, FusionModel]:
        """The (version, query tower) that matches the index `collection`: the model that built it when
        the registry knows it, else the current one (no registry, or an index built outside it)."""
        from musechat.catalog.indexer import collection_for

        if collection not in self._collection_versions:
            known = self.version if collection_for(self.version) == collection else None
            if known is None and self._registry is not None:
                known = self._registry.version_of_collection(collection)
            if known is None:
                log.warning("index %s was built by a model the registry does not know; serving %s",
                            collection, self.version)
            self._collection_versions[collection] = known
        version = self._collection_versions[collection] or self.version
        if version not in self._models:
            self._models[version] = self._load_version(version)
            while len(self._models) > LOADED_MODELS:
                oldest = next(v for v in self._models if v != version)
                del self._models[oldest]
        if version != self.version:
            log.info("query tower %s -> %s (index %s)", self.version, version, collection)
            self.version, self._model = version, self._models[version]
        return version, self._models[version]

    def _load_version(self, version: str) -> FusionModel:
        from musechat.fusion.model import load_checkpoint

        assert self._registry is not None  # only registry versions are ever loaded here
        model, _ = load_checkpoint(self._registry.checkpoint(version))
        return model

    def video_features(self, video_ids: list[str]) -> dict[str, np.ndarray | RankingError]:
        """Each video's features, or the error that names why it cannot be used (one engine call)."""
        def fetch(missing: list[str]) -> dict[str, np.ndarray | RankingError]:
            records = ({r.id: r.payload for r in self._store.retrieve(VIDEOS_COLLECTION, missing)}
                       if self._store.collection_exists(VIDEOS_COLLECTION) else {})
            return {video_id: _or_error(ready_video_features, video_id, records.get(video_id))
                    for video_id in missing}

        return _through_cache(self._videos, video_ids, lambda video_id: video_id, fetch)

    def track_features(self, collection: str, track_ids: list[str]) -> dict[str, np.ndarray | RankingError]:
        """Each track's per-segment features from `track_features`, one engine call (a store indexed before
        the split: from the payloads of `collection`, the resolved `tracks`, for the ids it lacks)."""
        def fetch(missing: list[str]) -> dict[str, np.ndarray | RankingError]:
            records = read_track_features(self._store, missing, collection)
            return {track_id: records[track_id].features.to_array()
                    if track_id in records else TrackNotFoundError(f"unknown track {track_id!r}")
                    for track_id in missing}

        return _through_cache(self._tracks, track_ids, lambda track_id: track_id, fetch)

    def query_vector(self, request: RankRequest) -> np.ndarray:
        collection = self._store.resolve(TRACKS_COLLECTION)
        [result] = self._query_vectors([request], collection, self.serving(collection)[1])
        if isinstance(result, RankingError):
            raise result
        return result

    def _query_vectors(self, requests: list[RankRequest], collection: str,
                       model: FusionModel) -> list[np.ndarray | RankingError]:
        """One forward pass for every request whose inputs resolve; the others get their error.

        A batch may mix turn-1 requests (video alone) and later turns: an absent candidate or text is an
        all-False mask row, which the model reads exactly as an absent input."""
        import torch

        videos = self.video_features([r.video_id for r in requests])
        candidates = self.track_features(collection, [r.candidate_track_id for r in requests
                                                      if r.candidate_track_id is not None])
        inputs: list[tuple[np.ndarray, np.ndarray | None, np.ndarray | None] | RankingError] = []
        for request in requests:
            video = videos[request.video_id]
            candidate = candidates[request.candidate_track_id] if request.candidate_track_id is not None else None
            if isinstance(video, RankingError) or isinstance(candidate, RankingError):
                inputs.append(video if isinstance(video, RankingError) else cast(RankingError, candidate))
                continue
            text = request.text_tokens.to_array() if request.text_tokens is not None else None
            inputs.append((video, candidate, text))
        ready = [x for x in inputs if not isinstance(x, RankingError)]
        if not ready:
            return [x for x in inputs if isinstance(x, RankingError)]
        video, video_mask = _padded([v for v, _, _ in ready])
        batch: dict[str, Any] = {"video": torch.from_numpy(video), "video_mask": torch.from_numpy(video_mask)}
        for name, mask_name, column in (("candidate", "candidate_mask", 1), ("text_tokens", "text_mask", 2)):
            rows: list[np.ndarray | None] = [x[column] for x in ready]
            if any(r is not None for r in rows):
                values, mask = _padded_optional(rows)
                batch |= {name: torch.from_numpy(values), mask_name: torch.from_numpy(mask)}
        with torch.inference_mode():
            vectors = iter(model.encode_query(**batch).numpy().astype(np.float32))
        return [x if isinstance(x, RankingError) else next(vectors) for x in inputs]

    def rank(self, request: RankRequest) -> RankResponse:
        [result] = self.rank_many([request])
        if isinstance(result, RankingError):
            raise result
        return result

    def rank_many(self, requests: list[RankRequest]) -> list[RankResponse | RankingError]:
        """Rank several requests with one query-tower pass and one engine call (concurrent turns)."""
        for _ in range(_BATCH_ATTEMPTS - 1):
            try:
                return self._rank_batch(requests)
            except CollectionNotFoundError:
                # The collection this batch resolved was removed under it (gc of an old model's index after
                # later flips): the alias names its successor now, so the batch runs again, whole.
                continue
        return self._rank_batch(requests)

    def _rank_batch(self, requests: list[RankRequest]) -> list[RankResponse | RankingError]:
        # One resolve per batch: the query tower and the search both follow this physical collection, even
        # when the alias flips before the search (the old collection outlives the flip until gc).
        index_collection = self._store.resolve(TRACKS_COLLECTION)
        version, model = self.serving(index_collection)
        queries = self._query_vectors(requests, index_collection, model)
        searchable = [(request, query) for request, query in zip(requests, queries, strict=True)
                      if not isinstance(query, RankingError)]
        # A request with soft asks (the understood request) searches a wider pool and re-ranks it.
        steered = [needs_rerank(request.understood) for request, _ in searchable]
        fields = (*RESPONSE_FIELDS, *RERANK_FIELDS) if any(steered) else RESPONSE_FIELDS
        hits = self._store.search_many(index_collection, MUSIC_VECTOR, [
            NearestQuery(vector=query.tolist(), limit=pool_size(request.limit) if steer else request.limit,
                         filter=search_filter(request.filters), exclude_ids=_excluded(request))
            for (request, query), steer in zip(searchable, steered, strict=True)],
            with_payload=fields) if searchable else []
        candidates = self._candidate_payloads(index_collection, [
            request.candidate_track_id for (request, _), steer in zip(searchable, steered, strict=True)
            if steer and request.candidate_track_id is not None])
        answers = iter([
            rerank(found, request.understood, candidates.get(request.candidate_track_id or ""), request.limit)
            if steer and request.understood is not None else found
            for (request, _), steer, found in zip(searchable, steered, hits, strict=True)])
        return [query if isinstance(query, RankingError) else RankResponse(
            tracks=[_recommended(hit) for hit in next(answers)], model_version=version,
            index_collection=index_collection) for query in queries]

    def _candidate_payloads(self, collection: str, track_ids: list[str]) -> dict[str, dict[str, Any]]:
        """What re-ranking compares against: each candidate's tags, vocals flag, facts and length (one engine call
        for the batch's misses; a conversation's candidate comes back turn after turn, so it is cached)."""
        found: dict[str, dict[str, Any]] = {}
        missing = []
        for track_id in dict.fromkeys(track_ids):
            cached = self._candidate_views.get((collection, track_id))
            if cached is None:
                missing.append(track_id)
            else:
                found[track_id] = cached
        if missing:
            for record in self._store.retrieve(collection, missing):
                view = {key: record.payload.get(key) for key in ("tags", "vocals", "facts", "duration_s")}
                self._candidate_views.put((collection, record.id), view)
                found[record.id] = view
        return found


def _or_error(read: Callable[[str, Any], np.ndarray], key: str, payload: Any) -> np.ndarray | RankingError:
    try:
        return read(key, payload)
    except RankingError as error:
        return error


def _through_cache(cache: ExpiringLru[Any, np.ndarray], keys: list[str], cache_key: Callable[[str], Any],
                   fetch: Callable[[list[str]], dict[str, np.ndarray | RankingError]],
                   ) -> dict[str, np.ndarray | RankingError]:
    """Cached values for `keys`; the misses come from one `fetch`. Errors (a video still pending, an
    unknown track) are never cached: the next turn asks again."""
    found: dict[str, np.ndarray | RankingError] = {}
    missing = []
    for key in dict.fromkeys(keys):
        cached = cache.get(cache_key(key))
        if cached is None:
            missing.append(key)
        else:
            found[key] = cached
    if missing:
        for key, value in fetch(missing).items():
            if not isinstance(value, RankingError):
                cache.put(cache_key(key), value)
            found[key] = value
    return found


def _excluded(request: RankRequest) -> list[str]:
    candidate = [request.candidate_track_id] if request.candidate_track_id else []
    return list(dict.fromkeys([*request.exclude_track_ids, *candidate]))


def _recommended(hit: Hit) -> RecommendedTrack:
    payload = hit.payload
    return RecommendedTrack(
        track_id=hit.id, title=payload["title"], artist=payload["artist"], album=payload.get("album"),
        licence=payload.get("licence"), duration_s=payload["duration_s"], tags=payload["tags"], score=hit.score)
