"""`QdrantServerStore`: a Qdrant server (or qdrant-client's local mode) behind `VectorStore`.

The server resolves aliases itself, atomically, on every request, so operations pass the caller's
name through unchanged; `resolve` asks the server. Vector names and dimensions are checked on our side
against a short-lived cache of the collection's config, so bad input fails with the same `ValueError`
on both backends instead of a transport error.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Unpack

from musechat.store.base import (
    ENTITY_ID_KEY,
    QUANTILE,
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
    StoreError,
    check_vectors,
    hits_of,
    point_uuid,
    to_point_record,
)
from musechat.store.filters import to_qdrant_filter

if TYPE_CHECKING:
    from qdrant_client import QdrantClient
    from qdrant_client import models as qm

_UPSERT_CHUNK = 256
# How long a collection's vector config is trusted; only input validation uses it, the server remains
# the authority, so a stale entry can at worst let the server reject a request itself.
_DIMS_TTL_S = 5.0


@dataclass(frozen=True)
class ServerLayout:
    """How a server collection is spread over the cluster and stored (ignored by local mode).

    Why: without these a collection on a 3-node cluster gets one shard copy per node and a rolling restart
    takes a third of the catalog offline. `replication_factor` 2 keeps every shard readable while one
    node restarts; `write_consistency_factor` is how many copies acknowledge a write before it returns.
    `on_disk` keeps the full-precision vectors memory-mapped (the int8 copy stays in RAM for the HNSW
    search, so only rescoring reads the disk); `on_disk_payload` keeps payloads on disk (only the
    indexed fields are in RAM). None leaves the server's default.
    """

    shard_number: int | None = None
    replication_factor: int | None = None
    write_consistency_factor: int | None = None
    on_disk: bool | None = None
    on_disk_payload: bool | None = None


class QdrantServerStore(EngineStore):
    def __init__(
        self,
        client: QdrantClient,
        *,
        optimize_timeout_s: float = 600.0,
        layout: ServerLayout | None = None,
        max_segment_size_kb: int | None = None,
        **tuning: Unpack[IndexTuningArgs],
    ) -> None:
        self._client = client
        self._layout = layout or ServerLayout()
        self._max_segment_size_kb = max_segment_size_kb
        # Unlike the edge store, exact search unless asked: local mode (the default client) has no HNSW.
        self._tuning = IndexTuning(**(IndexTuningArgs(hnsw_ef=None, quantization="none") | tuning))
        self._optimize_timeout_s = optimize_timeout_s
        self._dims: dict[str, tuple[float, dict[str, int]]] = {}

    # ---- collections and aliases -------------------------------------------------------------

    def _alias_table(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self._client.get_aliases().aliases}

    def _exists(self, name: str) -> bool:
        return bool(self._client.collection_exists(name))

    def list_collections(self) -> list[str]:
        return sorted(c.name for c in self._client.get_collections().collections)

    def _vector_dims(self, collection: str) -> dict[str, int]:
        cached = self._dims.get(collection)
        if cached is not None and time.monotonic() - cached[0] < _DIMS_TTL_S:
            return cached[1]
        name = self.resolve(collection)
        if not self._client.collection_exists(name):
            raise CollectionNotFoundError(f"collection {collection!r} does not exist")
        params = self._client.get_collection(name).config.params.vectors
        if not isinstance(params, dict):
            raise StoreError(f"collection {name!r} has an unnamed vector; this store uses named vectors only")
        dims = {vname: p.size for vname, p in params.items()}
        self._dims[collection] = (time.monotonic(), dims)
        return dims

    def _create(self, spec: CollectionSpec) -> None:
        self._client.create_collection(spec.name, **self.collection_request(spec))
        with warnings.catch_warnings():
            # Local mode warns that payload indexes are no-ops there (it filters by brute force); the
            # server needs them, and creating them before the first point avoids a re-index.
            warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
            for key, kind in spec.payload_indexes.items():
                self._client.create_payload_index(spec.name, key, _qdrant_schema(kind), wait=True)
        self._dims.pop(spec.name, None)

    def collection_request(self, spec: CollectionSpec) -> dict[str, Any]:
        """The keyword arguments of `QdrantClient.create_collection` for `spec` (besides the name): vectors,
        HNSW, quantization and the cluster layout. Public so tests and docs can show what is sent."""
        from qdrant_client import models as m

        tuning = self._tuning
        layout = self._layout
        request: dict[str, Any] = {
            "vectors_config": {
                n: m.VectorParams(size=d, distance=m.Distance.COSINE, on_disk=layout.on_disk)
                for n, d in spec.vectors.items()
            },
            "hnsw_config": m.HnswConfigDiff(m=tuning.hnsw_m, ef_construct=tuning.hnsw_ef_construct,
                                            full_scan_threshold=tuning.full_scan_threshold_kb),
            "quantization_config": m.ScalarQuantization(scalar=m.ScalarQuantizationConfig(
                type=m.ScalarType.INT8, quantile=QUANTILE, always_ram=True)) if tuning.quantization == "int8" else None,
        }
        if self._max_segment_size_kb:
            request["optimizers_config"] = m.OptimizersConfigDiff(max_segment_size=self._max_segment_size_kb)
        for key in ("shard_number", "replication_factor", "write_consistency_factor", "on_disk_payload"):
            value = getattr(layout, key)
            if value is not None:
                request[key] = value
        if spec.payload_on_disk is not None:  # the collection's own choice wins over the store's layout
            request["on_disk_payload"] = spec.payload_on_disk
        return request

    def _drop(self, name: str) -> None:
        self._client.delete_collection(name)
        self._dims.pop(name, None)

    def _point_alias(self, alias: str, target: str) -> None:
        from qdrant_client import models as m

        ops: list[Any] = []
        if alias in self._alias_table():
            ops.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=alias)))
        create = m.CreateAlias(collection_name=target, alias_name=alias)
        ops.append(m.CreateAliasOperation(create_alias=create))
        # One request: the server applies the delete + create as a single atomic switch.
        self._client.update_collection_aliases(change_aliases_operations=ops)
        self._dims.pop(alias, None)

    # ---- points ------------------------------------------------------------------------------

    def upsert(self, collection: str, points: Sequence[PointRecord]) -> None:
        from qdrant_client import models as m

        dims = self._vector_dims(collection)
        structs = []
        for p in points:
            check_vectors(collection, dims, p.vectors)
            structs.append(
                m.PointStruct(
                    id=point_uuid(p.id), vector=dict(p.vectors), payload={**p.payload, ENTITY_ID_KEY: p.id}
                )
            )
        for start in range(0, len(structs), _UPSERT_CHUNK):
            self._client.upsert(collection, points=structs[start : start + _UPSERT_CHUNK], wait=True)

    def _search_batch(self, collection: str, vector_name: str, queries: Sequence[NearestQuery],
                      with_payload: bool | Sequence[str], keys: list[str] | None) -> list[list[Hit]]:
        from qdrant_client import models as m

        dims = self._vector_dims(collection)
        selector: bool | qm.PayloadSelectorInclude = (
            True if with_payload is True else m.PayloadSelectorInclude(include=[*(keys or []), ENTITY_ID_KEY])
        )
        # Local mode (no hnsw_ef) is exact already, and warns about any search params it is given.
        tuning = self._tuning
        approximate = (m.SearchParams(hnsw_ef=tuning.hnsw_ef, quantization=m.QuantizationSearchParams(
            rescore=True, oversampling=tuning.oversampling)) if tuning.hnsw_ef or tuning.quantization == "int8"
            else None)
        exact = (m.SearchParams(exact=True, quantization=m.QuantizationSearchParams(ignore=True))
                 if approximate is not None else None)
        requests = []
        for q in queries:
            check_vectors(collection, dims, {vector_name: q.vector})
            requests.append(m.QueryRequest(
                query=[float(x) for x in q.vector],
                using=vector_name,
                limit=q.limit,
                filter=to_qdrant_filter(q.filter, [point_uuid(i) for i in q.exclude_ids]),
                with_payload=selector,
                params=exact if q.exact else approximate,
            ))
        if not requests:
            return []
        responses = self._client.query_batch_points(collection, requests)
        return [hits_of(response.points, with_payload) for response in responses]

    def _retrieve(self, collection: str, point_ids: list[str]) -> list[PointRecord]:
        self._vector_dims(collection)  # a clear CollectionNotFoundError instead of a transport error
        records = self._client.retrieve(collection, ids=point_ids, with_payload=True, with_vectors=True)
        return [to_point_record(r.id, r.vector, r.payload) for r in records]

    def _scroll(self, collection: str, filter: SearchFilter | None, fields: Sequence[str] | None,
                with_vectors: bool, batch_size: int) -> Iterator[PointRecord]:
        from qdrant_client import models as m

        self._vector_dims(collection)
        selector: bool | qm.PayloadSelectorInclude = (
            True if fields is None else m.PayloadSelectorInclude(include=[*fields, ENTITY_ID_KEY])
        )
        offset: Any = None
        while True:
            records, offset = self._client.scroll(
                collection,
                scroll_filter=to_qdrant_filter(filter),
                limit=batch_size,
                offset=offset,
                with_payload=selector,
                with_vectors=with_vectors,
            )
            yield from (to_point_record(r.id, r.vector, r.payload) for r in records)
            if offset is None:
                return

    def count(self, collection: str, filter: SearchFilter | None = None) -> int:
        self._vector_dims(collection)
        return int(self._client.count(collection, count_filter=to_qdrant_filter(filter), exact=True).count)

    def _delete(self, collection: str, point_ids: list[str]) -> None:
        from qdrant_client import models as m

        self._vector_dims(collection)
        if point_ids:
            self._client.delete(collection, points_selector=m.PointIdsList(points=point_ids), wait=True)

    def optimize(self, collection: str) -> None:
        """The server builds HNSW in the background; wait while its optimizers are busy (yellow).

        Local mode has no index and is always green. Red (an optimizer failed) is an error.
        """
        from qdrant_client import models as m

        self._vector_dims(collection)
        deadline = time.monotonic() + self._optimize_timeout_s
        while (status := self._client.get_collection(collection).status) != m.CollectionStatus.GREEN:
            if status == m.CollectionStatus.RED:
                raise StoreError(f"collection {collection!r} is red: an optimizer failed, see the server log")
            if status == m.CollectionStatus.GREY:
                # Grey = optimisations pending but not started (e.g. after a restart): an empty config
                # update is the documented way to trigger them.
                self._client.update_collection(collection, optimizers_config=m.OptimizersConfigDiff())
            if time.monotonic() > deadline:
                raise StoreError(
                    f"collection {collection!r} still optimising after {self._optimize_timeout_s} s"
                )
            time.sleep(0.5)

    def close(self) -> None:
        self._client.close()


def _qdrant_schema(kind: PayloadIndexKind) -> qm.PayloadSchemaType:
    from qdrant_client import models as m

    return {
        PayloadIndexKind.KEYWORD: m.PayloadSchemaType.KEYWORD,
        PayloadIndexKind.INTEGER: m.PayloadSchemaType.INTEGER,
        PayloadIndexKind.FLOAT: m.PayloadSchemaType.FLOAT,
        PayloadIndexKind.BOOL: m.PayloadSchemaType.BOOL,
    }[kind]
