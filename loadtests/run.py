"""Bounded, gated, headless load test: Locust journeys against a MuseChat gateway, then gates and reports.

    python loadtests/run.py --host http://127.0.0.1:3000 --users 10 --duration 60 \
        --api-key-file key.txt --report var/loadtest
    python loadtests/run.py ... --users 1,5,10,20,40 --duration 60     # a sweep: where latency breaks

Writes per step Locust's HTML report and CSVs plus latency-over-time.png, and summary.{json,md} (and a
sweep plot) for the whole run. Exit codes: 0 every gate passed, 1 a gate failed, 2 bad input or Locust
itself failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the `loadtests` package importable
    sys.path.insert(0, str(ROOT))

from loadtests.gates import GatesError, evaluate, load_gates, parse_stats_csv  # noqa: E402
from loadtests.journeys import selected_journeys  # noqa: E402
from loadtests.report import (  # noqa: E402
    StepReport,
    parse_history_csv,
    plot_latency_over_time,
    plot_sweep,
    step_report,
    write_summary,
)

EXIT_OK, EXIT_GATE_FAILED, EXIT_USAGE = 0, 1, 2


def _user_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--users takes N or N1,N2,... ({error})") from error
    if not counts or any(c < 1 for c in counts) or counts != sorted(set(counts)):
        raise argparse.ArgumentTypeError("--users must be positive and ascending without repeats, e.g. 1,5,10")
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="gateway base URL, e.g. http://127.0.0.1:3000")
    parser.add_argument("--users", type=_user_counts, required=True, help="N, or ascending N1,N2,... (a sweep)")
    parser.add_argument("--spawn-rate", type=float, default=None, help="users started per second (default: N/5, >=1)")
    parser.add_argument("--duration", type=int, required=True, help="seconds per step (bounded run)")
    parser.add_argument("--api-key-file", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True, help="output directory")
    parser.add_argument("--gates", type=Path, default=ROOT / "loadtests" / "gates.yaml")
    parser.add_argument("--tag", action="append", default=[], help="run only journeys with this tag")
    parser.add_argument("--exclude-tag", action="append", default=[], help="skip journeys with this tag")
    parser.add_argument("--locust-arg", action="append", default=[], help="extra argument passed to Locust")
    return parser


def _run_step(args: argparse.Namespace, users: int, out: Path) -> None:
    spawn = args.spawn_rate or max(1.0, users / 5)
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"), "--headless",
        "--host", args.host, "-u", str(users), "-r", str(spawn), "-t", f"{args.duration}s",
        "--stop-timeout", "10", "--csv", str(out / "locust"), "--csv-full-history",
        "--html", str(out / "report.html"), "--only-summary", "--loglevel", "WARNING",
        "--exit-code-on-error", "0",
    ]
    if args.tag:
        command += ["--tags", *args.tag]
    if args.exclude_tag:
        command += ["--exclude-tags", *args.exclude_tag]
    command += args.locust_arg
    # Locust runs in a child process: hand it the package path and the load generator's settings.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "MUSECHAT_LOADTEST_API_KEY_FILE": str(args.api_key_file.resolve())}
    env.pop("MUSECHAT_LOADTEST_API_KEY", None)
    print(f"[loadtest] {users} users for {args.duration}s against {args.host}", flush=True)
    # Bounded: Locust stops itself after -t; the timeout is the backstop for a wedged run.
    result = subprocess.run(command, env=env, timeout=args.duration + 180, check=False)
    if result.returncode != 0 or not (out / "locust_stats.csv").exists():
        raise RuntimeError(f"Locust exited with {result.returncode} and no statistics in {out}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.api_key_file.is_file():
        print(f"run.py: error: API key file {args.api_key_file} does not exist", file=sys.stderr)
        return EXIT_USAGE
    try:
        gates = load_gates(args.gates)
    except GatesError as error:
        print(f"run.py: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    journeys = selected_journeys(set(args.tag), set(args.exclude_tag))
    args.report.mkdir(parents=True, exist_ok=True)
    steps: list[StepReport] = []
    for users in args.users:
        out = args.report / f"users-{users:04d}"
        out.mkdir(parents=True, exist_ok=True)
        try:
            _run_step(args, users, out)
            rows = parse_stats_csv((out / "locust_stats.csv").read_text())
        except (RuntimeError, GatesError, subprocess.TimeoutExpired) as error:
            print(f"run.py: error: {error}", file=sys.stderr)
            return EXIT_USAGE
        results = evaluate(rows, gates, journeys)
        steps.append(step_report(users, args.duration, rows, results))
        history = parse_history_csv((out / "locust_stats_history.csv").read_text())
        plot_latency_over_time(history, out / "latency-over-time.png", f"{users} users, {args.host}")
        for result in results:
            print(f"[gate] {users:>4} users  {result.line()}", flush=True)
    json_path, md_path = write_summary(steps, args.report, args.host)
    if len(steps) > 1:
        plot_sweep(steps, args.report / "latency-vs-users.png", f"Journey latency vs users ({args.host})")
    print(f"[loadtest] summary: {md_path} and {json_path}")
    return EXIT_OK if all(step.passed for step in steps) else EXIT_GATE_FAILED


if __name__ == "__main__":
    sys.exit(main())
