"""The learning loop's metrics: a turn counts as mismatched exactly when its model did not build the
collection it searched; the registry gauges read the registry at scrape time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from musechat.catalog.indexer import collection_for
from musechat.contracts.ranking import RankResponse
from musechat.registry.metrics import observe_served, track_registry
from musechat.registry.registry import GateVerdict, ModelRegistry, now_iso

pytestmark = pytest.mark.unit


def _served(towers: str) -> float:
    return REGISTRY.get_sample_value("musechat_turns_served_total", {"towers": towers}) or 0.0


def test_turns_count_as_mismatched_only_when_the_index_is_another_models() -> None:
    matched, mismatched = _served("matched"), _served("mismatched")
    observe_served(RankResponse(tracks=[], model_version="fusion@a", index_collection=collection_for("fusion@a")))
    assert (_served("matched"), _served("mismatched")) == (matched + 1, mismatched)
    observe_served(RankResponse(tracks=[], model_version="fusion@a", index_collection=collection_for("fusion@b")))
    assert (_served("matched"), _served("mismatched")) == (matched + 1, mismatched + 1)


def test_registry_gauges_read_live_age_and_verdicts_at_scrape_time(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    versions = []
    for name in ("a", "b"):
        run = tmp_path / name
        run.mkdir()
        (run / "model.safetensors").write_bytes(name.encode())
        (run / "config.json").write_text(json.dumps({"variant": "musechat"}))
        versions.append(registry.register(run).version)
    track_registry(registry)
    assert REGISTRY.get_sample_value("musechat_model_versions", {"gate": "none"}) == 2
    age = REGISTRY.get_sample_value("musechat_model_live_age_seconds")
    assert age is not None and age != age  # NaN: nothing is live yet
    registry.record_gate(versions[1], GateVerdict(passed=False, reason="worse", margin=0.02, against=versions[0],
                                                  at=now_iso()))
    registry.mark_live(versions[0], collection_for(versions[0]), "e1")
    assert REGISTRY.get_sample_value("musechat_model_versions", {"gate": "refused"}) == 1
    assert 0 <= (REGISTRY.get_sample_value("musechat_model_live_age_seconds") or -1) < 60
