"""`HostedStore`: a `VectorStore` whose engine runs in a child process (`musechat.hosting.ProcessHost`).

The engine holds the interpreter lock while it searches; hosted, it searches on its own core while the
caller's process serves requests. Every method is one call through the host's pipe (~0.1 ms for a turn's
batch, docs/gateway.md); a scroll is pulled in chunks. Other objects may share the host (the gateway puts
its in-process ranker next to the store, so ranking never crosses the pipe for features).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

from musechat.hosting import Objects, ProcessHost
from musechat.store.base import CollectionSpec, Hit, NearestQuery, PointRecord, SearchFilter, StoreBase
from musechat.store.settings import StoreSettings, open_store

STORE = "store"


def build_store(settings: StoreSettings) -> Objects:
    """The host's objects for a store alone (a `ProcessHost` builder)."""
    return {STORE: open_store(settings)}


class HostedStore(StoreBase):
    """`search` comes from `StoreBase` (one `search_many` query: one pipe call, checked in the child)."""

    def __init__(self, host: ProcessHost, target: str = STORE) -> None:
        self._host = host
        self._target = target

    @classmethod
    def open(cls, settings: StoreSettings) -> HostedStore:
        return cls(ProcessHost("vector-store", build_store, settings))

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._host.call(self._target, method, *args, **kwargs)

    def create_collection(self, spec: CollectionSpec) -> None:
        self._call("create_collection", spec)

    def collection_exists(self, name: str) -> bool:
        return cast(bool, self._call("collection_exists", name))

    def drop_collection(self, name: str) -> None:
        self._call("drop_collection", name)

    def list_collections(self) -> list[str]:
        return cast(list[str], self._call("list_collections"))

    def upsert(self, collection: str, points: Sequence[PointRecord]) -> None:
        self._call("upsert", collection, list(points))

    def search_many(
        self,
        collection: str,
        vector_name: str,
        queries: Sequence[NearestQuery],
        with_payload: bool | Sequence[str] = True,
    ) -> list[list[Hit]]:
        return cast(list[list[Hit]], self._call("search_many", collection, vector_name, list(queries), with_payload))

    def retrieve(self, collection: str, ids: Sequence[str]) -> list[PointRecord]:
        return cast(list[PointRecord], self._call("retrieve", collection, list(ids)))

    def scroll(
        self,
        collection: str,
        filter: SearchFilter | None = None,
        fields: Sequence[str] | None = None,
        with_vectors: bool = False,
        batch_size: int = 512,
    ) -> Iterator[PointRecord]:
        return cast(Iterator[PointRecord], self._call("scroll", collection, filter, fields, with_vectors, batch_size))

    def count(self, collection: str, filter: SearchFilter | None = None) -> int:
        return cast(int, self._call("count", collection, filter))

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self._call("delete", collection, list(ids))

    def set_alias(self, alias: str, collection: str) -> None:
        self._call("set_alias", alias, collection)

    def resolve(self, name_or_alias: str) -> str:
        return cast(str, self._call("resolve", name_or_alias))

    def optimize(self, collection: str) -> None:
        self._call("optimize", collection)

    def close(self) -> None:
        """Stops the host: the engine closes its collections and the child exits."""
        self._host.close()
