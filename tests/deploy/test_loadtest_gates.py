"""Gate evaluation, Locust CSV parsing, journey selection and the run summary (pure functions)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from loadtests.gates import (
    Gate,
    GateConfig,
    GatesError,
    StatsRow,
    evaluate,
    load_gates,
    parse_stats_csv,
    passed,
)
from loadtests.journeys import JOURNEY_TAGS, selected_journeys, track_batch, turn_body
from loadtests.report import breaking_point, parse_history_csv, step_report, write_summary

pytestmark = pytest.mark.unit

HEADER = ("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
          "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
          "99.99%,100%")


def stats(*rows: tuple[str, str, int, int, str, str, str]) -> str:
    lines = [HEADER]
    for kind, name, count, failures, p50, p95, p99 in rows:
        lines.append(f"{kind},{name},{count},{failures},{p50},1,1,1,0,1,0,{p50},{p50},{p50},{p50},{p95},"
                     f"{p95},{p99},{p99},{p99},{p99},{p99}")
    return "\n".join(lines) + "\n"


def test_parse_stats_reads_percentiles_and_na() -> None:
    rows = parse_stats_csv(stats(("JOURNEY", "conversation", 10, 1, "120", "400", "900"),
                                 ("POST", "/v1/videos", 0, 0, "N/A", "N/A", "N/A")))
    assert rows[0] == StatsRow("JOURNEY", "conversation", 10, 1, 120.0, 400.0, 900.0)
    assert rows[0].error_rate == pytest.approx(0.1)
    assert rows[1].p95_ms is None and rows[1].error_rate == 0.0


def test_parse_stats_rejects_other_csv() -> None:
    with pytest.raises(GatesError, match="not a Locust stats CSV"):
        parse_stats_csv("a,b\n1,2\n")


def test_each_percentile_and_the_error_rate_are_judged() -> None:
    config = GateConfig(journeys={"conversation": Gate(p50_ms=100, p95_ms=500, p99_ms=800, max_error_rate=0.05)})
    rows = parse_stats_csv(stats(("JOURNEY", "conversation", 20, 2, "90", "600", "700")))
    verdicts = {r.metric: r.passed for r in evaluate(rows, config, {"conversation"})}
    assert verdicts == {"requests": True, "p50_ms": True, "p95_ms": False, "p99_ms": True, "error_rate": False}


def test_limits_are_inclusive() -> None:
    config = GateConfig(journeys={"conversation": Gate(p95_ms=500, max_error_rate=0.1)})
    rows = parse_stats_csv(stats(("JOURNEY", "conversation", 10, 1, "100", "500", "500")))
    assert passed(evaluate(rows, config, {"conversation"}))


def test_a_selected_journey_without_samples_fails_and_an_unselected_one_is_not_judged() -> None:
    config = GateConfig(journeys={"conversation": Gate(p95_ms=500), "catalog_ingestion": Gate(p95_ms=500)})
    rows = parse_stats_csv(stats(("JOURNEY", "video_submission", 3, 0, "10", "10", "10")))
    results = evaluate(rows, config, {"conversation"})
    assert [(r.subject, r.metric, r.passed) for r in results] == [("journey conversation", "requests", False)]


def test_min_requests_zero_lets_a_rare_journey_be_absent() -> None:
    config = GateConfig(journeys={"catalog_ingestion": Gate(p95_ms=500, min_requests=0)})
    assert passed(evaluate([], config, {"catalog_ingestion"}))


def test_request_gates_match_method_and_name() -> None:
    config = GateConfig(journeys={}, requests={"GET /v1/videos/{id}": Gate(p95_ms=50, min_requests=0)})
    rows = parse_stats_csv(stats(("GET", "/v1/videos/{id}", 5, 0, "20", "80", "90"),
                                 ("POST", "/v1/videos/{id}", 5, 0, "20", "20", "20")))
    results = evaluate(rows, config, set())
    assert [(r.metric, r.observed, r.passed) for r in results if r.metric == "p95_ms"] == [("p95_ms", 80.0, False)]


def test_a_missing_percentile_fails_its_gate() -> None:
    config = GateConfig(journeys={"conversation": Gate(p99_ms=100)})
    rows = [StatsRow("JOURNEY", "conversation", 3, 0, 10.0, 20.0, None)]
    result = next(r for r in evaluate(rows, config, {"conversation"}) if r.metric == "p99_ms")
    assert not result.passed and "missing" in result.line()


def test_load_gates_accepts_the_committed_file_and_names_errors(tmp_path: Path) -> None:
    config = load_gates(Path(__file__).resolve().parents[2] / "loadtests" / "gates.yaml")
    assert set(config.journeys) == set(JOURNEY_TAGS)
    bad = tmp_path / "gates.yaml"
    bad.write_text("journeys:\n  conversation: {p95: 10}\n")
    with pytest.raises(GatesError, match=r"conversation\.p95"):
        load_gates(bad)
    bad.write_text("journeys:\n  checkout: {p95_ms: 10}\n")
    with pytest.raises(GatesError, match="unknown journeys"):
        load_gates(bad)


def test_journey_selection_follows_locust_tags() -> None:
    assert selected_journeys(None, {"catalog"}) == {"video_submission", "conversation", "conversation_explained"}
    assert selected_journeys({"explain"}, None) == {"conversation_explained"}
    assert selected_journeys({"conversation"}, {"explain"}) == {"conversation"}


def test_bodies_follow_the_contracts() -> None:
    rng = random.Random(3)
    batch = track_batch(rng, 4, "/data/catalog/a.wav")
    assert len({t.track.track_id for t in batch.tracks}) == 4
    turn = turn_body(rng, "state-token", explain=True)
    assert turn.explain and turn.state == "state-token" and turn.text


def test_summary_reports_the_breaking_point(tmp_path: Path) -> None:
    config = GateConfig(journeys={"conversation": Gate(p95_ms=500)})
    steps = []
    for users, p95 in ((1, "100"), (5, "300"), (10, "900"), (20, "2000")):
        rows = parse_stats_csv(stats(("JOURNEY", "conversation", 50, 0, "50", p95, p95)))
        steps.append(step_report(users, 30, rows, evaluate(rows, config, {"conversation"})))
    assert breaking_point(steps) == 10
    json_path, md_path = write_summary(steps, tmp_path, "http://127.0.0.1:3000")
    assert json.loads(json_path.read_text())["breaking_point_users"] == 10
    assert "| 10 | conversation | 50 | 50 | 900 | 900 | 0.0% | FAIL |" in md_path.read_text()


def test_history_keeps_journey_rows_only() -> None:
    text = ("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%\n"
            "100,2,JOURNEY,conversation,1.5,0,120,300\n"
            "100,2,POST,/v1/videos,3.0,0,20,40\n"
            "101,3,JOURNEY,conversation,1.0,0,N/A,N/A\n")
    points = parse_history_csv(text)
    assert [(p.timestamp, p.users, p.p95_ms) for p in points] == [(100, 2, 300.0), (101, 3, None)]
