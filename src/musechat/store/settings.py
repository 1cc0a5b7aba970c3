"""Store settings (env prefix MUSECHAT_STORE_) and `open_store`, the one place that picks a backend.

The backends never import this module (it imports them, inside `open_store`, so the engines load only
when a store is opened): settings are turned into plain constructor arguments here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.store.base import HNSW_EF, OVERSAMPLING, VectorStore

# `path` value that selects qdrant-client's in-memory local mode (tests, throwaway demos).
IN_MEMORY = Path(":memory:")


class StoreSettings(BaseSettings):
    """Which vector store to open.

    backend=edge: Qdrant Edge in-process under `path` (the single-machine default).
    backend=qdrant with `url`: a Qdrant server. backend=qdrant without `url`: qdrant-client's local
    mode at `path` (or in memory with path=":memory:"): same API as the server, brute-force search,
    for tests and small demos only.
    """

    model_config = SettingsConfigDict(env_prefix="MUSECHAT_STORE_", extra="ignore")

    backend: Literal["edge", "qdrant"] = "edge"
    path: Path = Path("var/qdrant-edge")
    url: str | None = Field(default=None, description="Qdrant server URL, e.g. http://qdrant:6333.")
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0, description="Qdrant server request timeout.")
    hnsw_m: int = Field(default=16, ge=4, description="HNSW edges per node.")
    hnsw_ef_construct: int = Field(default=100, ge=4, description="HNSW build-time candidate list.")
    full_scan_threshold_kb: int = Field(
        default=10_000, ge=0, description="Below this many KB of vectors a segment is searched exactly."
    )
    hnsw_ef: int | None = Field(
        default=HNSW_EF,
        ge=1,
        description="HNSW search-time candidate list; higher = better recall, slower (None = engine default). "
        "Calibrated with `oversampling` on 100k clustered 256-d vectors (docs/benchmarks/store.md).",
    )
    oversampling: float = Field(
        default=OVERSAMPLING,
        ge=1.0,
        description="With int8 quantization: how many times `limit` candidates the int8 search finds before "
        "they are rescored with the full vectors (docs/benchmarks/store.md).",
    )
    quantization: Literal["none", "int8"] = Field(
        default="int8",
        description="Vectors also kept as int8 (scalar quantization, in RAM) for the HNSW search; the best "
        "candidates (2x oversampled) are rescored with the full vectors. Set when a collection is created.",
    )
    shard_number: int | None = Field(
        default=None, ge=1, description="Qdrant server: shards per collection (None = one per node at creation, "
        "the server's default). Set at creation; at 10M+ pick a multiple of the node count so resharding "
        "is a replica move, not a re-index (docs/sizing.md).",
    )
    replication_factor: int | None = Field(
        default=None, ge=1, description="Qdrant server: copies of each shard. 2 wherever there are >= 3 nodes "
        "(the chart sets it), so a rolling restart keeps every shard readable; None = the server's default (1).",
    )
    write_consistency_factor: int | None = Field(
        default=None, ge=1, description="Qdrant server: copies that must acknowledge a write before it "
        "returns (<= replication_factor; None = the server's default, 1).",
    )
    on_disk: bool = Field(
        default=False, description="Qdrant server: full-precision vectors memory-mapped from disk (the int8 "
        "copy stays in RAM for the search; only rescoring reads the disk).",
    )
    on_disk_payload: bool = Field(
        default=True, description="Qdrant server: payloads on disk, only indexed fields in RAM.",
    )
    max_segment_size_kb: int | None = Field(
        default=None, ge=1, description="Largest segment the optimizer builds, in KB of vectors (None = the "
        "engine's default). Bounds the memory one HNSW build holds (build peak vs final index, docs/sizing.md) "
        "at the price of more segments per query. Set at creation.",
    )
    payload_cache_entries: int = Field(
        default=20_000, ge=0, description="Edge: decoded payloads of search hits kept in memory (LRU; 0 = off, "
        "every search reads its hits' payloads from the engine). Exact: this process is the shard's only "
        "writer and drops what it writes. ~1-3 KB each (docs/benchmarks/turn_latency.md).",
    )
    search_threads: int | None = Field(
        default=1, ge=1, description="Edge threads per query (None = number of CPUs). One: concurrency comes "
        "from concurrent requests, and a hand-off to a pool costs more than it saves on a 2-core node.",
    )

    @model_validator(mode="after")
    def _coherent(self) -> StoreSettings:
        if self.backend == "edge" and self.url is not None:
            raise ValueError("MUSECHAT_STORE_URL is only used with MUSECHAT_STORE_BACKEND=qdrant")
        if self.backend == "edge" and self.path == IN_MEMORY:
            raise ValueError("the edge backend persists to disk: set MUSECHAT_STORE_PATH to a directory")
        if (self.write_consistency_factor is not None
                and self.write_consistency_factor > (self.replication_factor or 1)):
            raise ValueError(
                f"MUSECHAT_STORE_WRITE_CONSISTENCY_FACTOR={self.write_consistency_factor} exceeds the "
                f"replication factor ({self.replication_factor or 1}): no write could ever be acknowledged"
            )
        return self


def open_store(settings: StoreSettings) -> VectorStore:
    """The store the settings name: edge under `path`, a Qdrant server at `url`, or qdrant-client's local
    mode at `path` (in memory for ":memory:")."""
    if settings.backend == "edge":
        from musechat.store.edge import EdgeStore

        return EdgeStore(
            settings.path,
            hnsw_m=settings.hnsw_m,
            hnsw_ef_construct=settings.hnsw_ef_construct,
            full_scan_threshold_kb=settings.full_scan_threshold_kb,
            hnsw_ef=settings.hnsw_ef,
            oversampling=settings.oversampling,
            quantization=settings.quantization,
            search_threads=settings.search_threads,
            max_segment_size_kb=settings.max_segment_size_kb,
            payload_cache_entries=settings.payload_cache_entries,
        )
    from qdrant_client import QdrantClient

    from musechat.store.qdrant import QdrantServerStore, ServerLayout

    if settings.url is not None:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        client = QdrantClient(url=settings.url, api_key=key, timeout=int(settings.timeout_s))
    elif settings.path == IN_MEMORY:
        client = QdrantClient(location=":memory:")
    else:
        settings.path.mkdir(parents=True, exist_ok=True)
        client = QdrantClient(path=str(settings.path))
    # Local mode is exact brute force, warns on every search that carries search params, and has no
    # cluster: no hnsw_ef, no quantization, no layout there.
    server = settings.url is not None
    return QdrantServerStore(
        client,
        hnsw_m=settings.hnsw_m,
        hnsw_ef_construct=settings.hnsw_ef_construct,
        full_scan_threshold_kb=settings.full_scan_threshold_kb,
        hnsw_ef=settings.hnsw_ef if server else None,
        oversampling=settings.oversampling,
        quantization=settings.quantization if server else "none",
        max_segment_size_kb=settings.max_segment_size_kb if server else None,
        layout=ServerLayout(
            shard_number=settings.shard_number,
            replication_factor=settings.replication_factor,
            write_consistency_factor=settings.write_consistency_factor,
            on_disk=settings.on_disk,
            on_disk_payload=settings.on_disk_payload,
        ) if server else None,
    )
