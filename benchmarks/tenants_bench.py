"""Tenants at 100 (issue #15): one shared collection with a keyword payload index on `tenant` (every
search filtered by it) vs one collection per tenant, on the embedded engine (qdrant-edge).
Writes docs/benchmarks/tenants.{json,md}: ingest time, bytes on disk, search p50/p99.

Run: `.venv/bin/python benchmarks/tenants_bench.py [--tenants 100] [--per-tenant 200] [--queries 1000]`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import environment, fmt, peak_rss_mb, table, write_json, write_markdown  # noqa: E402

from musechat.store import MatchValue, SearchFilter  # noqa: E402
from musechat.store.base import CollectionSpec, PayloadIndexKind, PointRecord  # noqa: E402
from musechat.store.settings import StoreSettings, open_store  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
VECTOR = "music"
BATCH = 500


def _bytes(path: Path) -> tuple[int, int]:
    """(allocated, apparent): the engine preallocates sparse mmap files, so the apparent size overstates."""
    files = [f.stat() for f in path.rglob("*") if f.is_file()]
    return sum(f.st_blocks * 512 for f in files), sum(f.st_size for f in files)


def _tenant(t: int) -> str:
    return f"tenant-{t:03d}"


def run_layout(layout: str, workdir: Path, vectors: np.ndarray, tenants: int, queries: np.ndarray,
               query_tenants: np.ndarray, limit: int) -> dict[str, Any]:
    path = workdir / layout
    shutil.rmtree(path, ignore_errors=True)
    store = open_store(StoreSettings(backend="edge", path=path))
    per_tenant = len(vectors) // tenants
    dim = vectors.shape[1]
    try:
        started = time.perf_counter()
        if layout == "shared_payload_index":
            store.create_collection(CollectionSpec(name="tracks", vectors={VECTOR: dim},
                                                   payload_indexes={"tenant": PayloadIndexKind.KEYWORD}))
        for t in range(tenants):
            name = "tracks" if layout == "shared_payload_index" else f"tracks-{_tenant(t)}"
            if layout == "collection_per_tenant":
                store.create_collection(CollectionSpec(name=name, vectors={VECTOR: dim}))
            rows = vectors[t * per_tenant:(t + 1) * per_tenant]
            points = [PointRecord(id=f"{_tenant(t)}-trk-{i:05d}", vectors={VECTOR: row.tolist()},
                                  payload={"tenant": _tenant(t)}) for i, row in enumerate(rows)]
            for start in range(0, len(points), BATCH):
                store.upsert(name, points[start:start + BATCH])
        for name in store.list_collections():  # build the search indexes: part of what ingest costs
            store.optimize(name)
        ingest_s = time.perf_counter() - started
        latencies, wrong = [], 0
        for query, t in zip(queries, query_tenants, strict=True):
            tenant = _tenant(int(t))
            began = time.perf_counter()
            if layout == "shared_payload_index":
                hits = store.search("tracks", VECTOR, query.tolist(), limit=limit, with_payload=["tenant"],
                                    filter=SearchFilter(must=[MatchValue(key="tenant", value=tenant)]))
            else:
                hits = store.search(f"tracks-{tenant}", VECTOR, query.tolist(), limit=limit, with_payload=False)
            latencies.append((time.perf_counter() - began) * 1000)
            wrong += sum(not hit.id.startswith(tenant) for hit in hits)
    finally:
        store.close()
    allocated, apparent = _bytes(path)
    return {"ingest_s": round(ingest_s, 2), "bytes_allocated": allocated, "bytes_apparent": apparent,
            "search_p50_ms": float(np.percentile(latencies, 50)),
            "search_p99_ms": float(np.percentile(latencies, 99)), "queries": len(latencies),
            "hits_from_another_tenant": wrong}


def render(result: dict[str, Any]) -> list[str]:
    rows = [[name, fmt(r["ingest_s"], 2), fmt(r["bytes_allocated"] / 2**20, 1),
             fmt(r["bytes_apparent"] / 2**20, 1), fmt(r["search_p50_ms"], 2),
             fmt(r["search_p99_ms"], 2), r["hits_from_another_tenant"]] for name, r in result["layouts"].items()]
    return ["# Tenants at 100: payload index vs a collection per tenant", "",
            f"{result['environment']}; peak RSS {fmt(result['peak_rss_mb'])} MB. Command: `{result['command']}`. "
            f"qdrant-edge (embedded), {result['tenants']} tenants x {result['per_tenant']} points of "
            f"{result['dim']} dims (random unit vectors), top-{result['limit']} searches for {result['queries']} "
            "queries on random tenants, the same queries for both layouts, one after the other in one process.", "",
            *table(["layout", "ingest s", "MiB allocated", "MiB apparent", "search p50 ms", "search p99 ms",
                    "hits from another tenant"], rows), "",
            "Ingest includes `optimize` (index build) of every collection. Shared = one `tracks` collection "
            "with a keyword payload index on `tenant`, every search filtered by "
            "it; per tenant = one collection each, searched without a filter. Allocated = disk blocks of the store "
            "folder's files after the run; apparent = their sizes (the engine preallocates sparse mmap files)."]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--per-tenant", type=int, default=200)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "tenants")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((args.tenants * args.per_tenant, args.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((args.queries, args.dim)).astype(np.float32)
    query_tenants = rng.integers(0, args.tenants, args.queries)
    env = environment()
    result: dict[str, Any] = {"command": " ".join(["benchmarks/tenants_bench.py", *sys.argv[1:]]),
                              "tenants": args.tenants, "per_tenant": args.per_tenant, "dim": args.dim,
                              "queries": args.queries, "limit": args.limit, "layouts": {}}
    for layout in ("shared_payload_index", "collection_per_tenant"):
        result["layouts"][layout] = run_layout(layout, args.workdir, vectors, args.tenants, queries, query_tenants,
                                               args.limit)
        print(layout, result["layouts"][layout], flush=True)
    result["environment"] = env.summary(note="shared with other jobs")
    result["peak_rss_mb"] = peak_rss_mb()
    write_json(OUT / "tenants.json", result)
    write_markdown(OUT / "tenants.md", render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
