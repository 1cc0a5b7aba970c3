"""The load of the turn-latency benchmark: closed-loop clients against a real gateway server, per level;
the gateway's own turn histogram, CPU of its process tree and peak RSS beside the client-side times."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from turn_latency.params import (
    CLIENT_TIMEOUT_S,
    LIMIT,
    PHRASES,
    TARGET_CLIENTS,
    TARGET_REPEATS,
    TURN_ROUTE,
    TURNS_PER_CONVERSATION,
    VIDEO_ID,
    unique_phrases,
)


@dataclass
class Level:
    backend: str
    clients: int
    phrases: str  # "repeated" | "unique"
    max_requests: int
    max_seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    server_mean_ms: float | None = None
    server_cpu_s: float = 0.0  # CPU time of the gateway's process tree over the level
    engine_cpu_s: float = 0.0  # of which its child processes (engine, text model), when it has them
    client_cpu_s: float = 0.0  # CPU time of this (load-generating) process over the level

    def summary(self) -> dict[str, Any]:
        a = np.asarray(self.latencies_ms)
        stats = {f"p{q}_ms": round(float(np.percentile(a, q)), 2) for q in (50, 95, 99)} if a.size else {}
        ok = int(a.size)
        return {
            "backend": self.backend, "clients": self.clients, "phrases": self.phrases,
            "max_requests": self.max_requests, "max_seconds": self.max_seconds,
            "ok": ok, "errors": sum(self.errors.values()), "error_kinds": self.errors,
            **stats, "mean_ms": round(float(a.mean()), 2) if ok else None,
            "max_ms": round(float(a.max()), 2) if ok else None,
            "throughput_rps": round(ok / self.wall_s, 2) if self.wall_s else None,
            "wall_s": round(self.wall_s, 1), "server_mean_ms": self.server_mean_ms,
            "server_cpu_ms_per_turn": round(self.server_cpu_s / ok * 1000, 2) if ok else None,
            "engine_cpu_ms_per_turn": round(self.engine_cpu_s / ok * 1000, 2) if ok and self.engine_cpu_s else None,
            "client_cpu_ms_per_turn": round(self.client_cpu_s / ok * 1000, 2) if ok else None,
            "loadavg_before": [round(x, 2) for x in self.load_before],
            "loadavg_after": [round(x, 2) for x in self.load_after],
        }


async def _start(session: Any, url: str) -> tuple[str, str]:
    """A new conversation on the bench video: (its id, the state its first turn is sent with)."""
    async with session.post(f"{url}/v1/conversations", json={"video_id": VIDEO_ID, "limit": LIMIT}) as response:
        response.raise_for_status()
        body = await response.json()
    return body["conversation_id"], body["state"]


async def _client(session: Any, url: str, starts: list[tuple[str, str]], texts: list[str], offset: int,
                  stride: int, level: Level, budget: itertools.count, deadline: float) -> None:
    """Chains TURNS_PER_CONVERSATION turns in a conversation of its own, then takes the next one: a state
    token advances once (the gateway answers a second turn from the same state with 409 stale_state)."""
    in_conversation, k = TURNS_PER_CONVERSATION, 0
    conversation, state = "", ""
    while time.perf_counter() < deadline and next(budget) < level.max_requests:
        text = texts[(offset + k * stride) % len(texts)]
        k += 1
        if in_conversation == TURNS_PER_CONVERSATION:
            conversation, state = starts.pop() if starts else await _start(session, url)
            in_conversation = 0
        route = f"{url}/v1/conversations/{conversation}/turns"
        started = time.perf_counter()
        try:
            async with session.post(route, json={"text": text, "state": state, "limit": LIMIT}) as response:
                status = response.status
                body = await response.json()
            elapsed = (time.perf_counter() - started) * 1000
        except Exception as error:  # timeouts, dropped connections: counted, and the client goes on
            kind = type(error).__name__
            level.errors[kind] = level.errors.get(kind, 0) + 1
            in_conversation = TURNS_PER_CONVERSATION
            continue
        if status != 200 or not body.get("tracks"):
            kind = f"http_{status}" if status != 200 else "no_tracks"
            level.errors[kind] = level.errors.get(kind, 0) + 1
            in_conversation = TURNS_PER_CONVERSATION
            continue
        level.latencies_ms.append(elapsed)
        state, in_conversation = body["state"], in_conversation + 1


async def _run_level(url: str, key: str, texts: list[str], level: Level) -> None:
    # aiohttp rather than httpx: the load generator shares the 2 cores with the server, and aiohttp
    # spends several times less CPU per request.
    import aiohttp

    connector = aiohttp.TCPConnector(limit=level.clients + 4)
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}, connector=connector,
                                     timeout=timeout) as session:
        # The level's conversations are started before its clock starts (a client that runs out starts more).
        needed = -(-level.max_requests // TURNS_PER_CONVERSATION) + level.clients
        starts: list[tuple[str, str]] = []
        for _ in range(0, needed, level.clients):
            starts += await asyncio.gather(*(_start(session, url) for _ in range(level.clients)))
        budget = itertools.count()
        level.load_before = os.getloadavg()
        started = time.perf_counter()
        deadline = started + level.max_seconds
        await asyncio.gather(*(_client(session, url, starts, texts, offset=i * 7, stride=max(1, level.clients),
                                       level=level, budget=budget, deadline=deadline)
                               for i in range(level.clients)))
        level.wall_s = time.perf_counter() - started
        level.load_after = os.getloadavg()


_METRIC = re.compile(r"^musechat_http_request_duration_seconds_(sum|count)\{(.*)\}\s+(\S+)$")  # route has braces


def _server_turn_totals(url: str, key: str, dump: Path | None = None) -> tuple[float, float] | None:
    """(sum of seconds, count) of the gateway's own turn-route histogram, if /metrics exposes it (with a key:
    on the API port /metrics needs one)."""
    import httpx

    try:
        text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=10).text
    except httpx.HTTPError:
        return None
    if dump is not None:
        dump.write_text(text)
    totals = {"sum": 0.0, "count": 0.0}
    found = False
    for line in text.splitlines():
        match = _METRIC.match(line)
        if match and f'route="{TURN_ROUTE}"' in match.group(2) and 'status="200"' in match.group(2):
            totals[match.group(1)] += float(match.group(3))
            found = True
    return (totals["sum"], totals["count"]) if found else None


def _tree_cpu_s(pid: int, engine_only: bool = False) -> float:
    """User + system CPU seconds of a process and its children so far (or of its spawned children alone: the
    gateway's engine and text processes, `musechat.hosting.ProcessHost`)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            if engine_only and "spawn_main" not in " ".join(proc.cmdline()):
                continue
            times = proc.cpu_times()
            total += times.user + times.system
    return total


class RssSampler:
    """Peak RSS of the gateway: the sampled sum over its process tree, and each process's own high-water
    mark (Linux VmHWM) read just before it stops."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self.tree_peak_mb = 0.0
        self.process_peak_mb = 0.0
        self.role_peak_mb: dict[str, float] = {}  # worker / engine / text: each process's own high-water mark
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _tree(self) -> list[Any]:
        return [self._root, *self._root.children(recursive=True)]

    def _loop(self) -> None:
        import psutil

        while not self._stop.wait(0.25):
            with contextlib.suppress(psutil.Error):
                self.tree_peak_mb = max(self.tree_peak_mb, sum(p.memory_info().rss for p in self._tree()) / 2**20)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for proc in self._tree():
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                peak = int(match.group(1)) / 1024
                self.process_peak_mb = max(self.process_peak_mb, peak)
                role = _role(proc)
                if role:
                    self.role_peak_mb[role] = max(self.role_peak_mb.get(role, 0.0), peak)


def _role(proc: Any) -> str | None:
    """The gateway process's part: the BentoML worker (HTTP), the engine child (it loaded Qdrant Edge) or the
    text child (another spawned child: `musechat.hosting.ProcessHost`); None for the supervisor and helpers."""
    try:
        cmdline = " ".join(proc.cmdline())
        if "_bentoml_impl.worker" in cmdline:
            return "worker"
        if "spawn_main" not in cmdline:
            return None
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
    except Exception:  # the process is gone
        return None
    return "engine" if "qdrant_edge" in maps else "text"


def run_backend(backend: str, workdir: Path, checkpoint: Path, bootstrap: str, levels: list[Level]) -> dict[str, Any]:
    import httpx

    from musechat.demo.run import gateway_server

    engine = "local" if backend == "local" else "edge"
    env = {"MUSECHAT_GATEWAY_EMBEDDED_WORKERS": "false",
           "MUSECHAT_STORE_BACKEND": "edge" if engine == "edge" else "qdrant",
           "MUSECHAT_STORE_PATH": str(workdir / engine)}
    if backend == "edge-unbatched":  # the same engine and gateway, every turn computed on its own
        env["MUSECHAT_GATEWAY_BATCH_MAX_SIZE"] = "1"
    if backend == "edge-uncached":  # the same engine and gateway, every search reads its hits' payloads
        env["MUSECHAT_STORE_PAYLOAD_CACHE_ENTRIES"] = "0"
    if backend == "edge-one-process":  # the same engine and gateway, the engine and text model in the worker
        env["MUSECHAT_GATEWAY_ENGINE_PROCESS"] = env["MUSECHAT_GATEWAY_TEXT_PROCESS"] = "false"
    if backend.startswith("edge-text-"):  # the same gateway, the text model on one backend or the other
        env["MUSECHAT_GATEWAY_TEXT_BACKEND"] = backend.removeprefix("edge-text-")
    env["MUSECHAT_GATEWAY_TEXT_MODEL_CACHE_DIR"] = str(workdir / "text-model-cache")
    print(f"\n[{backend}] starting the gateway ...", flush=True)
    t = time.perf_counter()
    with gateway_server(workdir / f"gateway-{backend}", bootstrap, checkpoint, extra_env=env) as server:
        ready_s = time.perf_counter() - t
        print(f"[{backend}] ready in {ready_s:.0f} s at {server.url}", flush=True)
        headers = {"Authorization": f"Bearer {server.api_key}"}
        with RssSampler(server.process.pid) as rss:
            with httpx.Client(base_url=server.url, headers=headers, timeout=CLIENT_TIMEOUT_S) as client:
                started = client.post("/v1/conversations", json={"video_id": VIDEO_ID, "limit": LIMIT})
                started.raise_for_status()
                conversation, state = started.json()["conversation_id"], started.json()["state"]
                for text in PHRASES:  # warm-up: first Kafka publish, first model calls, the text cache
                    turn = client.post(f"/v1/conversations/{conversation}/turns",
                                       json={"text": text, "state": state, "limit": LIMIT})
                    turn.raise_for_status()
                    state = turn.json()["state"]
            for level in levels:
                texts = list(PHRASES) if level.phrases == "repeated" else unique_phrases()
                before = _server_turn_totals(server.url, server.api_key)
                server_cpu, client_cpu = _tree_cpu_s(server.process.pid), time.process_time()
                engine_cpu = _tree_cpu_s(server.process.pid, engine_only=True)
                asyncio.run(_run_level(server.url, server.api_key, texts, level))
                level.server_cpu_s = _tree_cpu_s(server.process.pid) - server_cpu
                level.engine_cpu_s = _tree_cpu_s(server.process.pid, engine_only=True) - engine_cpu
                level.client_cpu_s = time.process_time() - client_cpu
                after = _server_turn_totals(server.url, server.api_key, workdir / f"gateway-{backend}" / "metrics.txt")
                if before and after and after[1] > before[1]:
                    level.server_mean_ms = round((after[0] - before[0]) / (after[1] - before[1]) * 1000, 2)
                s = level.summary()
                print(f"[{backend}] {level.clients:>2} clients, {level.phrases} phrases: {s['ok']} ok, "
                      f"{s['errors']} errors, p50 {s.get('p50_ms')} p95 {s.get('p95_ms')} p99 {s.get('p99_ms')} ms, "
                      f"{s['throughput_rps']} turns/s, load {s['loadavg_after'][0]}", flush=True)
    return {"backend": backend, "ready_s": round(ready_s, 1), "gateway_peak_rss_mb": round(rss.process_peak_mb),
            "gateway_tree_peak_rss_mb": round(rss.tree_peak_mb),
            "peak_rss_by_process_mb": {k: round(v) for k, v in sorted(rss.role_peak_mb.items())},
            "levels": [lv.summary() for lv in levels]}


# The engine with one of its parts switched off, each measured at the same levels as a baseline in the same run.
SAME_ENGINE_BASELINES = ("edge-one-process", "edge-unbatched", "edge-uncached")


def plan(backend: str, scale: float) -> list[Level]:
    """Bounded runs. Local mode brute-forces every turn (≈1-3 s here at 100k, filters in Python, one at a
    time under the GIL), so it gets a few requests per level only."""
    if backend == "edge":
        # The target level three times, spread over the run: this machine's speed drifts by tens of per
        # cent within minutes (a shared host), and one run of it is one sample of that drift.
        target = [Level("edge", TARGET_CLIENTS, "repeated", int(1500 * scale), 40.0) for _ in range(TARGET_REPEATS)]
        return [Level("edge", 1, "repeated", int(300 * scale), 30.0), target[0],
                Level("edge", 50, "repeated", int(2500 * scale), 40.0), target[1],
                Level("edge", 10, "unique", int(1500 * scale), 40.0), *target[2:]]
    if backend in SAME_ENGINE_BASELINES:
        return [Level(backend, 1, "repeated", int(300 * scale), 30.0),
                Level(backend, 10, "repeated", int(1500 * scale), 40.0),
                Level(backend, 10, "unique", int(1500 * scale), 40.0)]
    return [Level("local", 1, "repeated", max(3, int(8 * scale)), 60.0),
            Level("local", 10, "repeated", max(10, int(20 * scale)), 90.0),
            Level("local", 50, "repeated", 50, 90.0)]
