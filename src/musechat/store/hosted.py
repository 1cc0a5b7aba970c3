"""`HostedStore`: a `VectorStore` whose engine runs in a child process (`musechat.hosting.ProcessHost`).

The engine holds the interpreter lock while it searches; hosted, it searches on its own core while the
caller's process serves requests. Every method is one call through the host's pipe (~0.1 ms for a turn's
batch, docs/gateway.md); a scroll is pulled in chunks. Other objects may share the host (the gateway puts
its in-process ranker next to the store, so ranking never crosses the pipe for features).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from musechat.hosting import Objects, ProcessHost
from musechat.store.base import StoreBase, VectorStore
from musechat.store.settings import StoreSettings, open_store

STORE = "store"


def build_store(settings: StoreSettings) -> Objects:
    """The host's objects for a store alone (a `ProcessHost` builder)."""
    return {STORE: open_store(settings)}


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _forwarded(method: _Method) -> _Method:
    """`method`, run on the store in the host's child: one pipe call with the arguments as given (the
    child's store applies the defaults and checks them)."""
    name = method.__name__

    def call(self: HostedStore, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, *args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.__doc__
    return cast(_Method, call)


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

    # Every call but `search` (from StoreBase) and `close` goes to the child's store as it was made.
    create_collection = _forwarded(VectorStore.create_collection)
    collection_exists = _forwarded(VectorStore.collection_exists)
    drop_collection = _forwarded(VectorStore.drop_collection)
    list_collections = _forwarded(VectorStore.list_collections)
    upsert = _forwarded(VectorStore.upsert)
    search_many = _forwarded(VectorStore.search_many)
    retrieve = _forwarded(VectorStore.retrieve)
    scroll = _forwarded(VectorStore.scroll)
    count = _forwarded(VectorStore.count)
    delete = _forwarded(VectorStore.delete)
    set_alias = _forwarded(VectorStore.set_alias)
    resolve = _forwarded(VectorStore.resolve)
    optimize = _forwarded(VectorStore.optimize)

    def close(self) -> None:
        """Stops the host: the engine closes its collections and the child exits."""
        self._host.close()
