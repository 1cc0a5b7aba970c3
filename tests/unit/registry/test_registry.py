"""The model registry's file: versions copied in once with their lineage, the live pointer with its
history, what a rollback goes back to, and which collections gc keeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musechat.catalog.indexer import collection_for
from musechat.registry.registry import DatasetRef, ModelRegistry, RegistryError

pytestmark = pytest.mark.unit


def _checkpoint(root: Path, weights: bytes) -> Path:
    root.mkdir(parents=True)
    (root / "model.safetensors").write_bytes(weights)
    (root / "config.json").write_text(json.dumps({"variant": "musechat"}))
    return root


def test_register_copies_the_checkpoint_once_with_its_lineage(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "reg")
    source = _checkpoint(tmp_path / "run-a", b"weights-a")
    ref = DatasetRef(dataset_id="quartets-1", path="/q/1", quartets=20, created_at="2026-12-04T10:00:00+00:00")
    meta = registry.register(source, parent="fusion@000", datasets=[ref], metrics={"loss": 1.0})
    assert meta.version.startswith("fusion@") and meta.variant == "musechat"
    again = registry.register(source)  # same weights: the first registration's lineage stays
    assert again == meta and again.parent == "fusion@000" and again.datasets == [ref]
    copied = registry.checkpoint(meta.version)
    assert (copied / "model.safetensors").read_bytes() == b"weights-a" and copied != source
    assert [m.version for m in registry.versions()] == [meta.version]


def test_unknown_versions_and_non_checkpoints_are_refused(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "reg")
    with pytest.raises(RegistryError, match="unknown model version 'fusion@nope'"):
        registry.checkpoint("fusion@nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RegistryError, match="not a fusion checkpoint"):
        registry.register(tmp_path / "empty")
    with pytest.raises(RegistryError):
        registry.mark_live("fusion@nope", "tracks-x", "event-1")


def test_live_pointer_history_rollback_target_and_gc_retention(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "reg")
    a, b, c = (registry.register(_checkpoint(tmp_path / n, n.encode())).version for n in ("a", "b", "c"))
    assert registry.live() is None and registry.previous_live() is None
    for i, version in enumerate((a, b, a, c)):
        state = registry.mark_live(version, collection_for(version), f"e{i}")
    assert state.live == c and state.collection == collection_for(c)
    assert [h.version for h in registry.state().history] == [a, b, a, c]
    assert registry.previous_live() == a and registry.was_live(b)
    assert registry.collections_to_keep(0) == [collection_for(c)]
    assert registry.collections_to_keep(1) == [collection_for(c), collection_for(a)]
    assert registry.collections_to_keep(5) == [collection_for(c), collection_for(a), collection_for(b)]
    assert registry.version_of_collection(collection_for(b)) == b
    assert registry.version_of_collection("tracks-unknown") is None
    since = state.live_since
    assert registry.mark_live(c, collection_for(c), "e9").live_since == since  # re-marking is no new age
