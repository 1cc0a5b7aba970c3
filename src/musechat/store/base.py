"""The vector-store contract: one interface, two backends (embedded Qdrant Edge, Qdrant server).

Callers speak entity ids ("trk_abc"); backends store points under a deterministic uuid5 of that id
and keep the original id in a hidden payload key, so `Hit.id` is the entity id again. Every method
that takes a collection name also accepts an alias (blue/green switches, see `set_alias`).
"""

from __future__ import annotations

import contextlib
import functools
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol, Self, TypedDict, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from musechat.errors import MuseChatError

# Fixed namespace: changing it would re-key every stored point, so it is part of the storage format.
ENTITY_NAMESPACE = uuid.UUID("8f3b6c1e-2d4a-5b7c-9e0f-1a2b3c4d5e6f")
# Payload key holding the caller's entity id; reserved, stripped from everything handed back.
ENTITY_ID_KEY = "_entity_id"

# Collection and alias names become directory and file names for the edge backend: keep them portable.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class StoreError(MuseChatError, RuntimeError):
    """Base class for store failures that are not plain bad input."""

    status, code = 503, "store_error"


class CollectionNotFoundError(StoreError):
    status, code = 404, "collection_not_found"


class CollectionExistsError(StoreError):
    status, code = 409, "collection_exists"


class CollectionBusyError(StoreError):
    """The collection is held elsewhere (another process, or an alias still points to it)."""

    status, code = 409, "collection_busy"


@functools.lru_cache(maxsize=65536)  # every turn maps its candidate and exclusions again
def point_uuid(entity_id: str) -> str:
    """Deterministic point id for an entity id: the same entity always lands on the same point."""
    if not entity_id:
        raise ValueError("entity id must be a non-empty string")
    return str(uuid.uuid5(ENTITY_NAMESPACE, entity_id))


def validate_name(name: str, what: str = "collection") -> str:
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"invalid {what} name {name!r}: use 1-64 characters from [A-Za-z0-9_.-], "
            "starting with a letter or digit"
        )
    return name


class PayloadIndexKind(StrEnum):
    KEYWORD = "keyword"
    INTEGER = "integer"
    FLOAT = "float"
    BOOL = "bool"


# Scalar (int8) quantization: the quantile of values mapped to the int8 range (clips outliers), and how
# many more candidates than asked for the int8 search finds before rescoring with the full vectors.
QUANTILE = 0.99
OVERSAMPLING = 2.0
# HNSW search-time candidate list (the store settings' default).
HNSW_EF = 384


class IndexTuningArgs(TypedDict, total=False):
    """The keyword arguments both engine stores take for their HNSW index (see `IndexTuning`)."""

    hnsw_m: int
    hnsw_ef_construct: int
    full_scan_threshold_kb: int
    hnsw_ef: int | None
    oversampling: float
    quantization: Literal["none", "int8"]


@dataclass(frozen=True)
class IndexTuning:
    """HNSW build (`hnsw_m`, `hnsw_ef_construct`, `full_scan_threshold_kb`) and search (`hnsw_ef`,
    `oversampling` of the int8 search) settings, one set per store. `hnsw_ef` None searches with the
    engine's default candidate list."""

    hnsw_m: int = 16
    hnsw_ef_construct: int = 100
    full_scan_threshold_kb: int = 10_000
    hnsw_ef: int | None = HNSW_EF
    oversampling: float = OVERSAMPLING
    quantization: Literal["none", "int8"] = "int8"


