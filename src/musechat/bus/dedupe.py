"""Remember which event ids a consumer has already handled, so a re-delivered event is skipped.

Kafka delivers at least once: a record whose handler succeeded may come back after a crash or a
rebalance that happened before its offset commit. An id is recorded only after its handler succeeded,
so a failed or dead-lettered event is still handled when it is re-published (e.g. replayed from a DLQ).

Stores are used from one consumer thread; they are not thread-safe.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class DedupeStore(Protocol):
    def seen(self, event_id: str) -> bool:
        """True when `event_id` was recorded (and not yet evicted)."""
        ...

    def add(self, event_id: str) -> None:
        """Record `event_id` as handled."""
        ...


class InMemoryDedupeStore:
    """Bounded LRU of ids. Forgets everything on restart; enough when handlers are idempotent anyway."""

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        """Ids from least to most recently used."""
        return iter(self._ids)

    def seen(self, event_id: str) -> bool:
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return True
        return False

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


class FileDedupeStore:
    """LRU backed by an append-only file of ids (one per line), so a restarted worker still dedupes.

    Each `add` appends and flushes, which survives a killed process; `fsync=True` also survives a
    machine crash at the cost of a disk sync per event. When the file holds more than twice
    `capacity` lines it is rewritten with the live ids (atomic rename).
    """

    def __init__(self, path: str | os.PathLike[str], capacity: int = 100_000, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._lru = InMemoryDedupeStore(capacity)
        self._lines = 0
        if self.path.exists():
            with self.path.open("r", encoding="utf-8") as f:
                for line in f:
                    event_id = line.rstrip("\n")
                    if event_id:
                        self._lru.add(event_id)
                        self._lines += 1
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def __len__(self) -> int:
        return len(self._lru)

    def seen(self, event_id: str) -> bool:
        return self._lru.seen(event_id)

    def add(self, event_id: str) -> None:
        if "\n" in event_id or "\r" in event_id:
            raise ValueError(f"event id must not contain line breaks: {event_id!r}")
        self._lru.add(event_id)
        self._file.write(event_id + "\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        self._lines += 1
        if self._lines > 2 * self._lru.capacity:
            self._compact()

    def _compact(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            f.writelines(event_id + "\n" for event_id in self._lru)
            f.flush()
            os.fsync(f.fileno())
        self._file.close()
        os.replace(tmp, self.path)
        self._file = self.path.open("a", encoding="utf-8")
        self._lines = len(self._lru)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FileDedupeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
