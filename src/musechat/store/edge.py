"""`EdgeStore`: Qdrant Edge (Qdrant's Rust engine, in-process) behind the `VectorStore` interface.

On-disk layout under the root directory:

    aliases.json                    alias -> collection, replaced atomically (see aliases.py)
    collections/<name>/spec.json    the CollectionSpec; written last, so its presence means "complete"
    collections/<name>/shard/       one EdgeShard (segments, WAL, HNSW, payload indexes)
    collections/<name>/.owner.lock  flock held by the process that has the shard open

Concurrency model. An edge shard is single-process: its WAL is locked by whoever opened it. We make
that explicit with our own per-collection owner lock, taken (non-blocking) when a shard is opened, so a
second process gets `CollectionBusyError` naming the collection instead of an engine error. Different
processes may therefore share one root as long as they use different collections at a time, which is
exactly blue/green: a rebuild process creates and loads `tracks_v2` while the search process serves
`tracks_v1`; the rebuilder closes v2 and flips the alias; the search process reads the alias table on
every call, so its next query opens v2 and releases v1 (a collection an alias moved away from, and no
alias still targets, is closed on the next call; a later use by name reopens it); the rebuilder can
then drop v1. Within a process all engine calls are serialised by
one lock (queries are ~1 ms and the engine parallelises each query internally).

Payloads of search hits. Reading a stored payload costs the engine tens of microseconds per point (more
than the int8 HNSW walk for a pool of 40 hits), so a search asks the engine for ids and scores only and
takes the payloads from a per-collection LRU of decoded payloads (`payload_cache_entries`), reading the
misses in one `retrieve`. The cache is exact, not eventually consistent: the owner lock makes this process
the shard's only writer, and every upsert and delete here drops the points it touches.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Unpack

from musechat.lru import ExpiringLru
from musechat.store.aliases import AliasFile, write_atomic
from musechat.store.base import (
    ENTITY_ID_KEY,
    QUANTILE,
    CollectionBusyError,
    CollectionNotFoundError,
    CollectionSpec,
    EngineStore,
    Hit,
    IndexTuning,
    IndexTuningArgs,
    NearestQuery,
    PayloadIndexKind,
    PointRecord,
    SearchFilter,
    check_vectors,
    entity_id_of,
    hits_of,
    point_uuid,
    public_payload,
    to_point_record,
    validate_name,
)
from musechat.store.filters import decode_edge_bools, encode_edge_bools, to_edge_filter

if TYPE_CHECKING:
    import qdrant_edge

_UPSERT_CHUNK = 1024
# The engine's only vector of a collection without vectors (see `_engine_config`); never written.
RECORDS_PLACEHOLDER = "_records"


# A stored payload stays valid until this process writes its point (see the module docstring): no age limit.
_NO_EXPIRY = float("inf")


@dataclass
class _Open:
    shard: qdrant_edge.EdgeShard
    spec: CollectionSpec
    owner_lock: IO[bytes]
    payloads: ExpiringLru[str, dict[str, Any]] | None = None  # decoded stored payloads by point id

    @property
    def bool_keys(self) -> frozenset[str]:
        return frozenset(k for k, kind in self.spec.payload_indexes.items() if kind is PayloadIndexKind.BOOL)


class EdgeStore(EngineStore):
    def __init__(
        self,
        root: Path,
        *,
        search_threads: int | None = 1,
        max_segment_size_kb: int | None = None,
        payload_cache_entries: int = 20_000,
        **tuning: Unpack[IndexTuningArgs],
    ) -> None:
        if payload_cache_entries < 0:
            raise ValueError(f"payload_cache_entries must be >= 0 (0 = off), got {payload_cache_entries}")
        self._root = Path(root)
        self._collections = self._root / "collections"
        self._collections.mkdir(parents=True, exist_ok=True)
        self._alias_file = AliasFile(self._root / "aliases.json")
        self._tuning = IndexTuning(**tuning)
        self._search_threads = search_threads
        self._max_segment_size_kb = max_segment_size_kb
        self._payload_cache_entries = payload_cache_entries
        self._open: dict[str, _Open] = {}
        self._seen_aliases: dict[str, str] = {}
        self._lock = threading.RLock()
        self._closed = False

    # ---- layout and locking -------------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        return self._collections / validate_name(name)

    def _spec_path(self, name: str) -> Path:
        return self._dir(name) / "spec.json"

    def _read_spec(self, name: str) -> CollectionSpec:
        try:
            return CollectionSpec.model_validate_json(self._spec_path(name).read_bytes())
        except FileNotFoundError:
            raise CollectionNotFoundError(f"collection {name!r} does not exist under {self._root}") from None

    def _take_owner_lock(self, name: str) -> IO[bytes]:
        fh = open(self._dir(name) / ".owner.lock", "a+b")  # noqa: SIM115 - held until the shard closes
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise CollectionBusyError(
                f"collection {name!r} is open in another process (or another store in this one); "
                "edge shards are single-process: close it there first"
            ) from None
        return fh

    def _engine_config(self, spec: CollectionSpec, creating: bool = False) -> qdrant_edge.EdgeConfig:
        import qdrant_edge as qe

        tuning = self._tuning
        cosine = qe.Distance.Cosine
        # Quantization is chosen at creation and persisted with the shard; loading keeps what it has.
        quantization = (qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=QUANTILE, always_ram=True)
                        if creating and tuning.quantization == "int8" and spec.vectors else None)
        # A record collection (no vectors) still needs one vector config for the engine, which refuses a
        # shard without any: a sparse one that no point ever carries costs nothing per point, where the
        # smallest dense one would still reserve a slot (and a deleted flag) for every point.
        sparse = {} if spec.vectors else {RECORDS_PLACEHOLDER: qe.EdgeSparseVectorParams()}
        return qe.EdgeConfig(
            vectors={n: qe.EdgeVectorParams(size=d, distance=cosine) for n, d in spec.vectors.items()},
            sparse_vectors=sparse or None,
            # Edge payloads are memory-mapped from disk by default already; a cold collection says so.
            payload_memory=qe.Memory.Cold if spec.payload_on_disk else None,
            hnsw_config=qe.HnswIndexConfig(m=tuning.hnsw_m, ef_construct=tuning.hnsw_ef_construct,
                                           full_scan_threshold=tuning.full_scan_threshold_kb),
            quantization_config=quantization,
            max_search_threads=self._search_threads,
            # Bounds what one HNSW build holds in memory (and so the build peak), at the price of more
            # segments to search per query (docs/sizing.md).
            optimizers=(qe.EdgeOptimizersConfig(max_segment_size=self._max_segment_size_kb)
                        if self._max_segment_size_kb else None),
        )

    def _where(self) -> str:
        return f" under {self._root}"

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._lock:
            self._check_open()
            yield

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")

    def _get(self, name_or_alias: str) -> _Open:
        """The open shard behind a name or alias, opening it on first use."""
        name = self.resolve(name_or_alias)
        if name in self._open:
            return self._open[name]
        import qdrant_edge as qe

        spec = self._read_spec(name)
        lock = self._take_owner_lock(name)
        try:
            shard = qe.EdgeShard.load(str(self._dir(name) / "shard"), self._engine_config(spec))
        except BaseException:
            lock.close()
            raise
        self._open[name] = _Open(shard, spec, lock, self._payload_cache())
        return self._open[name]

    def _payload_cache(self) -> ExpiringLru[str, dict[str, Any]] | None:
        entries = self._payload_cache_entries
        return ExpiringLru(entries, _NO_EXPIRY) if entries else None

    def _release(self, name: str) -> None:
        entry = self._open.pop(name, None)
        if entry is not None:
            entry.shard.close()
            entry.owner_lock.close()  # closing the descriptor drops the flock

    @contextlib.contextmanager
    def _using(self, name_or_alias: str) -> Iterator[_Open]:
        with self._lock:
            self._check_open()
            yield self._get(name_or_alias)

    # ---- collections and aliases -------------------------------------------------------------

    def _alias_table(self) -> dict[str, str]:
        return self._alias_file.read()

    def resolve(self, name_or_alias: str) -> str:
        with self._lock:
            table = self._alias_file.read()
            if table != self._seen_aliases:
                self._release_moved(table)
            return table.get(name_or_alias, name_or_alias)

    def _release_moved(self, table: dict[str, str]) -> None:
        # A flip (here or in another process) leaves the old target reachable by name only: close it so
        # its owner lock is free for whoever drops it; a later use by name simply reopens it.
        still_targeted = set(table.values())
        for old in set(self._seen_aliases.values()) - still_targeted:
            self._release(old)
        self._seen_aliases = table

    def _exists(self, name: str) -> bool:
        return self._spec_path(name).is_file()

    def list_collections(self) -> list[str]:
        return sorted(p.parent.name for p in self._collections.glob("*/spec.json"))

    def _create(self, spec: CollectionSpec) -> None:
        import qdrant_edge as qe

        directory = self._dir(spec.name)
        directory.mkdir(parents=True, exist_ok=True)
        lock = self._take_owner_lock(spec.name)
        try:
            # No spec.json means an earlier create died half-way: start that shard over.
            shutil.rmtree(directory / "shard", ignore_errors=True)
            shard = qe.EdgeShard.create(str(directory / "shard"), self._engine_config(spec, creating=True))
            for key, kind in spec.payload_indexes.items():
                shard.update(qe.UpdateOperation.create_field_index(key, _edge_schema(kind)))
            shard.flush()
            write_atomic(self._spec_path(spec.name), spec.model_dump_json(indent=2))
        except BaseException:
            lock.close()
            raise
        self._open[spec.name] = _Open(shard, spec, lock, self._payload_cache())

    def _drop(self, name: str) -> None:
        self._release(name)
        lock = self._take_owner_lock(name)
        try:
            self._spec_path(name).unlink()
            shutil.rmtree(self._dir(name))
        finally:
            lock.close()

    def _point_alias(self, alias: str, target: str) -> None:
        self._release_moved(self._alias_file.set(alias, target))

    # ---- points ------------------------------------------------------------------------------

    def upsert(self, collection: str, points: Sequence[PointRecord]) -> None:
        import qdrant_edge as qe

        with self._using(collection) as c:
            engine_points = []
            for p in points:
                check_vectors(c.spec.name, c.spec.vectors, p.vectors)
                payload = encode_edge_bools({**p.payload, ENTITY_ID_KEY: p.id}, c.bool_keys)
                engine_points.append(qe.Point(id=point_uuid(p.id), vector=dict(p.vectors), payload=payload))
            for start in range(0, len(engine_points), _UPSERT_CHUNK):
                chunk = engine_points[start : start + _UPSERT_CHUNK]
                c.shard.update(qe.UpdateOperation.upsert_points(chunk))
                _forget(c, [str(point.id) for point in chunk])

    def _search_batch(self, collection: str, vector_name: str, queries: Sequence[NearestQuery],
                      with_payload: bool | Sequence[str], keys: list[str] | None) -> list[list[Hit]]:
        import qdrant_edge as qe

        cached = self._payload_cache_entries > 0
        selector: Any = (False if cached else True if with_payload is True
                         else qe.PayloadSelector.Include([*(keys or []), ENTITY_ID_KEY]))
        # Rescoring is explicit: without it a quantized collection answers from int8 scores alone.
        approximate = qe.SearchParams(hnsw_ef=self._tuning.hnsw_ef, quantization=qe.QuantizationSearchParams(
            rescore=True, oversampling=self._tuning.oversampling))
        exact = qe.SearchParams(exact=True, quantization=qe.QuantizationSearchParams(ignore=True))
        with self._using(collection) as c:
            requests = []
            for q in queries:
                check_vectors(c.spec.name, c.spec.vectors, {vector_name: q.vector})
                requests.append(qe.QueryRequest(
                    limit=q.limit,
                    query=qe.Query.Nearest([float(x) for x in q.vector], using=vector_name),
                    filter=to_edge_filter(q.filter, [point_uuid(i) for i in q.exclude_ids], c.bool_keys),
                    with_payload=selector,
                    params=exact if q.exact else approximate,
                ))
            if not requests:
                return []
            # One request alone goes through `query`: `query_batch` plans for sharing work across queries.
            scored = [c.shard.query(requests[0])] if len(requests) == 1 else c.shard.query_batch(
                qe.QueryBatchRequest(requests))
            bool_keys = c.bool_keys
            if c.payloads is not None:
                return _hits_from_cache(c, scored, with_payload, keys)
        return [hits_of(points, with_payload, lambda p: decode_edge_bools(p, bool_keys)) for points in scored]

    def _retrieve(self, collection: str, point_ids: list[str]) -> list[PointRecord]:
        with self._using(collection) as c:
            records = c.shard.retrieve(_engine_ids(point_ids), True, True)
            bool_keys = c.bool_keys
        return [_record(r, bool_keys) for r in records]

    def _scroll(self, collection: str, filter: SearchFilter | None, fields: Sequence[str] | None,
                with_vectors: bool, batch_size: int) -> Iterator[PointRecord]:
        import qdrant_edge as qe

        selector = True if fields is None else qe.PayloadSelector.Include([*fields, ENTITY_ID_KEY])
        offset: Any = None
        while True:
            # The lock is held per batch only, so a slow consumer of this iterator blocks nobody.
            with self._using(collection) as c:
                request = qe.ScrollRequest(
                    offset=offset,
                    limit=batch_size,
                    filter=to_edge_filter(filter, (), c.bool_keys),
                    with_payload=selector,
                    with_vector=with_vectors,
                )
                records, offset = c.shard.scroll(request)
                bool_keys = c.bool_keys
            yield from (_record(r, bool_keys) for r in records)
            if offset is None:
                return

    def count(self, collection: str, filter: SearchFilter | None = None) -> int:
        import qdrant_edge as qe

        with self._using(collection) as c:
            return c.shard.count(qe.CountRequest(exact=True, filter=to_edge_filter(filter, (), c.bool_keys)))

    def _delete(self, collection: str, point_ids: list[str]) -> None:
        import qdrant_edge as qe

        if not point_ids:
            return
        with self._using(collection) as c:
            c.shard.update(qe.UpdateOperation.delete_points(_engine_ids(point_ids)))
            _forget(c, point_ids)

    def optimize(self, collection: str) -> None:
        with self._using(collection) as c:
            c.shard.optimize()
            c.shard.flush()

    def close(self) -> None:
        with self._lock:
            for name in list(self._open):
                entry = self._open[name]
                entry.shard.flush()
                self._release(name)
            self._closed = True


def _forget(c: _Open, point_ids: list[str]) -> None:
    if c.payloads is not None:
        for point_id in point_ids:
            c.payloads.discard(point_id)


def _hits_from_cache(c: _Open, scored: list[list[Any]], with_payload: bool | Sequence[str],
                     keys: list[str] | None) -> list[list[Hit]]:
    """Hits for engine points scored without payloads: each point's payload from the cache, the misses
    read in one `retrieve` (string ids: the engine converts `uuid.UUID` objects several times slower)."""
    assert c.payloads is not None
    # Each `.id` read builds a new uuid.UUID: read every one once.
    ranked = [[(str(p.id), p.score) for p in points] for points in scored]
    stored: dict[str, dict[str, Any]] = {}
    missing = []
    for point_id in dict.fromkeys(point_id for points in ranked for point_id, _ in points):
        payload = c.payloads.get(point_id)
        if payload is None:
            missing.append(point_id)
        else:
            stored[point_id] = payload
    if missing:
        bool_keys = c.bool_keys
        for record in c.shard.retrieve(_engine_ids(missing), True, False):
            point_id = str(record.id)
            stored[point_id] = decode_edge_bools(record.payload or {}, bool_keys)
            c.payloads.put(point_id, stored[point_id])
    wanted = None if with_payload is True else keys or ()
    return [[Hit(
        id=entity_id_of(payload, point_id), score=score,
        payload=public_payload(payload) if wanted is None else {k: payload[k] for k in wanted if k in payload})
        for point_id, score in points for payload in (stored[point_id],)] for points in ranked]


def _engine_ids(point_ids: list[str]) -> list[int | uuid.UUID | str]:
    return [*point_ids]


def _record(r: qdrant_edge.Record, bool_keys: frozenset[str]) -> PointRecord:
    rec = to_point_record(r.id, r.vector, r.payload)
    rec.payload = decode_edge_bools(rec.payload, bool_keys)
    return rec


def _edge_schema(kind: PayloadIndexKind) -> qdrant_edge.PayloadSchemaType:
    import qdrant_edge as qe

    return {
        PayloadIndexKind.KEYWORD: qe.PayloadSchemaType.Keyword,
        PayloadIndexKind.INTEGER: qe.PayloadSchemaType.Integer,
        PayloadIndexKind.FLOAT: qe.PayloadSchemaType.Float,
        # Stored as 0/1, see filters.encode_edge_bools.
        PayloadIndexKind.BOOL: qe.PayloadSchemaType.Integer,
    }[kind]