class CollectionSpec(BaseModel):
    """A collection: named dense vectors (cosine) and the payload fields to index before loading.

    No vectors at all is a record collection: points are written, retrieved, scrolled, counted and
    deleted by entity id, never searched (e.g. `track_features`, the per-segment features the ranker
    reads by id). `payload_on_disk` keeps the payloads on disk (memory-mapped, read through the page
    cache) whatever the store's default: for cold collections read a few points at a time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    vectors: dict[str, int] = Field(description="Named vector -> dimension; cosine distance. Empty: records only.")
    payload_indexes: dict[str, PayloadIndexKind] = Field(default_factory=dict)
    payload_on_disk: bool | None = Field(
        default=None, description="True: payloads on disk whatever the store's default (None: the default).")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return validate_name(v)

    @field_validator("vectors")
    @classmethod
    def _vectors(cls, v: dict[str, int]) -> dict[str, int]:
        for name, dim in v.items():
            if not name:
                raise ValueError("vector names must be non-empty")
            if dim < 1:
                raise ValueError(f"vector {name!r}: dimension must be >= 1, got {dim}")
        return v

    @field_validator("payload_indexes")
    @classmethod
    def _indexes(cls, v: dict[str, PayloadIndexKind]) -> dict[str, PayloadIndexKind]:
        if ENTITY_ID_KEY in v:
            raise ValueError(f"{ENTITY_ID_KEY!r} is reserved and indexed by the store itself")
        return v


class PointRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="Entity id, e.g. trk_abc.")
    vectors: dict[str, list[float]]
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("payload")
    @classmethod
    def _payload(cls, v: dict[str, Any]) -> dict[str, Any]:
        if ENTITY_ID_KEY in v:
            raise ValueError(f"payload key {ENTITY_ID_KEY!r} is reserved for the store")
        return v


class MatchValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["match"] = "match"
    key: str
    value: str | int | bool


class MatchAny(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["any"] = "any"
    key: str
    values: list[str] | list[int] = Field(min_length=1)


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["range"] = "range"
    key: str
    gte: float | None = None
    lte: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Range:
        if self.gte is None and self.lte is None:
            raise ValueError(f"range on {self.key!r} needs gte and/or lte")
        if self.gte is not None and self.lte is not None and self.gte > self.lte:
            raise ValueError(f"range on {self.key!r} is empty: gte {self.gte} > lte {self.lte}")
        return self


Condition = Annotated[MatchValue | MatchAny | Range, Field(discriminator="kind")]


class SearchFilter(BaseModel):
    """All `must` conditions hold and no `must_not` condition holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    must: list[Condition] = Field(default_factory=list)
    must_not: list[Condition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _keys(self) -> SearchFilter:
        for cond in (*self.must, *self.must_not):
            if cond.key == ENTITY_ID_KEY:
                raise ValueError(f"filter on {ENTITY_ID_KEY!r}: use exclude_ids / retrieve instead")
        return self


class Hit(BaseModel):
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class NearestQuery:
    """One query of a `search_many` batch: the same arguments as a single `search`."""

    vector: Sequence[float]
    limit: int = 10
    filter: SearchFilter | None = None
    exclude_ids: Sequence[str] = ()
    exact: bool = False  # score every (matching) point with the full vectors: the ground truth for recall

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")


def check_vectors(collection: str, dims: Mapping[str, int], vectors: Mapping[str, Sequence[float]]) -> None:
    """Reject unknown vector names and wrong dimensions with a message naming both. A point may carry no
    vector at all (a status record, e.g. a video still being encoded): it is stored, counted and
    retrievable, but no search finds it."""
    for name, vec in vectors.items():
        if not dims:
            raise ValueError(f"{collection}: a collection without vectors holds records only (retrieve, "
                             f"scroll): it has no vector {name!r} to store or search")
        if name not in dims:
            raise ValueError(f"{collection}: unknown vector {name!r} (known: {sorted(dims)})")
        if len(vec) != dims[name]:
            raise ValueError(
                f"{collection}: vector {name!r} must have {dims[name]} dimensions, got {len(vec)}"
            )


def public_payload(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (stored or {}).items() if k != ENTITY_ID_KEY}


def to_point_record(point_id: object, vectors: Any, stored: Mapping[str, Any] | None) -> PointRecord:
    """An engine record (named vectors or None, stored payload) as the caller's PointRecord."""
    return PointRecord(
        id=entity_id_of(stored, point_id),
        vectors={k: list(v) for k, v in (vectors or {}).items()},
        payload=public_payload(stored),
    )


def payload_keys(with_payload: bool | Sequence[str]) -> list[str] | None:
    """The payload keys a search asked for (None = all or none, by the bool); rejects a bare string,
    which would otherwise be read as a list of one-character keys."""
    if isinstance(with_payload, bool):
        return None
    if isinstance(with_payload, str):
        raise TypeError(f"with_payload takes a bool or a list of keys, got the string {with_payload!r}")
    keys = list(with_payload)
    if ENTITY_ID_KEY in keys:
        raise ValueError(f"payload key {ENTITY_ID_KEY!r} is reserved for the store")
    return keys


def entity_id_of(stored: Mapping[str, Any] | None, point_id: object) -> str:
    if stored is None or ENTITY_ID_KEY not in stored:
        raise StoreError(f"point {point_id} has no {ENTITY_ID_KEY!r}: it was not written through this store")
    return str(stored[ENTITY_ID_KEY])


@runtime_checkable
class VectorStore(Protocol):
    def create_collection(self, spec: CollectionSpec) -> None:
        """Create the collection and its payload indexes (before any point is loaded)."""
        ...

    def collection_exists(self, name: str) -> bool: ...

    def drop_collection(self, name: str) -> None:
        """Drop a concrete collection (not an alias); refused while an alias points to it."""
        ...

    def list_collections(self) -> list[str]: ...

    def upsert(self, collection: str, points: Sequence[PointRecord]) -> None:
        """Insert or replace points; idempotent by entity id."""
        ...

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
        """Nearest points first. `with_payload`: True = the whole payload, False = none, a list of keys =
        only those (keys a point lacks are simply absent): large payload fields stay in the engine."""
        ...

    def search_many(
        self,
        collection: str,
        vector_name: str,
        queries: Sequence[NearestQuery],
        with_payload: bool | Sequence[str] = True,
    ) -> list[list[Hit]]:
        """Several searches as one engine call (one lock, one planned batch): what `search` returns for
        each query, in order. Concurrent conversation turns are served this way (gateway micro-batching)."""
        ...

    def retrieve(self, collection: str, ids: Sequence[str]) -> list[PointRecord]:
        """Points that exist, in the order asked; cosine vectors come back unit-normalised."""
        ...

    def scroll(
        self,
        collection: str,
        filter: SearchFilter | None = None,
        fields: Sequence[str] | None = None,
        with_vectors: bool = False,
        batch_size: int = 512,
    ) -> Iterator[PointRecord]:
        """Every (matching) point, in id order, fetched in batches. `fields` limits the payload keys
        returned (None = all); without `with_vectors` the records' `vectors` are empty."""
        ...

    def count(self, collection: str, filter: SearchFilter | None = None) -> int: ...

    def delete(self, collection: str, ids: Sequence[str]) -> None: ...

    def set_alias(self, alias: str, collection: str) -> None:
        """Point `alias` at `collection` atomically (blue/green switch)."""
        ...

    def resolve(self, name_or_alias: str) -> str: ...

    def optimize(self, collection: str) -> None:
        """Build the ANN index after a bulk load (no-op where the engine indexes by itself)."""
        ...

    def close(self) -> None: ...


def hits_of(points: Iterable[Any], with_payload: bool | Sequence[str],
            decode: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> list[Hit]:
    """Engine-scored points (`.id`, `.score`, `.payload`) as the caller's hits, entity ids restored."""
    hits = []
    for p in points:
        payload = public_payload(p.payload) if with_payload else {}
        hits.append(Hit(id=entity_id_of(p.payload, p.id), score=p.score,
                        payload=decode(payload) if decode is not None and payload else payload))
    return hits


class StoreBase(ABC):
    """What every `VectorStore` implementation shares, so each writes only what differs.

    `search` is one `search_many` query (one code path, so a single search and a batched one can never
    disagree); the context manager closes the store. `HostedStore` (a proxy) derives from this directly;
    the engine backends derive from `EngineStore`, which adds the argument checks and the bookkeeping of
    collections and aliases.
    """

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        """Nearest points first (see `VectorStore.search`); `NearestQuery` validates the limit."""
        query = NearestQuery(vector=vector, limit=limit, filter=filter, exclude_ids=exclude_ids)
        return self.search_many(collection, vector_name, [query], with_payload)[0]

    @abstractmethod
    def search_many(self, collection: str, vector_name: str, queries: Sequence[NearestQuery],
                    with_payload: bool | Sequence[str] = True) -> list[list[Hit]]: ...

    @abstractmethod
    def close(self) -> None: ...


class EngineStore(StoreBase):
    """A store over a real engine: public methods check arguments and collection/alias rules once, here,
    then call the backend's hooks (`_create`, `_search_batch`, ...), which speak only the engine's API.

    Entity ids are mapped to point ids here (`point_uuid`), and retrieved records come back in the order
    asked, so both backends answer identically (the conformance suite checks it).
    """

    # ---- hooks: what differs between engines ------------------------------------------------------

    @abstractmethod
    def _alias_table(self) -> dict[str, str]:
        """Alias -> collection, as the engine holds it now."""

    @abstractmethod
    def _exists(self, name: str) -> bool:
        """Whether a concrete collection (not an alias) of that name exists."""

    @abstractmethod
    def _create(self, spec: CollectionSpec) -> None:
        """Create a collection known not to exist, with its payload indexes."""

    @abstractmethod
    def _drop(self, name: str) -> None:
        """Drop a concrete collection that exists and no alias targets."""

    @abstractmethod
    def _point_alias(self, alias: str, target: str) -> None:
        """Point `alias` (new or existing) at the existing collection `target`, atomically."""

    @abstractmethod
    def _search_batch(self, collection: str, vector_name: str, queries: Sequence[NearestQuery],
                      with_payload: bool | Sequence[str], keys: list[str] | None) -> list[list[Hit]]:
        """The queries as one engine call; `keys` = the payload keys asked for (None: by `with_payload`)."""

    @abstractmethod
    def _retrieve(self, collection: str, point_ids: list[str]) -> list[PointRecord]:
        """The records of the points that exist, any order."""

    @abstractmethod
    def _scroll(self, collection: str, filter: SearchFilter | None, fields: Sequence[str] | None,
                with_vectors: bool, batch_size: int) -> Iterator[PointRecord]: ...

    @abstractmethod
    def _delete(self, collection: str, point_ids: list[str]) -> None: ...

    def _exclusive(self) -> contextlib.AbstractContextManager[object]:
        """Held around a check-then-act on collections and aliases (a lock where the engine needs one)."""
        return contextlib.nullcontext()

    def _where(self) -> str:
        """Where the collections live, for error messages (e.g. " under /var/store")."""
        return ""

    # ---- the interface --------------------------------------------------------------------------

    def resolve(self, name_or_alias: str) -> str:
        return self._alias_table().get(name_or_alias, name_or_alias)

    def collection_exists(self, name: str) -> bool:
        return self._exists(self.resolve(name))

    def create_collection(self, spec: CollectionSpec) -> None:
        with self._exclusive():
            if spec.name in self._alias_table():
                raise CollectionExistsError(f"{spec.name!r} is already an alias")
            if self._exists(spec.name):
                raise CollectionExistsError(f"collection {spec.name!r} already exists")
            self._create(spec)

    def drop_collection(self, name: str) -> None:
        with self._exclusive():
            table = self._alias_table()
            if name in table:
                raise ValueError(f"{name!r} is an alias (of {table[name]!r}); drop collections by their own name")
            pointing = sorted(a for a, target in table.items() if target == name)
            if pointing:
                raise CollectionBusyError(f"collection {name!r} is still the target of alias(es) {pointing}")
            if not self._exists(name):
                raise CollectionNotFoundError(f"collection {name!r} does not exist{self._where()}")
            self._drop(name)

    def set_alias(self, alias: str, collection: str) -> None:
        validate_name(alias, "alias")
        with self._exclusive():
            table = self._alias_table()
            target = table.get(collection, collection)
            if not self._exists(target):
                raise CollectionNotFoundError(f"cannot alias {alias!r} to missing collection {target!r}")
            if alias not in table and self._exists(alias):
                raise CollectionExistsError(f"{alias!r} is a collection; an alias cannot shadow it")
            self._point_alias(alias, target)

    def search_many(
        self,
        collection: str,
        vector_name: str,
        queries: Sequence[NearestQuery],
        with_payload: bool | Sequence[str] = True,
    ) -> list[list[Hit]]:
        return self._search_batch(collection, vector_name, queries, with_payload, payload_keys(with_payload))

    def retrieve(self, collection: str, ids: Sequence[str]) -> list[PointRecord]:
        by_id = {rec.id: rec for rec in self._retrieve(collection, [point_uuid(i) for i in ids])}
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]

    def scroll(
        self,
        collection: str,
        filter: SearchFilter | None = None,
        fields: Sequence[str] | None = None,
        with_vectors: bool = False,
        batch_size: int = 512,
    ) -> Iterator[PointRecord]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return self._scroll(collection, filter, fields, with_vectors, batch_size)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self._delete(collection, [point_uuid(i) for i in ids])
