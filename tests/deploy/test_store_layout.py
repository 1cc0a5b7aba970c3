"""The chart hands every store client the collection layout (qdrant.collections), with 2 replicas of each
shard wherever the in-chart Qdrant runs >= 3 nodes, and the store's own settings accept what it renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from musechat.store import StoreSettings
from tests.deploy.conftest import render

pytestmark = pytest.mark.integration


def store_envs(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """ConfigMap name -> env, for every component env that talks to the Qdrant server."""
    return {
        doc["metadata"]["name"]: doc["data"]
        for doc in docs
        if doc["kind"] == "ConfigMap" and "MUSECHAT_STORE_URL" in (doc.get("data") or {})
    }


def _settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> StoreSettings:
    for key, value in env.items():
        if key.startswith("MUSECHAT_STORE_"):
            monkeypatch.setenv(key, value)
    return StoreSettings()


def test_three_qdrant_nodes_get_two_replicas(rendered: dict[str, list[dict[str, Any]]],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    gpu = store_envs(rendered["gpu"])  # values-gpu: qdrant.replicas 3
    assert gpu, "no component of values-gpu talks to Qdrant"
    for name, env in gpu.items():
        assert env["MUSECHAT_STORE_REPLICATION_FACTOR"] == "2", name
        settings = _settings(env, monkeypatch)
        assert (settings.replication_factor, settings.write_consistency_factor) == (2, 1), name
        assert settings.on_disk_payload is True


def test_one_qdrant_node_keeps_the_server_default(rendered: dict[str, list[dict[str, Any]]]) -> None:
    default = store_envs(rendered["default"])  # qdrant.replicas 1
    assert default
    for name, env in default.items():
        assert "MUSECHAT_STORE_REPLICATION_FACTOR" not in env, name
        assert env["MUSECHAT_STORE_WRITE_CONSISTENCY_FACTOR"] == "1", name


def test_explicit_layout_values_reach_every_store_client(helm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = render(helm, "--set", "qdrant.replicas=4", "--set", "qdrant.collections.shardNumber=8",
                    "--set", "qdrant.collections.replicationFactor=3",
                    "--set", "qdrant.collections.writeConsistencyFactor=2",
                    "--set", "qdrant.collections.onDisk=true")
    assert result.returncode == 0, result.stderr
    envs = store_envs([d for d in yaml.safe_load_all(result.stdout) if d])
    assert envs
    for name, env in envs.items():
        settings = _settings(env, monkeypatch)
        assert (settings.shard_number, settings.replication_factor, settings.write_consistency_factor,
                settings.on_disk) == (8, 3, 2, True), name


def test_schema_refuses_a_zero_replication_factor(helm: Path) -> None:
    result = render(helm, "--set", "qdrant.collections.replicationFactor=0")
    assert result.returncode != 0
    assert "replicationFactor" in result.stderr
