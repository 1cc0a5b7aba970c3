"""Fault injection on the running embedded system (issue #15): conversations kept going by client threads
while the broker or the gateway is killed with SIGKILL, and the measurements the checks read (turns served
during the fault, turn events lost or duplicated, the outbox's backlog). Used by tests/e2e/test_faults.py
(the slow tier's pass/fail checks) and benchmarks/faults_bench.py (the report, docs/benchmarks/faults.md)."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from musechat.contracts.topics import Topic

ROOT = Path(__file__).resolve().parents[1]
TURN_TOPIC = Topic.CONVERSATION_TURN.value
Sample = tuple[float, float, int]  # (request start, seconds, status; 0 = no answer)


# ---------------------------------------------------------------------------------------------- system
def listen_port() -> int:
    """A port free now, from below the kernel's ephemeral range: the broker is restarted on it after a kill,
    and a port from the ephemeral range could meanwhile become some outgoing connection's source port."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for port in random.sample(range(max(1025, low - 12000), low), k=min(256, low - 1025)):
        if port_free(port):
            return port
    raise RuntimeError(f"no free port below {low}")


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As a restarted server binds: SO_REUSEADDR, so the clients' connections in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@contextmanager
def embedded_system(workdir: Path, port: int | None = None) -> Iterator[dict[str, Any]]:
    """A broker of its own on `port` (picked by `listen_port` when None; the kills restart it there), the
    e2e demo world prepared through it, and the gateway's BentoML server with embedded workers. Yields the
    mutable state the fault procedures share: broker, broker_port, workdir, checkpoint, reader (a read-scope
    key), server."""
    from musechat.bus import EmbeddedBroker
    from musechat.demo.run import WorldSize, gateway_server, prepare
    from musechat.explain.models import DEFAULT_BASE_MODEL_DIR, ensure_smollm2_hf
    from musechat.gateway.auth import SCOPE_READ, mint_key

    # The explainer's base model, re-saved once under the repository's models/ (as the explainer and
    # bring-up tests keep it) and linked in: re-saving it per workdir costs ~35 s on 2 cores.
    base_model = workdir / "models" / DEFAULT_BASE_MODEL_DIR.name
    if not base_model.exists():
        base_model.parent.mkdir(parents=True, exist_ok=True)
        base_model.symlink_to(ensure_smollm2_hf(ROOT / DEFAULT_BASE_MODEL_DIR).resolve(), target_is_directory=True)
    broker_port = port or listen_port()
    broker = EmbeddedBroker(port=broker_port).start()
    state: dict[str, Any] = {"broker": broker, "broker_port": broker_port, "workdir": workdir}
    try:
        _, checkpoint = prepare(workdir, broker.bootstrap_servers, WorldSize(2, 1, 300), progress=False)
        reader = mint_key()
        state.update(checkpoint=checkpoint, reader=reader)
        with gateway_server(workdir, broker.bootstrap_servers, checkpoint,
                            extra_keys={"reader": (reader, [SCOPE_READ])},
                            extra_env={"MUSECHAT_GATEWAY_MAX_VIDEO_SECONDS": "30"}) as server:
            state["server"] = server
            yield state
    finally:
        if state.get("broker") is not None:
            state["broker"].stop()


def http_client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"})


def ready_video(url: str, key: str, workdir: Path) -> str:
    """The demo video submitted and encoded: the id conversations start on."""
    from musechat.demo.run import DEMO_VIDEO, submit_and_wait
    from musechat.demo.world import render_video

    path = workdir / "fault-video.mp4"
    render_video(DEMO_VIDEO, path)
    with http_client(url, key) as client:
        return submit_and_wait(client, path)


