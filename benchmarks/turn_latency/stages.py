"""Where a turn's time goes (each stage alone, in-process, against the engine's store) and the engine's
search quality against exact search: the turn-latency benchmark's in-process measurements."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np

from turn_latency.params import BATCH_STAGE, LIMIT, PHRASES, TEXT_DIM, VIDEO_ID, unique_phrases


def stage_breakdown(workdir: Path, checkpoint: Path, bootstrap: str, reps: int) -> dict[str, float]:
    """Median ms of each stage of a turn, in-process, one at a time, with the gateway's own components
    against the engine's store (before the server opens it): where a turn's time goes."""
    import uuid

    import torch

    from musechat.bus import BusSettings, EventProducer
    from musechat.contracts.catalog import MUSIC_VECTOR, TRACKS_COLLECTION, VOCAL_TAGS
    from musechat.contracts.conversation import ConversationTurn
    from musechat.contracts.envelope import EventEnvelope
    from musechat.contracts.ranking import RankRequest
    from musechat.contracts.topics import Topic
    from musechat.encoders.text import TextEncoder, load_spec
    from musechat.gateway.constraints import parse_constraints
    from musechat.gateway.ports import CachedTextEncoder, InProcessTextEncoder
    from musechat.gateway.settings import GatewaySettings
    from musechat.gateway.state import ConversationState, StateSigner
    from musechat.ranker.core import RESPONSE_FIELDS, FusionRanker, search_filter
    from musechat.store import MatchAny, NearestQuery, SearchFilter
    from musechat.store.edge import EdgeStore

    torch_threads = GatewaySettings.model_fields["torch_threads"].default
    loop = asyncio.new_event_loop()  # the async ports and the awaited publish, on one loop as in the server

    def median_ms(fn: Any, n: int = reps) -> float:
        fn()
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t)
        return round(float(np.median(samples)) * 1000, 2)

    torch.set_num_threads(torch_threads)
    store = EdgeStore(workdir / "edge")
    producer = EventProducer(BusSettings(bootstrap_servers=bootstrap, client_id="turn-bench"))
    encoder = TextEncoder.load(load_spec())
    port = InProcessTextEncoder(encoder)
    try:
        cached = CachedTextEncoder(port)
        ranker = FusionRanker.load(store, checkpoint)
        signer = StateSigner(b"bench-secret-bench-secret")
        excluded = [f"trk-{i:07d}" for i in range(1, 5)]
        [encoding] = loop.run_until_complete(cached.encode([PHRASES[0]]))
        request = RankRequest(video_id=VIDEO_ID, candidate_track_id="trk-0000000", text_tokens=encoding.tokens,
                              exclude_track_ids=excluded, limit=LIMIT)
        query = ranker.query_vector(request).tolist()
        state = ConversationState(conversation_id="conv-bench", video_id=VIDEO_ID, turn=3,
                                  candidate_track_id="trk-0000000", excluded_track_ids=excluded)
        token = signer.sign(state)
        misses = iter(unique_phrases())
        event = EventEnvelope[Any](id="x", type=Topic.CONVERSATION_TURN.event_type, source="bench",
                                   subject="conv-bench", data=ConversationTurn(
                                       conversation_id="conv-bench", turn=3, video_id=VIDEO_ID, text=PHRASES[0],
                                       filters=state.filters, recommended_track_ids=excluded, scores=[0.5] * 4,
                                       model_version=ranker.version))

        def publish() -> None:
            loop.run_until_complete(producer.publish_async(
                Topic.CONVERSATION_TURN, event.model_copy(update={"id": str(uuid.uuid4())})))

        # Ten different conversations at once: distinct candidates (so the candidate cache does not hide
        # the lookups the first turn of each pays) and their own exclusions.
        batch = [request.model_copy(update={"candidate_track_id": f"trk-{100 + i:07d}",
                                            "exclude_track_ids": [f"trk-{200 + 8 * i + j:07d}" for j in range(8)]})
                 for i in range(BATCH_STAGE)]
        nearest = [NearestQuery(vector=query, limit=LIMIT, exclude_ids=excluded)] * BATCH_STAGE
        instrumental = search_filter(parse_constraints(PHRASES[2]))  # "No vocals, please."
        as_tags = SearchFilter(must_not=[MatchAny(key="tags", values=list(VOCAL_TAGS))])  # the filter before the flag
        collection = store.resolve(TRACKS_COLLECTION)
        model = ranker.serving(collection)[1]  # the query tower serving that collection

        def per_turn(ms: float) -> float:
            return round(ms / BATCH_STAGE, 2)

        def cold(fn: Any) -> Any:  # each call pays the store lookups and decoding, as a first turn does
            def call() -> Any:
                ranker._videos.clear()
                ranker._tracks.clear()
                return fn()
            return call

        t = torch_threads
        return {
            "state verify + sign": median_ms(lambda: signer.sign(signer.verify(token, "conv-bench"))),
            "text encoding, cache hit": median_ms(lambda: loop.run_until_complete(cached.encode([PHRASES[0]]))),
            f"text encoding, miss ({t} torch thread)": median_ms(lambda: encoder.encode([next(misses)])),
            f"text encoding, {BATCH_STAGE} misses in one batch, per text": per_turn(
                median_ms(lambda: encoder.encode([next(misses) for _ in range(BATCH_STAGE)]))),
            "fusion query, features cached (video + candidate seen before)": median_ms(
                lambda: ranker.query_vector(request)),
            "fusion query, features fetched and decoded (first turn on them)": median_ms(
                cold(lambda: ranker.query_vector(request))),
            f"fusion query, {BATCH_STAGE} turns in one pass, features cached, per turn": per_turn(
                median_ms(lambda: ranker._query_vectors(batch, collection, model))),
            "ANN search, 1 query (int8 HNSW + rescoring)": median_ms(
                lambda: store.search(TRACKS_COLLECTION, MUSIC_VECTOR, query, limit=LIMIT, exclude_ids=excluded,
                                     with_payload=RESPONSE_FIELDS)),
            f"ANN search, {BATCH_STAGE} queries in one engine call, per turn": per_turn(median_ms(
                lambda: store.search_many(TRACKS_COLLECTION, MUSIC_VECTOR, nearest, with_payload=RESPONSE_FIELDS))),
            "ANN search, 1 query, \"no vocals\" (the indexed `vocals` flag)": median_ms(
                lambda: store.search(TRACKS_COLLECTION, MUSIC_VECTOR, query, limit=LIMIT, exclude_ids=excluded,
                                     filter=instrumental, with_payload=RESPONSE_FIELDS)),
            "ANN search, 1 query, \"no vocals\" as 18 excluded tags (before the flag)": median_ms(
                lambda: store.search(TRACKS_COLLECTION, MUSIC_VECTOR, query, limit=LIMIT, exclude_ids=excluded,
                                     filter=as_tags, with_payload=RESPONSE_FIELDS)),
            "exact search (every point scored), 1 query": median_ms(
                lambda: store.search_many(TRACKS_COLLECTION, MUSIC_VECTOR, [NearestQuery(
                    vector=query, limit=LIMIT, exclude_ids=excluded, exact=True)], with_payload=RESPONSE_FIELDS),
                n=max(5, reps // 10)),
            f"rank: fusion + search, {BATCH_STAGE} turns batched, per turn": per_turn(
                median_ms(lambda: ranker.rank_many(batch))),
            "rank: fusion + search, 1 turn": median_ms(lambda: ranker.rank(request)),
            "Kafka publish, ack awaited": median_ms(publish),
        } | _hosted_stages(store, workdir, checkpoint, batch, median_ms, per_turn) | _pool_stages(workdir, median_ms)
    finally:
        port.close()
        producer.close()
        store.close()
        loop.close()


def _hosted_stages(store: Any, workdir: Path, checkpoint: Path, batch: list[Any], median_ms: Any,
                   per_turn: Any) -> dict[str, float]:
    """The batched rank again, through the engine process as the gateway runs it (the in-process store is
    closed first: the child opens the same collections)."""
    from musechat.gateway.ports import HostedRanker
    from musechat.gateway.runtime import RANKER, build_engine
    from musechat.gateway.settings import GatewaySettings
    from musechat.hosting import ProcessHost
    from musechat.store import StoreSettings

    store.close()
    defaults = GatewaySettings.model_fields
    host = ProcessHost("bench-engine", build_engine, StoreSettings(backend="edge", path=workdir / "edge"), checkpoint,
                       defaults["feature_cache_entries"].default, defaults["torch_threads"].default)
    try:
        hosted = HostedRanker(host, RANKER)
        return {f"rank: fusion + search, {BATCH_STAGE} turns batched, through the engine process's pipe, per turn":
                per_turn(median_ms(lambda: hosted.rank_many(batch)))}
    finally:
        host.close()


def _pool_stages(workdir: Path, median_ms: Any) -> dict[str, float]:
    """The search of a turn that re-ranks (a pool of hits with the response and re-rank fields) with the
    store's payload cache off and on. *New*: every call a query near a track not searched around before
    (its hits' payloads never read: the cache cold); *again*: one query repeated (every hit cached). The
    queries are stored tracks' own vectors, a different set for each line."""
    from musechat.contracts.catalog import MUSIC_VECTOR, TRACKS_COLLECTION
    from musechat.ranker.attributes import RERANK_FIELDS, pool_size
    from musechat.ranker.core import RESPONSE_FIELDS
    from musechat.store import NearestQuery
    from musechat.store.edge import EdgeStore
    from musechat.store.settings import StoreSettings

    fields, pool = (*RESPONSE_FIELDS, *RERANK_FIELDS), pool_size(LIMIT)
    name = f"ANN search, re-ranking pool ({pool} hits with the re-rank fields), 1 query"
    cached = StoreSettings.model_fields["payload_cache_entries"].default
    out = {}
    for offset, (entries, label) in enumerate(((0, "payload cache off"), (cached, "payload cache on"))):
        with EdgeStore(workdir / "edge", payload_cache_entries=entries) as store:
            probes = store.retrieve(TRACKS_COLLECTION, [f"trk-{i * 97 + 41 * offset:07d}" for i in range(1000)])
            queries = iter([NearestQuery(vector=p.vectors[MUSIC_VECTOR], limit=pool) for p in probes])
            same = next(queries)

            def search(query: NearestQuery, store: EdgeStore = store) -> None:
                store.search_many(TRACKS_COLLECTION, MUSIC_VECTOR, [query], with_payload=fields)

            def new(queries: Any = queries) -> None:
                search(next(queries))

            out[f"{name}, {label}, new query each time"] = median_ms(new, n=min(200, len(probes) - 2))
            out[f"{name}, {label}, the same query again"] = median_ms(lambda same=same: search(same))
    return out


def search_quality(workdir: Path, checkpoint: Path, tracks: int, queries: int, seed: int) -> list[dict[str, Any]]:
    """Recall@LIMIT of the engine's search against exact search, for real turn queries (the query tower's
    output for random candidates, phrases and exclusions, a third with the "no vocals" filter), and the
    median time per query, at several search-time `hnsw_ef` (the served default marked)."""
    from musechat.contracts.catalog import MUSIC_VECTOR, TRACKS_COLLECTION
    from musechat.contracts.features import FeatureMatrix
    from musechat.contracts.ranking import RankRequest
    from musechat.gateway.constraints import parse_constraints
    from musechat.ranker.core import FusionRanker, search_filter
    from musechat.store import NearestQuery
    from musechat.store.edge import EdgeStore
    from musechat.store.settings import StoreSettings

    rng = np.random.default_rng(seed)
    served = StoreSettings.model_fields["hnsw_ef"].default
    no_vocals = search_filter(parse_constraints("No vocals, please."))
    with EdgeStore(workdir / "edge") as store:
        ranker = FusionRanker.load(store, checkpoint)
        nearest = []
        for i in range(queries):
            tokens = FeatureMatrix.from_array(rng.standard_normal((8, TEXT_DIM), dtype=np.float32))
            candidate, *excluded = (f"trk-{int(j):07d}" for j in rng.choice(tracks, 9, replace=False))
            vector = ranker.query_vector(RankRequest(video_id=VIDEO_ID, candidate_track_id=candidate,
                                                     text_tokens=tokens, exclude_track_ids=excluded)).tolist()
            nearest.append(NearestQuery(vector=vector, limit=LIMIT, exclude_ids=[candidate, *excluded],
                                        filter=no_vocals if i % 3 == 0 else None))
        truth = [[h.id for h in hits] for hits in store.search_many(
            TRACKS_COLLECTION, MUSIC_VECTOR, [NearestQuery(vector=q.vector, limit=q.limit, filter=q.filter,
                                                           exclude_ids=q.exclude_ids, exact=True) for q in nearest],
            with_payload=False)]
    out = []
    for ef in (32, 64, 128, 256):
        with EdgeStore(workdir / "edge", hnsw_ef=ef) as store:
            store.search_many(TRACKS_COLLECTION, MUSIC_VECTOR, nearest, with_payload=False)  # warm the pages
            found, times = [], []
            for q in nearest:
                t = time.perf_counter()
                [hits] = store.search_many(TRACKS_COLLECTION, MUSIC_VECTOR, [q], with_payload=False)
                times.append(time.perf_counter() - t)
                found.append([h.id for h in hits])
        recall = float(np.mean([len(set(a) & set(b)) / LIMIT for a, b in zip(found, truth, strict=True)]))
        out.append({"hnsw_ef": ef, "served": ef == served, f"recall_at_{LIMIT}": round(recall, 4),
                    "median_ms": round(float(np.median(times)) * 1000, 3)})
    return out
