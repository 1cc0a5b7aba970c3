"""Latency and error gates per journey, evaluated on Locust's CSV statistics (pure functions).

gates.yaml:
    journeys:                       # whole journeys (request type JOURNEY), keyed by journey name
      conversation: {p50_ms: 800, p95_ms: 2000, p99_ms: 3000, max_error_rate: 0.01, min_requests: 1}
    requests:                       # optional: single endpoints, keyed by "<METHOD> <name>"
      "POST /v1/conversations/{id}/turns": {p95_ms: 500}
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loadtests.journeys import JOURNEY_REQUEST_TYPE, JOURNEY_TAGS


class GatesError(ValueError):
    """The gates file or the statistics cannot be read; the message says what to fix."""


class Gate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    p50_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)
    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    min_requests: int = Field(default=1, ge=0, description="Fewer samples than this fail the gate.")


class GateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    journeys: dict[str, Gate]
    requests: dict[str, Gate] = Field(default_factory=dict)


@dataclass(frozen=True)
class StatsRow:
    """One row of Locust's `<prefix>_stats.csv` (times in ms; None where Locust wrote N/A)."""

    type: str
    name: str
    requests: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class GateResult:
    subject: str          # "journey conversation" or "request POST /v1/..."
    metric: str           # p50_ms, p95_ms, p99_ms, error_rate, requests
    limit: float
    observed: float | None
    passed: bool

    def line(self) -> str:
        observed = "missing" if self.observed is None else f"{self.observed:g}"
        relation = ">=" if self.metric == "requests" else "<="
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict} {self.subject}: {self.metric} {observed} (gate {relation} {self.limit:g})"


def load_gates(path: Path) -> GateConfig:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise GatesError(f"cannot read gates file {path}: {error}") from error
    try:
        config = GateConfig.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise GatesError(f"{path}: {where}: {first['msg']}") from error
    unknown = sorted(set(config.journeys) - set(JOURNEY_TAGS))
    if unknown:
        raise GatesError(f"{path}: unknown journeys {unknown}; known: {sorted(JOURNEY_TAGS)}")
    return config


def _number(text: str) -> float | None:
    text = text.strip()
    if text in ("", "N/A"):
        return None
    value = float(text)
    return None if math.isnan(value) else value


def parse_stats_csv(text: str) -> list[StatsRow]:
    """Rows of Locust's `_stats.csv`; the `Aggregated` total row is kept under its own name."""
    reader = csv.DictReader(io.StringIO(text))
    required = {"Type", "Name", "Request Count", "Failure Count", "50%", "95%", "99%"}
    if reader.fieldnames is None or not required <= set(reader.fieldnames):
        raise GatesError(f"not a Locust stats CSV: expected columns {sorted(required)}, got {reader.fieldnames}")
    return [
        StatsRow(type=row["Type"], name=row["Name"], requests=int(row["Request Count"]),
                 failures=int(row["Failure Count"]), p50_ms=_number(row["50%"]),
                 p95_ms=_number(row["95%"]), p99_ms=_number(row["99%"]))
        for row in reader
    ]


def _check(subject: str, gate: Gate, row: StatsRow | None) -> list[GateResult]:
    requests = row.requests if row else 0
    results = [GateResult(subject, "requests", gate.min_requests, requests, requests >= gate.min_requests)]
    if row is None or row.requests == 0:
        return results
    for metric in ("p50_ms", "p95_ms", "p99_ms"):
        limit = getattr(gate, metric)
        if limit is not None:
            observed = getattr(row, metric)
            results.append(GateResult(subject, metric, limit, observed, observed is not None and observed <= limit))
    results.append(GateResult(subject, "error_rate", gate.max_error_rate, round(row.error_rate, 6),
                              row.error_rate <= gate.max_error_rate))
    return results


def evaluate(rows: list[StatsRow], config: GateConfig, journeys_run: set[str]) -> list[GateResult]:
    """Every gate's verdict. Journeys not selected for this run (tags) are not judged; a selected journey
    without samples fails its `requests` gate, so a silently broken journey cannot pass."""
    journeys = {row.name: row for row in rows if row.type == JOURNEY_REQUEST_TYPE}
    requests = {f"{row.type} {row.name}": row for row in rows if row.type != JOURNEY_REQUEST_TYPE}
    results: list[GateResult] = []
    for name, gate in sorted(config.journeys.items()):
        if name in journeys_run:
            results.extend(_check(f"journey {name}", gate, journeys.get(name)))
    for key, gate in sorted(config.requests.items()):
        row = requests.get(key)
        if row is not None or gate.min_requests == 0:
            results.extend(_check(f"request {key}", gate, row))
    return results


def passed(results: list[GateResult]) -> bool:
    return all(result.passed for result in results)
