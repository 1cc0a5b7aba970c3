"""Fault-and-fuzz report for the gateway and the event bus (issue #15): docs/benchmarks/faults.{json,md}.

One run on the embedded single-machine system (bundled Tansu broker, qdrant-edge, the gateway's BentoML
server with workers embedded, a small demo world and a trained fusion model), in this order:

1. fuzz: schemathesis, stateful over the OpenAPI links (start → turn → feedback; `--scenarios`, ≥ 1,000 for
   the report), plus video submission/lookup and catalog submission; requests, 5xx, schema violations.
2. isolation: p99 of legitimate concurrent turns alone, then while poison requests (empty and lone-surrogate
   video ids, forged states) and oversized 4096x2160 uploads arrive; the ratio of the two p99s.
3. broker kill -9 during conversations: turns keep being served during the outage (their latency and
   failures), the broker comes back empty on the same port, and the turn events written meanwhile reach
   the new broker (lost = expected turn events missing, duplicated = event ids seen twice).
4. gateway kill -9 during conversations: the server and its workers die mid-traffic; a new server on the
   same workdir serves the old conversations' state tokens, and the outbox file's events go out.
5. broker kill -9 during catalog ingestion (`--only ingest`, no gateway): every track indexed exactly once
   after the ingest re-drives what the restarted, empty broker lost.
6. worker kill -9 during catalog ingestion (`--only workers`): the catalog worker, then the indexer, as
   their own processes, each killed once and started again; tracks lost / duplicated in the store.

Run: `.venv/bin/python benchmarks/faults_bench.py [--scenarios 1000] [--only broker,gateway]`. The system, the
conversation load and parts 3-4 live in tests/fixtures_faults.py; tests/e2e/test_faults.py checks them in CI.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import environment, fmt, peak_rss_mb, table, write_json, write_markdown  # noqa: E402

# The system, the conversation load and parts 3-4 (broker and gateway kill) are shared with the slow tier's
# pass/fail checks (tests/e2e/test_faults.py).
from tests.fixtures_faults import (  # noqa: E402
    TurnLoad,
    broker_kill,
    embedded_system,
    gateway_kill,
    http_client,
    ready_video,
    window_stats,
)

OUT = ROOT / "docs" / "benchmarks"


# ---------------------------------------------------------------------------------------------- 1. fuzz
def fuzz(url: str, reader: str, admin: str, video_id: str, scenarios: int) -> dict[str, Any]:
    import schemathesis

    from tests.fixtures_fuzz import run_stateful_fuzz, run_stateless_fuzz

    def schema(regex: str) -> Any:
        return schemathesis.openapi.from_url(f"{url}/openapi.json").include(path_regex=regex)

    parts: dict[str, Callable[[], Any]] = {
        "conversations (stateful, links)": lambda: run_stateful_fuzz(
            schema("^/v1/conversations"), reader, scenarios, video_ids=(video_id,)),
        "videos (stateful, links)": lambda: run_stateful_fuzz(schema("^/v1/videos"), reader, max(20, scenarios // 20),
                                                              steps=3),
        "catalog (per operation, admin key)": lambda: run_stateless_fuzz(schema("^/v1/tracks"), admin,
                                                                         max(20, scenarios // 20))}
    out: dict[str, Any] = {}
    for name, run in parts.items():
        try:
            out[name] = run().summary()
        except Exception as error:  # a part that cannot run is reported, the others still are
            out[name] = {"error": f"{type(error).__name__}: {error}"[:300]}
        print("fuzz", name, json.dumps(out[name])[:400], flush=True)
    return out


# ---------------------------------------------------------------------------------------------- 2. isolation
def isolation(url: str, key: str, video_id: str, workdir: Path, window_s: float, clients: int,
              rounds: int = 3) -> dict[str, Any]:
    """Legitimate turns in alternating windows, quiet and attacked (Q A Q A ...), so the shared machine's
    drift hits both alike; the attack: a poison request (bad ids, a forged state with lone surrogates) every
    0.5 s and a 4096x2160 upload every 2 s."""
    from tests.fixtures_video import make_video

    big = make_video(workdir / "uhd.mp4", duration_s=2, fps=10, size=(4096, 2160))
    poison_bodies = [{"video_id": ""}, {"video_id": "\ud800"}, {"video_id": "vid\x00x"}, {"video_id": "a" * 500}]
    load = TurnLoad(url, key, video_id, clients).start()
    outcomes: Counter[str] = Counter()
    windows: list[tuple[str, float, float]] = []

    def attack(stop: threading.Event) -> None:
        with http_client(url, key) as client:
            n = 0
            while not stop.wait(0.5):
                body = json.dumps(poison_bodies[n % len(poison_bodies)]).encode()
                r = client.post("/v1/conversations", content=body, headers={"Content-Type": "application/json"})
                outcomes[f"poison {r.status_code}"] += 1
                r = client.post("/v1/conversations/conv-x/turns",
                                content=b'{"text": "\\ud800\\udfff\\ud800", "state": "s1.x.y"}',
                                headers={"Content-Type": "application/json"})
                outcomes[f"forged {r.status_code}"] += 1
                if n % 4 == 0:
                    with big.open("rb") as handle:
                        r = client.post("/v1/videos", files={"file": ("uhd.mp4", handle, "video/mp4")})
                    outcomes[f"oversized video {r.status_code}"] += 1
                n += 1

    try:
        time.sleep(3.0)  # warm
        for _ in range(rounds):
            quiet = time.monotonic()
            time.sleep(window_s)
            windows.append(("quiet", quiet, time.monotonic()))
            stop = threading.Event()
            attacker = threading.Thread(target=attack, args=(stop,), daemon=True)
            attacked = time.monotonic()
            attacker.start()
            time.sleep(window_s)
            stop.set()
            attacker.join(30)
            windows.append(("attacked", attacked, time.monotonic()))
    finally:
        load.stop()

    def pooled(kind: str) -> dict[str, Any]:
        return window_stats([s for k, a, b in windows if k == kind for s in load.window(a, b)])

    per_window = [{"kind": k, **window_stats(load.window(a, b))} for k, a, b in windows]
    quiet_p99 = [w["p99_ms"] for w in per_window if w["kind"] == "quiet" and w["p99_ms"]]
    attacked_p99 = [w["p99_ms"] for w in per_window if w["kind"] == "attacked" and w["p99_ms"]]
    baseline, under_attack = pooled("quiet"), pooled("attacked")
    ratio = under_attack["p99_ms"] / baseline["p99_ms"] if baseline["p99_ms"] and under_attack["p99_ms"] else None
    median_ratio = (statistics.median(attacked_p99) / statistics.median(quiet_p99)
                    if quiet_p99 and attacked_p99 else None)
    return {"clients": clients, "window_s": window_s, "rounds": rounds, "baseline": baseline,
            "under_attack": under_attack, "p99_ratio": ratio, "p99_ratio_of_window_medians": median_ratio,
            "windows": per_window, "attack_outcomes": dict(outcomes)}


# ---------------------------------------------------------------------------------------------- 5. ingest broker kill
def ingest_broker_kill(workdir: Path, tracks: int, redrive_after_s: float = 10.0) -> dict[str, Any]:
    """`catalog ingest`'s own code path (publish, then await outcomes with re-drive) on a fresh broker, the
    real music encoder (tiny AST + MusiCNN) and qdrant-edge; the broker is SIGKILLed once some tracks are
    indexed and restarted empty on the same port (what a supervisor does)."""
    import shutil

    from musechat.bus.broker import EmbeddedBroker, ensure_topics
    from musechat.catalog.demo_catalog import generate_catalog
    from musechat.catalog.embedded import embedded_catalog_stack
    from musechat.catalog.encoder_client import InProcessMusicEncoder
    from musechat.catalog.runtime import PIPELINE_OUTCOME_TOPICS, await_outcomes, publish_ingest
    from musechat.contracts.catalog import TRACKS_COLLECTION
    from musechat.contracts.topics import Topic
    from musechat.encoders.music import MusicEncoder

    root = workdir / "ingest-kill"
    shutil.rmtree(root, ignore_errors=True)
    catalog = generate_catalog(root / "catalog", tracks, seed=3, min_seconds=3.0, max_seconds=5.0,
                               progress=False).parent
    ids = [json.loads(line)["id"] for line in (catalog / "manifest.jsonl").read_text().splitlines()]
    encoder = InProcessMusicEncoder(MusicEncoder.load("music-ast-tiny", cache_dir=workdir / "models"))
    broker = EmbeddedBroker().start()
    restarted = None
    try:
        with embedded_catalog_stack(root / "state", encoder=encoder, bootstrap=broker.bootstrap_servers) as stack:
            started = time.monotonic()
            receipt = publish_ingest(catalog, stack.producer)
            box: dict[str, Any] = {}
            waiter = threading.Thread(target=lambda: box.setdefault("summary", await_outcomes(
                stack.bus, receipt, timeout_s=600, progress=False, producer=stack.producer,
                redrive_after_s=redrive_after_s)))
            waiter.start()
            while stack.store.count(TRACKS_COLLECTION) < max(1, tracks // 8):
                time.sleep(0.05)
            broker._proc.kill()  # type: ignore[union-attr]  # SIGKILL: Tansu keeps all in memory
            broker._proc.wait()  # type: ignore[union-attr]
            indexed_at_kill = stack.store.count(TRACKS_COLLECTION)
            time.sleep(2)
            restarted = EmbeddedBroker(port=broker.port).start()
            ensure_topics(restarted.bootstrap_servers,
                          [Topic.TRACK_SUBMITTED, Topic.TRACK_ENCODED, *PIPELINE_OUTCOME_TOPICS])
            waiter.join()
            summary = box["summary"]
            points = stack.store.retrieve(TRACKS_COLLECTION, ids)
            stored = stack.store.count(TRACKS_COLLECTION)
    finally:
        for running in (broker, restarted):
            if running is not None:
                running.stop()
    found = Counter(str(point.id) for point in points)
    return {"tracks": tracks, "indexed_at_kill": indexed_at_kill, "redrives": summary.redrives,
            "redrive_after_s": redrive_after_s, "ingest_s": round(time.monotonic() - started, 1),
            "tracks_lost": len(set(ids) - set(found)), "tracks_duplicated": stored - len(found),
            "failed": len(summary.failed), "still_pending": len(summary.missing)}


# ---------------------------------------------------------------------------------------------- 6. worker kill
def _worker(name: str, bootstrap: str, store_path: Path, log: Path) -> Any:
    import os
    import subprocess

    env = {**os.environ, "MUSECHAT_BUS_BOOTSTRAP_SERVERS": bootstrap, "MUSECHAT_STORE_BACKEND": "edge",
           "MUSECHAT_STORE_PATH": str(store_path), "MUSECHAT_BUS_MAX_POLL_RECORDS": "5"}
    return subprocess.Popen([sys.executable, "-m", "musechat.cli", "--verbose", "worker", name], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def worker_kill(workdir: Path, tracks: int, redrive_after_s: float = 30.0) -> dict[str, Any]:
    """The catalog worker (music encoder) and the indexer as their own processes (`musechat worker ...`,
    as the chart runs them); each is SIGKILLed once during one ingestion and started again by this bench
    (in the chart: the Deployment's restart of the pod); `catalog ingest`'s await + re-drive runs alongside."""
    import shutil
    import signal

    from musechat.bus import EventProducer
    from musechat.bus.broker import EmbeddedBroker, ensure_topics
    from musechat.bus.settings import BusSettings
    from musechat.catalog.demo_catalog import generate_catalog
    from musechat.catalog.runtime import PIPELINE_OUTCOME_TOPICS, await_outcomes, publish_ingest
    from musechat.contracts.catalog import TRACKS_COLLECTION
    from musechat.contracts.topics import Topic
    from musechat.store.settings import StoreSettings, open_store

    root = workdir / "worker-kill"
    shutil.rmtree(root, ignore_errors=True)
    catalog = generate_catalog(root / "catalog", tracks, seed=4, min_seconds=3.0, max_seconds=5.0,
                               progress=False).parent
    ids = [json.loads(line)["id"] for line in (catalog / "manifest.jsonl").read_text().splitlines()]
    store_path, log = root / "edge", root / "workers.log"
    broker = EmbeddedBroker().start()
    processes: dict[str, Any] = {}
    kills: list[dict[str, Any]] = []
    try:
        bus = BusSettings(bootstrap_servers=broker.bootstrap_servers)
        ensure_topics(bus.bootstrap_servers, [Topic.TRACK_SUBMITTED, Topic.TRACK_ENCODED, *PIPELINE_OUTCOME_TOPICS])
        for name in ("catalog-worker", "indexer"):
            processes[name] = _worker(name, bus.bootstrap_servers, store_path, log)
        with EventProducer(bus) as producer:
            started = time.monotonic()
            receipt = publish_ingest(catalog, producer)
            box: dict[str, Any] = {}
            waiter = threading.Thread(target=lambda: box.setdefault("summary", await_outcomes(
                bus, receipt, timeout_s=900, progress=False, producer=producer, redrive_after_s=redrive_after_s)))
            waiter.start()
            for name in ("catalog-worker", "indexer"):  # the indexer's log is the progress signal for both
                target = len(_indexed(log)) + max(2, tracks // 8)
                while len(_indexed(log)) < target and waiter.is_alive():
                    time.sleep(0.1)
                processes[name].send_signal(signal.SIGKILL)
                processes[name].wait()
                kills.append({"process": name, "pending_at_kill": tracks - len(_indexed(log)),
                              "at_s": round(time.monotonic() - started, 1)})
                processes[name] = _worker(name, bus.bootstrap_servers, store_path, log)
            waiter.join()
            summary = box["summary"]
            ingest_s = time.monotonic() - started
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        broker.stop()
    store = open_store(StoreSettings(backend="edge", path=store_path))
    try:
        found = {point.id for point in store.retrieve(TRACKS_COLLECTION, ids)}
        stored = store.count(TRACKS_COLLECTION)
    finally:
        store.close()
    return {"tracks": tracks, "kills": kills, "redrives": summary.redrives, "ingest_s": round(ingest_s, 1),
            "tracks_lost": len(set(ids) - found), "tracks_duplicated": stored - len(found),
            "failed": len(summary.failed), "still_pending": len(summary.missing),
            "restarted_by": "this bench (a new process on the same broker and store; in the chart the "
                            "Deployment restarts the pod)"}


def _indexed(log: Path) -> set[str]:
    return {line.split("indexed ", 1)[1].split(":")[0] for line in log.read_text(errors="replace").splitlines()
            if "indexed " in line}


# ---------------------------------------------------------------------------------------------- report
def render(result: dict[str, Any]) -> list[str]:
    fz, iso, bk, gk, ik = (result.get(k, {}) for k in ("fuzz", "isolation", "broker_kill", "gateway_kill",
                                                      "ingest_broker_kill"))
    failed = {k: v["error"] for k, v in result.items() if isinstance(v, dict) and "error" in v}
    fz, iso, bk, gk, ik = ({} if "error" in part else part for part in (fz, iso, bk, gk, ik))
    runs = [c for c in [*result.get("earlier_commands", []), result["command"]] if c]
    lines = ["# Faults and fuzzing: gateway and event bus", "",
             f"{result['environment']}; peak RSS of the driver {fmt(result['peak_rss_mb'])} MB. Each part's figures "
             "come from one run of `benchmarks/faults_bench.py` (a partial re-run replaces only its parts): "
             + "; ".join(f"`{c}`" for c in runs) + ". Parts: " + ", ".join(
                 f"{k} ({v.get('seconds', '–')} s)" for k, v in result.items()
                 if isinstance(v, dict) and "seconds" in v) + ". The system: bundled Tansu broker, qdrant-edge, "
             "the gateway's BentoML server with embedded workers, the e2e demo world (2 track variants, 300 "
             "training steps), each run on a fresh broker.", "",
             "## Fuzzing (schemathesis, stateful over the OpenAPI links)", ""]
    rows = [[name, s["scenarios"], s["requests"], s["chained_requests"], s["responses_5xx"], s["schema_violations"],
             ", ".join(f"{k}: {v}" for k, v in s["statuses"].items())] if "error" not in s
            else [name, "–", "–", "–", "–", "–", f"not run: {s['error']}"] for name, s in fz.items()
            if isinstance(s, dict)]
    lines += table(["operations", "scenarios", "requests", "on a conversation", "5xx", "schema violations",
                    "statuses"], rows)
    for name, part in fz.items():
        if isinstance(part, dict) and part.get("examples_schema"):
            lines += ["", f"Schema violations ({name}), first examples:", ""]
            lines += [f"- `{e.splitlines()[0][:200]}` {' '.join(e.splitlines()[1:])[:200]}"
                      for e in part["examples_schema"]]
    others = {k: v for part in fz.values() if isinstance(part, dict)
              for k, v in part.get("other_check_findings", {}).items()}
    if others:
        lines += ["", "Other schemathesis findings (not contract breaks): " + ", ".join(
            f"{k} {v}" for k, v in others.items()) + ". `positive_data_acceptance`: a schema-valid request got a "
            "4xx the schema cannot express (an unknown id, a stale state 409, `track_not_recommended` 422); "
            "`negative_data_rejection`: the harness always sends the API key, so a case meant to lack it was "
            "answered 200."]
    lines += ["", "## Isolation: legitimate turns while poison requests and 4096x2160 uploads arrive", ""]
    if iso:
        lines += table(["window", "requests", "failed", "p50 ms", "p99 ms"], [
            [name, iso[name]["requests"], iso[name]["failed"], fmt(iso[name]["p50_ms"]), fmt(iso[name]["p99_ms"])]
            for name in ("baseline", "under_attack")])
        lines += ["", f"p99 ratio (attacked / quiet windows pooled, same run): **{fmt(iso['p99_ratio'], 2)}**; "
                  f"ratio of the windows' median p99s: {fmt(iso.get('p99_ratio_of_window_medians'), 2)} "
                  f"({iso['clients']} client threads, {iso.get('rounds', 1)} rounds of {iso['window_s']:.0f} s quiet "
                  f"+ {iso['window_s']:.0f} s attacked). Attack answers: "
                  + ", ".join(f"{k}: {v}" for k, v in sorted(iso["attack_outcomes"].items())) + "."]
    lines += ["", "## Faults injected", ""]
    rows = []
    if bk:
        d = bk["turns_during_outage"]
        rows.append([f"broker kill -9, {bk['outage_s']:.0f} s outage, restart empty", d["requests"], d["failed"],
                     fmt(d["p99_ms"]), bk["turn_events_expected"], bk["turn_events_lost"], bk["events_duplicated"],
                     "yes (no restart of the gateway)"])
    if gk:
        rows.append(["gateway (+ embedded workers) kill -9, new server", "–", "–", "–", gk["turn_events_expected"],
                     gk["turn_events_lost"], gk["events_duplicated"],
                     f"old conversations continued {gk['old_conversations_continued']}; old port free: "
                     f"{gk['old_port_free_after_kill']}"])
    lines += table(["fault", "turns during it", "failed", "p99 ms", "turn events expected", "lost", "duplicated",
                    "recovery"], rows)
    if ik:
        lines += ["", "## Broker kill -9 during catalog ingestion", ""]
        lines += table(["tracks", "indexed at the kill", "re-drives", "lost", "duplicated", "failed", "pending",
                        "ingest s"],
                       [[ik["tracks"], ik["indexed_at_kill"], ik["redrives"], ik["tracks_lost"],
                         ik["tracks_duplicated"], ik["failed"], ik["still_pending"], fmt(ik["ingest_s"])]])
        lines += ["", f"`catalog ingest`'s code path (publish, await outcomes, re-drive after "
                  f"{ik['redrive_after_s']:.0f} s without an outcome); the broker is restarted empty on the same port "
                  "by the bench (as a supervisor would); lost = manifest tracks absent from qdrant-edge, duplicated "
                  "= points beyond the distinct track ids."]
    wk = result.get("worker_kill", {})
    if wk and "error" not in wk:
        lines += ["", "## Worker kill -9 during catalog ingestion", ""]
        lines += table(["tracks", "killed (pending then, at s)", "re-drives", "lost", "duplicated", "failed",
                        "pending", "ingest s"],
                       [[wk["tracks"], "; ".join(f"{k['process']} ({k['pending_at_kill']}, {k['at_s']})"
                                                 for k in wk["kills"]), wk["redrives"], wk["tracks_lost"],
                         wk["tracks_duplicated"], wk["failed"], wk["still_pending"], fmt(wk["ingest_s"])]])
        lines += ["", f"`musechat worker catalog-worker` and `musechat worker indexer` as processes, each SIGKILLed "
                  f"once mid-ingestion; restarted by {wk['restarted_by']}. Nothing else was restarted."]
    if failed:
        lines += ["", "Parts that failed in this run: " + "; ".join(f"{k}: {v}" for k, v in failed.items())]
    if result.get("notes"):
        lines += ["", "## Notes", "", *[f"- {note}" for note in result["notes"]]]
    lines += ["", "Lost = turn events of answered turns that never reached the broker (read back from the topic "
              "after the outbox emptied); duplicated = event ids seen more than once. Broker kill: only turns "
              "answered after the kill are expected (the in-memory broker forgets what it held)."]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--window-s", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3, help="isolation: quiet + attacked window pairs")
    parser.add_argument("--outage-s", type=float, default=15.0)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "faults")
    parser.add_argument("--ingest-tracks", type=int, default=40)
    parser.add_argument("--only", default="fuzz,isolation,broker,gateway,ingest,workers")
    parser.add_argument("--render-only", action="store_true", help="rewrite faults.md from faults.json")
    args = parser.parse_args()
    if args.render_only:
        write_markdown(OUT / "faults.md", render(json.loads((OUT / "faults.json").read_text())))
        return 0
    parts = set(args.only.split(","))
    args.workdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {}
    if parts != {"fuzz", "isolation", "broker", "gateway", "ingest", "workers"} and (OUT / "faults.json").exists():
        result = json.loads((OUT / "faults.json").read_text())  # a partial re-run updates its parts only
        result.setdefault("earlier_commands", []).append(result.get("command"))
    result["command"] = " ".join(["benchmarks/faults_bench.py", *sys.argv[1:]])
    if "ingest" in parts:
        _run_part(result, "ingest_broker_kill", lambda: ingest_broker_kill(args.workdir, args.ingest_tracks))
    if "workers" in parts:
        _run_part(result, "worker_kill", lambda: worker_kill(args.workdir, args.ingest_tracks))
    if parts & {"fuzz", "isolation", "broker", "gateway"}:
        _gateway_parts(args, parts, result)
    result["environment"] = environment().summary(note="shared with other jobs")
    result["peak_rss_mb"] = peak_rss_mb()
    write_json(OUT / "faults.json", result)
    write_markdown(OUT / "faults.md", render(result))
    return 0


def _run_part(result: dict[str, Any], name: str, step: Callable[[], dict[str, Any]]) -> None:
    started = time.monotonic()
    try:
        result[name] = step()
    except Exception as error:  # one failed part must not cost the others' figures
        result[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
    result[name]["seconds"] = round(time.monotonic() - started, 1)
    print(name, json.dumps(result[name], default=str)[:800], flush=True)


def _gateway_parts(args: argparse.Namespace, parts: set[str], result: dict[str, Any]) -> None:
    with embedded_system(args.workdir) as state:
        server = state["server"]
        video_id = ready_video(server.url, server.api_key, args.workdir)
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("fuzz", lambda: fuzz(server.url, state["reader"], server.api_key, video_id, args.scenarios)),
            ("isolation", lambda: isolation(server.url, state["reader"], video_id, args.workdir, args.window_s,
                                            args.clients, args.rounds)),
            ("broker_kill", lambda: broker_kill(state, video_id, args.outage_s, args.clients)),
            ("gateway_kill", lambda: gateway_kill(state, video_id, args.clients))]
        for name, step in steps:
            if name.split("_")[0] in parts:
                _run_part(result, name, step)


if __name__ == "__main__":
    sys.exit(main())
