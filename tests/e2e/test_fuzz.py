"""Stateful fuzzing of the real gateway (BentoML server, real text model, ranker, engine and broker):
schemathesis follows the OpenAPI links start → turn → feedback with generated (valid and invalid) inputs,
and every answer must be a documented one — no 5xx, no schema violation. The default tier runs a small
budget; the slow tier runs ≥ 1,000 scenarios (docs/benchmarks/faults.md has the report's run)."""

from __future__ import annotations

from typing import Any

import pytest

from musechat.demo.run import DEMO_VIDEO, submit_and_wait
from musechat.demo.world import render_video
from tests.e2e.conftest import System
from tests.fixtures_fuzz import FuzzStats, run_stateful_fuzz

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ready_video(system: System, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("fuzz") / "video.mp4"
    render_video(DEMO_VIDEO, path)
    with system.client() as client:
        return submit_and_wait(client, path)


def _schema(system: System, path_regex: str) -> Any:
    import schemathesis

    return schemathesis.openapi.from_url(f"{system.server.url}/openapi.json").include(path_regex=path_regex)


def _assert_clean(stats: FuzzStats, min_requests: int) -> None:
    summary = stats.summary()
    assert stats.requests >= min_requests, summary
    assert not stats.server_errors, summary["examples_5xx"]
    assert not stats.schema_violations, summary["examples_schema"]


def test_conversations_fuzzed_through_their_links_answer_only_documented_responses(
        system: System, ready_video: str) -> None:
    stats = run_stateful_fuzz(_schema(system, "^/v1/conversations"), system.reader_key, scenarios=25,
                              video_ids=(ready_video,))
    _assert_clean(stats, min_requests=60)
    assert stats.chained >= 20 and stats.statuses[200] >= 5, stats.summary()  # turns and feedback were reached


def test_video_submission_and_lookup_fuzzed(system: System) -> None:
    stats = run_stateful_fuzz(_schema(system, "^/v1/videos"), system.reader_key, scenarios=15, steps=3)
    _assert_clean(stats, min_requests=15)


@pytest.mark.slow
def test_a_thousand_stateful_conversation_scenarios(system: System, ready_video: str) -> None:
    stats = run_stateful_fuzz(_schema(system, "^/v1/conversations"), system.reader_key, scenarios=1000,
                              video_ids=(ready_video,))
    _assert_clean(stats, min_requests=1000)
