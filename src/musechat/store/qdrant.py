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
from typing import TYPE_CHECKING, Any, Literal

from musechat.store.base import (
    ENTITY_ID_KEY,
    OVERSAMPLING,
    QUANTILE,
    CollectionBusyError,
    CollectionExistsError,
    CollectionNotFoundError,
    CollectionSpec,
    Hit,
    NearestQuery,
    PayloadIndexKind,
    PointRecord,
    SearchFilter,
    StoreError,
    check_vectors,
    entity_id_of,
    payload_keys,
    point_uuid,
    public_payload,
    to_point_record,
    validate_name,
)
from musechat.store.filters import to_qdrant_filter

if TYPE_CHECKING:
    from qdrant_client import QdrantClient
    from qdrant_client import models as qm

    from musechat.store.settings import StoreSettings

_UPSERT_CHUNK = 256
# How long a collection's vector config is trusted; only input validation uses it, the server remains
# the authority, so a stale entry can at worst let the server reject a request itself.
_DIMS_TTL_S = 5.0


class QdrantServerStore:
    def __init__(
        self,
        client: QdrantClient,
        *,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 100,
        full_scan_threshold_kb: int = 10_000,
        hnsw_ef: int | None = None,
        quantization: Literal["none", "int8"] = "none",
        optimize_timeout_s: float = 600.0,
    ) -> None:
        self._client = client
        self._hnsw = (hnsw_m, hnsw_ef_construct, full_scan_threshold_kb)
        self._hnsw_ef = hnsw_ef
        self._quantization = quantization
        self._optimize_timeout_s = optimize_timeout_s
        self._dims: dict[str, tuple[float, dict[str, int]]] = {}

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> QdrantServerStore:
        from qdrant_client import QdrantClient

        from musechat.store.settings import IN_MEMORY

        # Local mode is exact brute force and warns on every search that carries search params.
        server = settings.url is not None
        hnsw_ef = settings.hnsw_ef if server else None
        if settings.url is not None:
            key = settings.api_key.get_secret_value() if settings.api_key else None
            client = QdrantClient(url=settings.url, api_key=key, timeout=int(settings.timeout_s))
        elif settings.path == IN_MEMORY:
            client = QdrantClient(location=":memory:")
        else:
            settings.path.mkdir(parents=True, exist_ok=True)
            client = QdrantClient(path=str(settings.path))
        return cls(
            client,
            hnsw_m=settings.hnsw_m,
            hnsw_ef_construct=settings.hnsw_ef_construct,
            full_scan_threshold_kb=settings.full_scan_threshold_kb,
            hnsw_ef=hnsw_ef,
            quantization=settings.quantization if server else "none",
        )

    def __enter__(self) -> QdrantServerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- collections and aliases -------------------------------------------------------------

    def _aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self._client.get_aliases().aliases}

    def resolve(self, name_or_alias: str) -> str:
        return self._aliases().get(name_or_alias, name_or_alias)

    def collection_exists(self, name: str) -> bool:
        return bool(self._client.collection_exists(self.resolve(name)))

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

    def create_collection(self, spec: CollectionSpec) -> None:
        from qdrant_client import models as m

        if spec.name in self._aliases():
            raise CollectionExistsError(f"{spec.name!r} is already an alias")
        if self._client.collection_exists(spec.name):
            raise CollectionExistsError(f"collection {spec.name!r} already exists")
        hnsw_m, ef, threshold = self._hnsw
        self._client.create_collection(
            spec.name,
            vectors_config={
                n: m.VectorParams(size=d, distance=m.Distance.COSINE) for n, d in spec.vectors.items()
            },
            hnsw_config=m.HnswConfigDiff(m=hnsw_m, ef_construct=ef, full_scan_threshold=threshold),
            quantization_config=m.ScalarQuantization(scalar=m.ScalarQuantizationConfig(
                type=m.ScalarType.INT8, quantile=QUANTILE, always_ram=True)) if self._quantization == "int8" else None,
        )
        with warnings.catch_warnings():
            # Local mode warns that payload indexes are no-ops there (it filters by brute force); the
            # server needs them, and creating them before the first point avoids a re-index.
            warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
            for key, kind in spec.payload_indexes.items():
                self._client.create_payload_index(spec.name, key, _qdrant_schema(kind), wait=True)
        self._dims.pop(spec.name, None)

    def drop_collection(self, name: str) -> None:
        aliases = self._aliases()
        if name in aliases:
            raise ValueError(
                    f"{name!r} is an alias (of {aliases[name]!r}); drop collections by their own name"
                )
        pointing = sorted(a for a, target in aliases.items() if target == name)
        if pointing:
            raise CollectionBusyError(f"collection {name!r} is still the target of alias(es) {pointing}")
        if not self._client.collection_exists(name):
            raise CollectionNotFoundError(f"collection {name!r} does not exist")
        self._client.delete_collection(name)
        self._dims.pop(name, None)

    def set_alias(self, alias: str, collection: str) -> None:
        from qdrant_client import models as m

        validate_name(alias, "alias")
        aliases = self._aliases()
        target = aliases.get(collection, collection)
        if not self._client.collection_exists(target):
            raise CollectionNotFoundError(f"cannot alias {alias!r} to missing collection {target!r}")
        if alias not in aliases and self._client.collection_exists(alias):
            raise CollectionExistsError(f"{alias!r} is a collection; an alias cannot shadow it")
        ops: list[Any] = []
        if alias in aliases:
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

    def search(
        self,
        collection: str,
        vector_name: str,
        vector: Sequence[float],
        limit: int = 10,
        filter: SearchFilter | None = None,
        exclude_ids: Sequence[str] = (),
        with_payload: bool | Sequence[str] = True,
    ) -> list[Hit]:
        # NearestQuery validates the limit.
        query = NearestQuery(vector=vector, limit=limit, filter=filter, exclude_ids=exclude_ids)
        return self.search_many(collection, vector_name, [query], with_payload)[0]

    def search_many(
        self,
        collection: str,
        vector_name: str,
        queries: Sequence[NearestQuery],
        with_payload: bool | Sequence[str] = True,
    ) -> list[list[Hit]]:
        from qdrant_client import models as m

        keys = payload_keys(with_payload)
        dims = self._vector_dims(collection)
        selector: bool | qm.PayloadSelectorInclude = (
            True if with_payload is True else m.PayloadSelectorInclude(include=[*(keys or []), ENTITY_ID_KEY])
        )
        # Local mode (no hnsw_ef) is exact already, and warns about any search params it is given.
        approximate = m.SearchParams(hnsw_ef=self._hnsw_ef, quantization=m.QuantizationSearchParams(
            rescore=True, oversampling=OVERSAMPLING)) if self._hnsw_ef or self._quantization == "int8" else None
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
        return [
            [
                Hit(
                    id=entity_id_of(p.payload, p.id),
                    score=p.score,
                    payload=public_payload(p.payload) if with_payload else {},
                )
                for p in response.points
            ]
            for response in responses
        ]

    def retrieve(self, collection: str, ids: Sequence[str]) -> list[PointRecord]:
        self._vector_dims(collection)  # a clear CollectionNotFoundError instead of a transport error
        records = self._client.retrieve(
            collection, ids=[point_uuid(i) for i in ids], with_payload=True, with_vectors=True
        )
        by_id = {rec.id: rec for rec in (to_point_record(r.id, r.vector, r.payload) for r in records)}
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]

    def scroll(
        self,
        collection: str,
        filter: SearchFilter | None = None,
        fields: Sequence[str] | None = None,
        with_vectors: bool = False,
        batch_size: int = 512,
    ) -> Iterator[PointRecord]:
        from qdrant_client import models as m

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
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

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        from qdrant_client import models as m

        self._vector_dims(collection)
        if ids:
            self._client.delete(
                collection, points_selector=m.PointIdsList(points=[point_uuid(i) for i in ids]), wait=True
            )

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