# ---------------------------------------------------------------------------------------------- turns
class TurnLoad:
    """`clients` threads each holding conversations on `video_id`: start, then turns until stopped."""

    TEXTS = ("Faster, please.", "Something calmer.", "More piano.", "No vocals, please.", "Slower again.")

    def __init__(self, url: str, key: str, video_id: str, clients: int) -> None:
        self.url, self.key, self.video_id, self.clients = url, key, video_id, clients
        self.samples: list[Sample] = []
        # Each 2xx answer: ((conversation_id, turn), its request's start time, the state token it returned);
        # appended under the same lock as its sample, so a turn is never paired with another's time.
        self.answers: list[tuple[tuple[str, int], float, str]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _record(self, started: float, response: httpx.Response | None) -> dict[str, Any] | None:
        status = response.status_code if response is not None else 0
        body: dict[str, Any] | None = response.json() if response is not None and status < 300 else None
        with self._lock:
            self.samples.append((started, time.monotonic() - started, status))
            if body is not None:
                self.answers.append(((body["conversation_id"], body["turn"]), started, body["state"]))
        return body

    def _call(self, client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        started = time.monotonic()
        try:
            response = client.post(path, json=body)
        except httpx.HTTPError:
            response = None
        return self._record(started, response)

    def _run(self, index: int) -> None:
        with http_client(self.url, self.key) as client:
            while not self._stop.is_set():
                answer = self._call(client, "/v1/conversations", {"video_id": self.video_id, "limit": 5})
                if answer is None:
                    self._stop.wait(0.05)  # the server is away: do not spin on refused connections
                for n in range(4):
                    if answer is None or self._stop.is_set():
                        break
                    answer = self._call(client, f"/v1/conversations/{answer['conversation_id']}/turns",
                                        {"text": self.TEXTS[(index + n) % len(self.TEXTS)], "state": answer["state"]})

    def start(self) -> TurnLoad:
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def window(self, start: float, end: float) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if start <= s[0] < end]

    def turns_started(self, since: float = float("-inf"), before: float = float("inf")) -> set[tuple[str, int]]:
        """The answered turns whose request started in [since, before)."""
        with self._lock:
            return {turn for turn, started, _ in self.answers if since <= started < before}

    def last_states(self) -> dict[str, str]:
        """Each conversation's last state token answered."""
        with self._lock:
            return {conversation: state for (conversation, _), _, state in self.answers}


def _p(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def window_stats(samples: list[Sample]) -> dict[str, Any]:
    ok = [s[1] * 1000 for s in samples if 200 <= s[2] < 300]
    return {"requests": len(samples), "ok": len(ok), "failed": len(samples) - len(ok),
            "p50_ms": _p(ok, 0.5), "p99_ms": _p(ok, 0.99), "max_ms": max(ok) if ok else None}


def turn_events(bootstrap: str) -> tuple[Counter[str], set[tuple[str, int]]]:
    """The turn topic read back: how often each event id was seen, and the (conversation, turn) pairs."""
    from musechat.bus import read_topic

    ids: Counter[str] = Counter()
    turns: set[tuple[str, int]] = set()
    for record in read_topic(bootstrap, TURN_TOPIC, settle_s=1.0, timeout_s=60):
        event = json.loads(record.value)
        ids[event["id"]] += 1
        turns.add((event["data"]["conversation_id"], event["data"]["turn"]))
    return ids, turns


def wait_outbox_empty(client: httpx.Client, timeout_s: float) -> int:
    """Poll the gateway's outbox until nothing is pending; the count left at the deadline (0 = drained)."""
    deadline = time.monotonic() + timeout_s
    pending = -1
    while time.monotonic() < deadline:
        report = client.get("/readyz/dependencies").json()
        pending = int(report["dependencies"].get("outbox", {}).get("pending", 0))
        if pending == 0:
            return 0
        time.sleep(1.0)
    return pending


# ---------------------------------------------------------------------------------------------- broker kill
def broker_kill(state: dict[str, Any], video_id: str, outage_s: float, clients: int, warm_s: float = 3.0,
                after_s: float = 5.0) -> dict[str, Any]:
    """SIGKILL the broker while `clients` threads hold conversations, restart it empty on the same port after
    `outage_s` (what a supervisor does: Tansu keeps everything in memory), keep the turns going `after_s`
    more, then read the turn topic back once the outbox is empty. Updates state["broker"]."""
    from musechat.bus import EmbeddedBroker

    server = state["server"]
    load = TurnLoad(server.url, state["reader"], video_id, clients).start()
    try:
        time.sleep(warm_s)
        process = state["broker"]._proc
        process.kill()
        process.wait()
        killed_at = time.monotonic()  # once it is dead: nothing written from now on can reach the old broker
        state["broker"] = None
        time.sleep(outage_s)
        restarted_at = time.monotonic()
        state["broker"] = EmbeddedBroker(port=state["broker_port"]).start()
        time.sleep(after_s)
    finally:
        load.stop()
    during = window_stats(load.window(killed_at, restarted_at))
    after = window_stats(load.window(restarted_at, time.monotonic()))
    # The turns answered after the kill must all reach the new broker; those before it died with it.
    with http_client(server.url, state["reader"]) as client:
        pending = wait_outbox_empty(client, 120)
    ids, seen = turn_events(state["broker"].bootstrap_servers)
    after_kill = load.turns_started(since=killed_at)
    lost = sorted(after_kill - seen)
    return {"outage_s": outage_s, "clients": clients, "turns_during_outage": during, "turns_after_restart": after,
            "turn_events_expected": len(after_kill), "turn_events_lost": len(lost), "lost_examples": lost[:5],
            "events_duplicated": sum(1 for n in ids.values() if n > 1), "outbox_pending_at_end": pending,
            "turn_events_in_topic": len(ids)}


# ---------------------------------------------------------------------------------------------- gateway kill
def gateway_kill(state: dict[str, Any], video_id: str, clients: int, warm_s: float = 4.0) -> dict[str, Any]:
    """SIGKILL `bentoml serve` alone (its worker and the worker's engine process must not outlive it) while
    `clients` threads hold conversations; then a new server on the same workdir continues every conversation
    from its last state token and relays the outbox file's events. The killed server stays dead."""
    from musechat.demo.run import gateway_server
    from musechat.gateway.auth import SCOPE_READ

    server = state["server"]
    load = TurnLoad(server.url, state["reader"], video_id, clients).start()
    try:
        time.sleep(warm_s)
        killed_at = time.monotonic()
        server.process.kill()
        server.process.wait()
        time.sleep(2.0)
    finally:
        load.stop()
    old_port = int(server.url.rsplit(":", 1)[1])
    deadline = time.monotonic() + 10.0  # the worker exits with its parent; an orphan would hold the port
    old_port_free = port_free(old_port)
    while not old_port_free and time.monotonic() < deadline:
        time.sleep(0.2)
        old_port_free = port_free(old_port)
    old_states = load.last_states()
    bootstrap = state["broker"].bootstrap_servers
    restart_started = time.monotonic()
    with gateway_server(state["workdir"], bootstrap, state["checkpoint"],
                        extra_keys={"reader": (state["reader"], [SCOPE_READ])}) as again:
        restart_s = time.monotonic() - restart_started
        served = 0
        with http_client(again.url, state["reader"]) as client:
            for conversation, token in old_states.items():
                r = client.post(f"/v1/conversations/{conversation}/turns", json={"text": "Faster.", "state": token})
                served += r.status_code == 200
            pending = wait_outbox_empty(client, 120)
        ids, seen = turn_events(bootstrap)
        expected = load.turns_started(before=killed_at)
        lost = sorted(expected - seen)
    return {"clients": clients, "old_port_free_after_kill": old_port_free, "restart_s": restart_s,
            "old_conversations_continued": f"{served}/{len(old_states)}", "turn_events_expected": len(expected),
            "turn_events_lost": len(lost), "lost_examples": lost[:5],
            "events_duplicated": sum(1 for n in ids.values() if n > 1), "outbox_pending_at_end": pending}
