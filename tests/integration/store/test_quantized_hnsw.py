"""The engine's served search path for real: an HNSW graph over int8-quantized vectors, rescored with the
full vectors, keeps its recall against exact search (and honours filters and exclusions while doing so).

The conformance suite's collections are small enough for the engine to scan them exactly; here the
full-scan threshold is 0 so every query walks the graph, as a 100k-track catalog's queries do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musechat.store import CollectionSpec, MatchValue, NearestQuery, PayloadIndexKind, PointRecord, SearchFilter
from musechat.store.edge import EdgeStore

pytestmark = pytest.mark.integration

N, DIM, K = 3000, 64, 10


def _clustered(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit vectors around 30 centres: structured like embeddings, unlike uniform noise."""
    centres = rng.normal(size=(30, DIM))
    x = centres[rng.integers(0, 30, size=n)] + 0.35 * rng.normal(size=(n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("quantization", ["int8", "none"])
def test_hnsw_recall_against_exact_search(tmp_path: Path, quantization: str) -> None:
    rng = np.random.default_rng(7)
    vectors = _clustered(rng, N)
    spec = CollectionSpec(name="tracks_q", vectors={"music": DIM}, payload_indexes={"mood": PayloadIndexKind.KEYWORD})
    with EdgeStore(tmp_path / "edge", full_scan_threshold_kb=0, hnsw_ef=64,
                   quantization="int8" if quantization == "int8" else "none") as store:
        store.create_collection(spec)
        store.upsert("tracks_q", [PointRecord(id=f"t{i}", vectors={"music": v.tolist()},
                                              payload={"mood": "calm" if i % 2 else "dark"})
                                  for i, v in enumerate(vectors)])
        store.optimize("tracks_q")
        calm = SearchFilter(must=[MatchValue(key="mood", value="calm")])
        queries = []
        for q in vectors[rng.choice(N, 40, replace=False)] + 0.05 * rng.normal(size=(40, DIM)).astype(np.float32):
            queries.append(NearestQuery(vector=q.tolist(), limit=K, exclude_ids=("t1", "t3")))
            queries.append(NearestQuery(vector=q.tolist(), limit=K, filter=calm))
        served = store.search_many("tracks_q", "music", queries, with_payload=["mood"])
        truth = store.search_many("tracks_q", "music", [NearestQuery(
            vector=q.vector, limit=K, filter=q.filter, exclude_ids=q.exclude_ids, exact=True) for q in queries])

    recall = np.mean([len({h.id for h in a} & {h.id for h in b}) / K for a, b in zip(served, truth, strict=True)])
    assert recall >= 0.95, f"recall@{K} {recall:.3f} with quantization={quantization}"
    for query, hits in zip(queries, served, strict=True):
        assert len(hits) == K
        if query.filter is not None:
            assert all(h.payload["mood"] == "calm" for h in hits)
        assert not {"t1", "t3"} & {h.id for h in hits}
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
