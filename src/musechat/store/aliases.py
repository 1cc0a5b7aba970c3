"""Alias table for the edge backend: one JSON file, replaced atomically, re-read when it changes.

Readers never see a half-written table: writers write a temp file in the same directory, fsync it and
`os.replace` it over the old one (atomic on POSIX). Writers serialise on an flock of a sibling lock
file, so two processes flipping different aliases do not lose each other's update. Every read goes to
the file (a few microseconds for a table this small, against ~1 ms per query), so a flip made by
another process is seen by the very next call; a stat-based cache could miss a flip when an inode is
reused within one timestamp tick.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from musechat.store.base import StoreError


class AliasFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")

    def read(self) -> dict[str, str]:
        """The current alias -> collection table."""
        return self._load()

    def _load(self) -> dict[str, str]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as exc:
            raise StoreError(f"alias table {self.path} is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise StoreError(f"alias table {self.path} must be a JSON object of alias -> collection names")
        return raw

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def set(self, alias: str, collection: str) -> dict[str, str]:
        """Point one alias at a collection under the write lock; returns the new table."""
        with self._write_lock():
            table = self._load()
            table[alias] = collection
            write_atomic(self.path, json.dumps(table, indent=2, sort_keys=True))
            return table


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so that readers see either the old or the new file, never a mix."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
