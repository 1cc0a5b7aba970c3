"""Reports of a load-test run: the per-step summary (JSON + Markdown) and latency-over-time plots."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadtests.gates import GateResult, StatsRow
from loadtests.journeys import JOURNEY_REQUEST_TYPE


@dataclass(frozen=True)
class HistoryPoint:
    timestamp: int
    users: int
    name: str
    p50_ms: float | None
    p95_ms: float | None
    rps: float


@dataclass
class StepReport:
    users: int
    duration_s: int
    journeys: list[dict[str, object]] = field(default_factory=list)
    requests: list[dict[str, object]] = field(default_factory=list)
    gates: list[dict[str, object]] = field(default_factory=list)
    passed: bool = True


def _float(text: str) -> float | None:
    return None if text.strip() in ("", "N/A") else float(text)


def parse_history_csv(text: str) -> list[HistoryPoint]:
    """Journey rows of Locust's `_stats_history.csv` (written with --csv-full-history)."""
    points = []
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("Type") != JOURNEY_REQUEST_TYPE:
            continue
        points.append(HistoryPoint(int(row["Timestamp"]), int(row["User Count"]), row["Name"],
                                   _float(row["50%"]), _float(row["95%"]), float(row["Requests/s"])))
    return points


def step_report(users: int, duration_s: int, rows: list[StatsRow], results: list[GateResult]) -> StepReport:
    def describe(row: StatsRow) -> dict[str, object]:
        return {"name": row.name, "type": row.type, "requests": row.requests, "failures": row.failures,
                "error_rate": round(row.error_rate, 4), "p50_ms": row.p50_ms, "p95_ms": row.p95_ms,
                "p99_ms": row.p99_ms}

    return StepReport(
        users=users, duration_s=duration_s,
        journeys=[describe(r) for r in rows if r.type == JOURNEY_REQUEST_TYPE],
        requests=[describe(r) for r in rows if r.type not in (JOURNEY_REQUEST_TYPE, "")],
        gates=[asdict(r) for r in results],
        passed=all(r.passed for r in results),
    )


def breaking_point(steps: list[StepReport]) -> int | None:
    """The smallest user count whose step failed a gate (steps ascend in users); None if none failed."""
    failed = [step.users for step in steps if not step.passed]
    return min(failed) if failed else None


def write_summary(steps: list[StepReport], out: Path, host: str) -> tuple[Path, Path]:
    broken = breaking_point(steps)
    data = {"host": host, "steps": [asdict(s) for s in steps], "breaking_point_users": broken}
    json_path = out / "summary.json"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    lines = [f"# Load test against {host}", "",
             "Per journey and user count: latency percentiles (ms) and error rate; gates from loadtests/gates.yaml.",
             "", "| users | journey | requests | p50 | p95 | p99 | errors | gates |",
             "|---:|---|---:|---:|---:|---:|---:|---|"]
    for step in steps:
        for journey in step.journeys:
            gate_lines = [g for g in step.gates if g["subject"] == f"journey {journey['name']}"]
            verdict = "pass" if all(g["passed"] for g in gate_lines) else "FAIL"
            lines.append(f"| {step.users} | {journey['name']} | {journey['requests']} | {_ms(journey['p50_ms'])} | "
                         f"{_ms(journey['p95_ms'])} | {_ms(journey['p99_ms'])} | "
                         f"{float(str(journey['error_rate'])) * 100:.1f}% | {verdict if gate_lines else '-'} |")
    lines += ["", f"Breaking point: {'none within the tested range' if broken is None else f'{broken} users'}"
              " (the first user count at which a gate fails).", ""]
    for step in steps:
        failures = [g for g in step.gates if not g["passed"]]
        if failures:
            lines.append(f"Failed gates at {step.users} users:")
            lines += [f"- {g['subject']}: {g['metric']} {g['observed']} (limit {g['limit']})" for g in failures]
            lines.append("")
    md_path = out / "summary.md"
    md_path.write_text("\n".join(lines))
    return json_path, md_path


def _nan(value: object) -> float:
    """Missing percentiles (no samples yet) become gaps in a plot."""
    return float("nan") if value is None else float(str(value))


def _ms(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.0f}"


def plot_latency_over_time(points: list[HistoryPoint], out: Path, title: str) -> Path:
    """p50 (dashed) and p95 (solid) per journey over time, with the user count below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=(3, 1))
    start = min((p.timestamp for p in points), default=0)
    for name in sorted({p.name for p in points}):
        series = [p for p in points if p.name == name]
        xs = [p.timestamp - start for p in series]
        line = top.plot(xs, [_nan(p.p95_ms) for p in series], label=f"{name} p95")[0]
        top.plot(xs, [_nan(p.p50_ms) for p in series], linestyle="--", color=line.get_color(), label=f"{name} p50")
    top.set_ylabel("latency (ms)")
    top.set_title(title)
    top.grid(alpha=0.3)
    if points:
        top.legend(fontsize=7, ncol=2)
    users = sorted({(p.timestamp - start, p.users) for p in points})
    bottom.step([u[0] for u in users], [u[1] for u in users], where="post", color="black")
    bottom.set_ylabel("users")
    bottom.set_xlabel("seconds since start")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_sweep(steps: list[StepReport], out: Path, title: str) -> Path:
    """p50/p95/p99 per journey against the user count: where latency breaks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    names = sorted({str(j["name"]) for s in steps for j in s.journeys})
    for name in names:
        rows = [(s.users, j) for s in steps for j in s.journeys if j["name"] == name]
        users = [u for u, _ in rows]
        for metric, style in (("p50_ms", ":"), ("p95_ms", "-"), ("p99_ms", "--")):
            values = [_nan(j[metric]) for _, j in rows]
            ax.plot(users, values, linestyle=style, marker="o", label=f"{name} {metric[:3]}")
    broken = breaking_point(steps)
    if broken is not None:
        ax.axvline(broken, color="red", alpha=0.5, label=f"first gate failure ({broken} users)")
    ax.set_xlabel("concurrent users")
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
