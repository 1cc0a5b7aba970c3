"""`open_store` wires settings to the right backend, and each opened store works end to end."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from musechat.store import CollectionSpec, PointRecord, StoreSettings, open_store
from musechat.store.edge import EdgeStore
from musechat.store.qdrant import QdrantServerStore

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("backend", "path", "kind"),
    [
        ("edge", "edge-root", EdgeStore),
        ("qdrant", "local-root", QdrantServerStore),
        ("qdrant", None, QdrantServerStore),
    ],
)
def test_open_store(tmp_path: Path, backend: str, path: str | None, kind: type) -> None:
    settings = StoreSettings(backend=backend, url=None, path=tmp_path / path if path else Path(":memory:"))
    store = open_store(settings)
    assert isinstance(store, kind)
    try:
        store.create_collection(CollectionSpec(name="c", vectors={"v": 3}))
        store.upsert("c", [PointRecord(id="a", vectors={"v": [1.0, 0.0, 0.0]})])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. local mode's "search_params has no effect"
            hits = store.search("c", "v", [1.0, 0.1, 0.0], limit=1)
        assert [h.id for h in hits] == ["a"]
    finally:
        store.close()
    if path:
        assert (tmp_path / path).is_dir()
