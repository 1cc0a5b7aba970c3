from __future__ import annotations

from pathlib import Path

import pytest

from musechat.bus.dedupe import DedupeStore, FileDedupeStore, InMemoryDedupeStore

pytestmark = pytest.mark.unit


def test_memory_store_remembers_added_ids() -> None:
    store = InMemoryDedupeStore(capacity=10)
    assert not store.seen("a")
    store.add("a")
    assert store.seen("a")
    assert not store.seen("b")


def test_memory_store_evicts_least_recently_used() -> None:
    store = InMemoryDedupeStore(capacity=3)
    for event_id in ["a", "b", "c"]:
        store.add(event_id)
    assert store.seen("a")  # touching "a" makes "b" the oldest
    store.add("d")
    assert len(store) == 3
    assert not store.seen("b")
    assert all(store.seen(x) for x in ["a", "c", "d"])


def test_memory_store_rejects_zero_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        InMemoryDedupeStore(capacity=0)


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_both_stores_satisfy_the_protocol(kind: str, tmp_path: Path) -> None:
    store = InMemoryDedupeStore() if kind == "memory" else FileDedupeStore(tmp_path / "ids")
    assert isinstance(store, DedupeStore)
    store.add("x")
    assert store.seen("x")


def test_file_store_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "dedupe.ids"  # parent directory is created
    with FileDedupeStore(path, capacity=100) as store:
        store.add("e1")
        store.add("e2")
    with FileDedupeStore(path, capacity=100) as restarted:
        assert restarted.seen("e1")
        assert restarted.seen("e2")
        assert not restarted.seen("e3")


def test_file_store_is_durable_without_close(tmp_path: Path) -> None:
    """A killed worker never calls close(): every add must already be in the file."""
    path = tmp_path / "ids"
    store = FileDedupeStore(path)
    store.add("e1")
    assert path.read_text() == "e1\n"
    store.close()


def test_file_store_compacts_to_live_ids(tmp_path: Path) -> None:
    path = tmp_path / "ids"
    with FileDedupeStore(path, capacity=3) as store:
        for i in range(7):  # the 7th add exceeds 2 x capacity lines and triggers a rewrite
            store.add(f"e{i}")
        assert path.read_text().split() == ["e4", "e5", "e6"]
        store.add("e7")
    with FileDedupeStore(path, capacity=3) as restarted:
        assert [restarted.seen(f"e{i}") for i in range(8)] == [False] * 5 + [True] * 3


def test_file_store_rejects_ids_with_line_breaks(tmp_path: Path) -> None:
    with FileDedupeStore(tmp_path / "ids") as store, pytest.raises(ValueError, match="line breaks"):
        store.add("a\nb")
