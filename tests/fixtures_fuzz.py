"""The stateful fuzz harness (schemathesis over the gateway's own OpenAPI document, following its links
start → turn → feedback): counts every request, every 5xx and every schema violation instead of stopping
at the first, so the fault-and-fuzz report can state totals. Used by tests/e2e/test_fuzz.py (a small run
in the default tier, ≥ 1,000 scenarios in the slow tier) and benchmarks/faults_bench.py (the report)."""

from __future__ import annotations

import json
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Checks whose failure means the answer broke the documented contract (shape, status, content type).
SCHEMA_CHECKS = ("response_schema_conformance", "status_code_conformance", "content_type_conformance",
                 "response_headers_conformance")


@dataclass
class FuzzStats:
    scenarios: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    schema_violations: list[str] = field(default_factory=list)
    other_findings: Counter[str] = field(default_factory=Counter)
    other_examples: dict[str, list[str]] = field(default_factory=dict)
    chained: int = 0  # calls on an existing conversation (turns, feedback): reached through the links
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"scenarios": self.scenarios, "requests": self.requests, "chained_requests": self.chained,
                "responses_5xx": len(self.server_errors), "schema_violations": len(self.schema_violations),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "operations": dict(sorted(self.operations.items())),
                "other_check_findings": dict(self.other_findings), "other_check_examples": self.other_examples,
                "seconds": round(self.seconds, 1),
                "examples_5xx": self.server_errors[:5], "examples_schema": self.schema_violations[:5]}


def _check_name(failure: Any) -> str:
    """The check a schemathesis failure comes from (`checks` on 4.x failures), else its code or type."""
    checks = getattr(failure, "checks", None)
    if isinstance(checks, tuple) and checks:
        return str(checks[0])
    for attribute in ("check_name", "check", "code"):
        value = getattr(failure, attribute, None)
        if isinstance(value, str):
            return value
    return type(failure).__name__


def run_stateful_fuzz(schema: Any, api_key: str, scenarios: int, steps: int = 6,
                      video_ids: tuple[str, ...] = (), real_video_share: float = 0.8) -> FuzzStats:
    """Drive `scenarios` random call chains through the API (each up to `steps` calls, following the
    document's links) and count. `video_ids`: ready videos that a conversation start names instead of a
    random id `real_video_share` of the time, so chains get past turn 1 and reach turns and feedback."""
    import hypothesis
    from schemathesis.core.failures import FailureGroup

    stats = FuzzStats()
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            stats.scenarios += 1

        def before_call(self, case: Any) -> None:
            # Decided by the drawn body itself, never by outside randomness: Hypothesis replays a scenario
            # from its data, and a start that 404s once and 201s the next time would change the scenario.
            if video_ids and case.method.upper() == "POST" and case.path == "/v1/conversations" and isinstance(
                    case.body, dict):
                digest = zlib.crc32(json.dumps(case.body, sort_keys=True, default=str).encode())
                if digest % 1000 < real_video_share * 1000:
                    case.body["video_id"] = video_ids[digest % len(video_ids)]
            if case.path.startswith("/v1/conversations/{"):
                stats.chained += 1

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {api_key}"}, "timeout": 120}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            stats.requests += 1
            stats.statuses[response.status_code] += 1
            label = f"{case.method} {case.path}"
            stats.operations[label] += 1
            if response.status_code >= 500:
                stats.server_errors.append(f"{label} -> {response.status_code}: {response.text[:300]}")
            try:
                super().validate_response(response, case, additional_checks, **kwargs)
            except FailureGroup as group:
                for failure in group.exceptions:
                    name = _check_name(failure)
                    if name in SCHEMA_CHECKS:
                        stats.schema_violations.append(
                            f"{label} -> {response.status_code} [{name}] {str(failure)[:240]} | body: "
                            f"{response.text[:120]!r}")
                    else:
                        stats.other_findings[name] += 1
                        examples = stats.other_examples.setdefault(name, [])
                        if len(examples) < 3:
                            examples.append(f"{label} -> {response.status_code}: {str(failure)[:240]}")
            except AssertionError as failure:
                stats.other_findings[type(failure).__name__] += 1

    started = time.perf_counter()
    Machine.run(settings=hypothesis.settings(
        max_examples=scenarios, stateful_step_count=steps, deadline=None, database=None,
        suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.generate]))
    stats.seconds = time.perf_counter() - started
    return stats


def run_stateless_fuzz(schema: Any, api_key: str, examples: int) -> FuzzStats:
    """Each operation of `schema` alone (routes without links, e.g. catalog submission): `examples` each."""
    import hypothesis
    from schemathesis.core.failures import FailureGroup

    stats = FuzzStats()
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.settings(max_examples=examples, deadline=None, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.generate])
        @hypothesis.given(case=operation.as_strategy())
        def one(case: Any) -> None:
            stats.scenarios += 1
            response = case.call(headers={"Authorization": f"Bearer {api_key}"}, timeout=120)
            label = f"{case.method} {case.path}"
            stats.requests += 1
            stats.statuses[response.status_code] += 1
            stats.operations[label] += 1
            if response.status_code >= 500:
                stats.server_errors.append(f"{label} -> {response.status_code}: {response.text[:300]}")
            try:
                case.validate_response(response)
            except FailureGroup as group:
                for failure in group.exceptions:
                    name = _check_name(failure)
                    if name in SCHEMA_CHECKS:
                        stats.schema_violations.append(
                            f"{label} -> {response.status_code} [{name}] {str(failure)[:240]} | body: "
                            f"{response.text[:120]!r}")
                    else:
                        stats.other_findings[name] += 1
                        examples = stats.other_examples.setdefault(name, [])
                        if len(examples) < 3:
                            examples.append(f"{label} -> {response.status_code}: {str(failure)[:240]}")
            except AssertionError as failure:
                stats.other_findings[type(failure).__name__] += 1

        one()
    stats.seconds = time.perf_counter() - started
    return stats
