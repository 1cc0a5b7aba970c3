"""The model registry: versioned fusion checkpoints with their lineage, and the pointer to the live one.

Layout (one shared directory, `MUSECHAT_MODEL_REGISTRY_DIR`):

    registry.json                 {"live": version, "collection": ..., "live_since": ..., "history": [...]}
    versions/<version>/           model.safetensors + config.json (the checkpoint, copied in once)
    versions/<version>/meta.json  version, created_at, parent, datasets, metrics, gate verdict

Why a file and not the store: every deployable (indexer, ranker, gateway, trainer job) mounts the shared
volume, the embedded mode has no server to ask, and `registry.json` is replaced atomically (temp file +
fsync + rename, the alias table's writer) under an flock, so a reader sees the old or the new pointer,
never a mix, and two writers never lose each other's history line.

Who writes what: `register` (the trainer, `model train` / `model publish --checkpoint`) adds a version;
only the indexer moves the live pointer (`mark_live`), *after* the new collection is built and the
`tracks` alias flipped, so "live" always names a version whose index exists. The query side does not
wait for the pointer: the ranker serves the model whose collection the alias resolves to
(`FusionRanker`), so no turn pairs a query tower with another model's track vectors.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from musechat.errors import MuseChatError
from musechat.store.aliases import write_atomic

REGISTRY_FILE = "registry.json"
VERSIONS_DIR = "versions"
META_FILE = "meta.json"
CHECKPOINT_FILES = ("model.safetensors", "config.json")


class RegistryError(MuseChatError):
    """The registry cannot do what was asked (unknown version, not a checkpoint, unreadable file)."""

    status = 409
    code = "model_registry"


class DatasetRef(BaseModel):
    """A quartet dataset that trained a version: where it is and which feedback period it covers."""

    dataset_id: str
    path: str
    quartets: int
    created_at: str | None = Field(default=None, description="When the dataset writer opened it (UTC, ISO).")
    kind: str = Field(default="feedback", description="feedback (sealed by the dataset writer) or base.")


class GateVerdict(BaseModel):
    passed: bool
    reason: str
    margin: float
    against: str | None = Field(description="The live version the candidate was compared with.")
    splits: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                              description="Per split: queries, pool size, both models' metrics.")
    at: str


class VersionMeta(BaseModel):
    version: str
    created_at: str
    parent: str | None = None
    variant: str | None = None
    datasets: list[DatasetRef] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    gate: GateVerdict | None = None
    source: str | None = Field(default=None, description="Where the checkpoint was registered from.")


class HistoryEntry(BaseModel):
    version: str
    collection: str
    at: str
    event_id: str


class RegistryState(BaseModel):
    live: str | None = None
    collection: str | None = None
    live_since: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _dir_name(version: str) -> str:
    # "fusion@3f2a..." -> "fusion-3f2a...": portable folder names on every volume type.
    return version.replace("@", "-").replace("/", "-")


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._file = self.root / REGISTRY_FILE
        self._lock_path = self.root / (REGISTRY_FILE + ".lock")

    # ------------------------------------------------------------------ versions
    def register(self, checkpoint: Path, *, parent: str | None = None, datasets: list[DatasetRef] | None = None,
                 metrics: dict[str, Any] | None = None) -> VersionMeta:
        """Copy a checkpoint in as a version (its id: the weights' digest). Registering the same weights
        again returns the existing version unchanged (its lineage is the first registration's)."""
        from musechat.ranker.core import checkpoint_version

        checkpoint = Path(checkpoint)
        if not all((checkpoint / name).is_file() for name in CHECKPOINT_FILES):
            raise RegistryError(f"{checkpoint} is not a fusion checkpoint: expected {' and '.join(CHECKPOINT_FILES)}")
        version = checkpoint_version(checkpoint)
        target = self._version_dir(version)
        if (target / META_FILE).is_file():
            return self.get(version)
        config = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
        meta = VersionMeta(version=version, created_at=now_iso(), parent=parent, variant=config.get("variant"),
                           datasets=datasets or [], metrics=metrics or {}, source=str(checkpoint.resolve()))
        (self.root / VERSIONS_DIR).mkdir(parents=True, exist_ok=True)
        staging = self.root / VERSIONS_DIR / f".staging-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            for name in CHECKPOINT_FILES:
                shutil.copy2(checkpoint / name, staging / name)
            (staging / META_FILE).write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
            staging.rename(target)  # atomic: a reader sees no version or a complete one
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if (target / META_FILE).is_file():  # a concurrent registration of the same weights won
                return self.get(version)
            raise
        return meta

    def get(self, version: str) -> VersionMeta:
        path = self._version_dir(version) / META_FILE
        try:
            return VersionMeta.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            known = ", ".join(m.version for m in self.versions()) or "none"
            raise RegistryError(f"unknown model version {version!r} (registered: {known})", status=404) from error

    def has(self, version: str) -> bool:
        return (self._version_dir(version) / META_FILE).is_file()

    def checkpoint(self, version: str) -> Path:
        """The version's checkpoint directory (model.safetensors + config.json)."""
        self.get(version)
        return self._version_dir(version)

    def versions(self) -> list[VersionMeta]:
        """Every registered version, oldest first."""
        folder = self.root / VERSIONS_DIR
        metas = [VersionMeta.model_validate_json((p / META_FILE).read_text(encoding="utf-8"))
                 for p in folder.iterdir() if (p / META_FILE).is_file()] if folder.is_dir() else []
        return sorted(metas, key=lambda m: m.created_at)

    def record_gate(self, version: str, verdict: GateVerdict) -> VersionMeta:
        meta = self.get(version).model_copy(update={"gate": verdict})
        write_atomic(self._version_dir(version) / META_FILE, meta.model_dump_json(indent=2) + "\n")
        return meta

    # ------------------------------------------------------------------ the live pointer
    def state(self) -> RegistryState:
        try:
            return RegistryState.model_validate_json(self._file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return RegistryState()
        except ValueError as error:
            raise RegistryError(f"registry file {self._file} is unreadable: {error}", status=500) from error

    def live(self) -> str | None:
        return self.state().live

    def mark_live(self, version: str, collection: str, event_id: str) -> RegistryState:
        """Point "live" at `version`, whose index `collection` the `tracks` alias now resolves to."""
        self.get(version)
        with self._write_lock():
            state = self.state()
            entry = HistoryEntry(version=version, collection=collection, at=now_iso(), event_id=event_id)
            changed = state.live != version
            state = state.model_copy(update={
                "live": version, "collection": collection,
                "live_since": entry.at if changed or state.live_since is None else state.live_since,
                "history": [*state.history, entry]})
            write_atomic(self._file, state.model_dump_json(indent=2) + "\n")
            return state

    def previous_live(self) -> str | None:
        """The version that was live before the current one (what a bare `model rollback` goes back to)."""
        state = self.state()
        for entry in reversed(state.history):
            if entry.version != state.live:
                return entry.version
        return None

    def was_live(self, version: str) -> bool:
        return any(entry.version == version for entry in self.state().history)

    def collections_to_keep(self, retention: int) -> list[str]:
        """The live collection and those of the `retention` most recent other live versions."""
        state = self.state()
        keep: list[str] = [state.collection] if state.collection else []
        for entry in reversed(state.history):
            if len(keep) > retention:
                break
            if entry.collection not in keep:
                keep.append(entry.collection)
        return keep

    def version_of_collection(self, collection: str) -> str | None:
        """The registered version whose index is `collection` (collection names derive from versions)."""
        from musechat.catalog.indexer import collection_for

        for entry in reversed(self.state().history):
            if entry.collection == collection:
                return entry.version
        return next((m.version for m in reversed(self.versions()) if collection_for(m.version) == collection), None)

    def _version_dir(self, version: str) -> Path:
        return self.root / VERSIONS_DIR / _dir_name(version)

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
