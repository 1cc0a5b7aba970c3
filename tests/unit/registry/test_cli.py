"""`musechat model …` against a registry on disk: what publish and rollback refuse, what they announce,
and that a retrain with too little feedback is skipped, not failed. Announcements are recorded instead
of sent (the broker path runs in tests/e2e/test_learning_loop.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musechat.catalog.indexer import collection_for
from musechat.cli import main
from musechat.registry import cli as model_cli
from musechat.registry.registry import GateVerdict, ModelRegistry, now_iso

pytestmark = pytest.mark.unit


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelRegistry:
    monkeypatch.setenv("MUSECHAT_MODEL_REGISTRY_DIR", str(tmp_path / "registry"))
    return ModelRegistry(tmp_path / "registry")


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []

    def record(version: str, checkpoint: Path) -> str:
        assert (checkpoint / "model.safetensors").is_file()
        sent.append(version)
        return model_cli.published_event_id(version)

    monkeypatch.setattr(model_cli, "announce", record)
    return sent


def _version(registry: ModelRegistry, tmp_path: Path, name: str) -> str:
    run = tmp_path / name
    run.mkdir()
    (run / "model.safetensors").write_bytes(name.encode())
    (run / "config.json").write_text(json.dumps({"variant": "musechat"}))
    return registry.register(run).version


def test_publish_refuses_ungated_or_refused_candidates_unless_forced(
        registry: ModelRegistry, announced: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _version(registry, tmp_path, "a"), _version(registry, tmp_path, "b")
    assert main(["model", "publish", "--version", a]) == 0  # nothing live yet: the first model needs no gate
    registry.mark_live(a, collection_for(a), "e1")
    assert main(["model", "publish", "--version", b]) == 1
    assert "no gate verdict" in capsys.readouterr().out
    registry.record_gate(b, GateVerdict(passed=False, reason="heldout-base: worse by 0.04", margin=0.02,
                                        against=a, at=now_iso()))
    assert main(["model", "publish", "--version", b]) == 1
    assert "worse by 0.04" in capsys.readouterr().out
    assert main(["model", "publish", "--version", b, "--force"]) == 0
    assert announced == [a, b]
    assert main(["model", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"* {a}" in listing and "gate=REFUSED" in listing


def test_rollback_goes_to_the_previous_live_version_and_republishing_gets_a_fresh_id(
        registry: ModelRegistry, announced: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "rollback"]) == 2
    assert "nothing to roll back to" in capsys.readouterr().err
    a, b = _version(registry, tmp_path, "a"), _version(registry, tmp_path, "b")
    registry.mark_live(a, collection_for(a), "e1")
    registry.mark_live(b, collection_for(b), "e2")
    assert main(["model", "rollback"]) == 0
    assert announced == [a]
    assert main(["model", "rollback", "--to", "fusion@nope"]) == 2
    assert "unknown model version 'fusion@nope'" in capsys.readouterr().err
    assert model_cli.published_event_id(a) != model_cli.published_event_id(a)


def test_train_with_too_little_feedback_is_skipped(registry: ModelRegistry, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "quartets").mkdir()
    assert main(["model", "train", "--quartets", str(tmp_path / "quartets"), "--min-quartets", "4"]) == 0
    assert "skipped: 0 new feedback quartets" in capsys.readouterr().out
    assert main(["model", "train", "--quartets", str(tmp_path / "missing")]) == 2


def test_since_live_takes_only_feedback_newer_than_what_trained_the_live_model(
        registry: ModelRegistry, tmp_path: Path) -> None:
    from datetime import datetime

    from musechat.registry.registry import DatasetRef

    assert model_cli._resolve_since(registry, "live") is None  # nothing live: every sealed dataset
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.safetensors").write_bytes(b"w")
    (run / "config.json").write_text("{}")
    old, new = "2026-12-01T10:00:00+00:00", "2026-12-02T10:00:00+00:00"
    version = registry.register(run, datasets=[
        DatasetRef(dataset_id=name, path=f"/q/{name}", quartets=5, created_at=at) for name, at in (("1", old),
                                                                                                  ("2", new))]).version
    registry.mark_live(version, collection_for(version), "e1")
    since = model_cli._resolve_since(registry, "live")
    assert since is not None and since > datetime.fromisoformat(new)
    assert model_cli._resolve_since(registry, None) is None
