"""The learning loop closed on the embedded mode (issue 19): conversations with feedback → the embedded
dataset writer's quartets → `musechat model train` (merge with the base dataset, held-out split, fine-tune
the live model) → the evaluation gate → `musechat model publish` under a continuous stream of turns →
the next turns report the new version; rollback A→B→A→B ends on B; a restart of the gateway stays on
the published version, not on the checkpoint in its environment.

Everything is real: the Tansu broker, the gateway BentoML server with its engine process (qdrant-edge)
and embedded workers (indexer, dataset writer), the text model, the fusion training. Small sizes: 24
tracks, 12 videos, 100 training steps for the first model, 40 for the retrain.

Run: `.venv/bin/python -m pytest tests/e2e/test_learning_loop.py -m slow -s` (prints each phase's time)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from musechat.catalog.indexer import collection_for
from musechat.demo.run import WorldSize, gateway_server, prepare, submit_and_wait
from musechat.registry.registry import ModelRegistry

# ~190 s on the shared 2-core machine (two gateway starts, ingest, two trainings): over the default tier's
# budget, so it runs with `-m slow`; tests/integration/registry covers the publish/gate core in ~30 s.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOOP_WORLD = WorldSize(track_variants=1, video_variants=1, train_steps=100)
CONVERSATIONS = 12


class Stream:
    """One turn every ~50 ms on its own conversation, recording every status and reported model version."""

    def __init__(self, client: httpx.Client, video_id: str, turns_per_conversation: int = 6) -> None:
        self.client = client
        self.video_id = video_id
        self.turns_per_conversation = turns_per_conversation
        self.served: list[tuple[float, int, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _turn(self, conversation: dict[str, Any]) -> dict[str, Any] | None:
        """One turn on `conversation` (chained: each turn sends the state the previous one returned, since a
        stale state is a 409); the response's body when it was served."""
        words = ("Faster, please.", "Slower, please.")
        response = self.client.post(f"/v1/conversations/{conversation['conversation_id']}/turns",
                                    json={"text": words[len(self.served) % 2], "state": conversation["state"],
                                          "limit": 3})
        body = response.json() if response.status_code == 200 else None
        self.served.append((time.monotonic(), response.status_code, body.get("model_version") if body else None))
        return body

    def _run(self) -> None:
        conversation: dict[str, Any] | None = None
        turns = 0
        while not self._stop.is_set():
            try:
                if conversation is None or turns == self.turns_per_conversation:
                    # A fresh conversation now and then: exclusions grow with every turn of one.
                    started = self.client.post("/v1/conversations", json={"video_id": self.video_id, "limit": 3})
                    if started.status_code != 201:
                        self.served.append((time.monotonic(), started.status_code, None))
                    conversation, turns = (started.json(), 0) if started.status_code == 201 else (None, 0)
                else:
                    body = self._turn(conversation)
                    conversation = {**conversation, "state": body["state"]} if body else None
                    turns += 1
            except httpx.HTTPError:
                self.served.append((time.monotonic(), 0, None))
            self._stop.wait(0.05)

    def wait_for(self, version: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.served and self.served[-1][2] == version:
                return
            time.sleep(0.1)
        raise AssertionError(f"turns never reported {version}: last {self.served[-3:]}")


def _metric(client: httpx.Client, name: str, labels: str) -> float:
    text = client.get("/metrics").text
    found = re.findall(rf"^{name}{{[^}}]*{labels}[^}}]*}} ([0-9.e+]+)$", text, re.MULTILINE)
    return sum(float(v) for v in found)


def _cli(*argv: str) -> int:
    from musechat.cli import main

    return main(list(argv))


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from musechat.bus import EmbeddedBroker

    workdir = tmp_path_factory.mktemp("learning-loop")
    with EmbeddedBroker() as broker:
        world, checkpoint = prepare(workdir, broker.bootstrap_servers, LOOP_WORLD, progress=False)
        registry = ModelRegistry(workdir / "registry")  # prepare() registered its model and marked it live
        live = registry.live()
        assert live is not None and registry.state().collection == collection_for(live)
        yield {"workdir": workdir, "world": world, "checkpoint": checkpoint, "registry": registry,
               "bootstrap": broker.bootstrap_servers, "first": live}


def test_feedback_trains_a_gated_model_that_is_served_without_mixed_towers(
        loop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    workdir: Path = loop["workdir"]
    registry: ModelRegistry = loop["registry"]
    a = loop["first"]
    quartets = workdir / "quartets"
    # The demo's gateway embeds the dataset writer and follows the registry (demo/run.py); seal fast here.
    env = {"MUSECHAT_DATASET_WRITER_FLUSH_EVERY_S": "2", "MUSECHAT_GATEWAY_EXPLAINER": "none"}
    clock = [time.monotonic()]
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = round(time.monotonic() - clock[0], 1)
        clock[0] = time.monotonic()

    for key, value in {"MUSECHAT_MODEL_REGISTRY_DIR": str(registry.root),
                       "MUSECHAT_BUS_BOOTSTRAP_SERVERS": loop["bootstrap"]}.items():
        monkeypatch.setenv(key, value)  # for the CLI commands run in this process
    with gateway_server(workdir, loop["bootstrap"], loop["checkpoint"], extra_env=env) as server:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            phase("gateway start")
            videos = [submit_and_wait(client, loop["world"].video_path(v)) for v in loop["world"].videos[:4]]
            phase("4 videos encoded")
            # 1. Conversations with feedback: each accepts the second pick of its turn 2.
            for i in range(CONVERSATIONS):
                first = client.post("/v1/conversations", json={"video_id": videos[i % 4], "limit": 3}).json()
                assert first["model_version"] == a
                second = client.post(f"/v1/conversations/{first['conversation_id']}/turns", json={
                    "text": ("Faster, please.", "No vocals, please.", "More piano, please.")[i % 3],
                    "state": first["state"], "limit": 3}).json()
                accepted = client.post(f"/v1/conversations/{first['conversation_id']}/feedback", json={
                    "track_id": second["tracks"][1]["track_id"], "verdict": "accept", "state": second["state"]})
                assert accepted.status_code == 200, accepted.text
            # 2. The embedded dataset writer turns them into sealed quartet datasets.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and _sealed(quartets) < CONVERSATIONS:
                time.sleep(0.5)
            assert _sealed(quartets) == CONVERSATIONS
            phase("conversations + sealed quartets")
            # 3. Train (fine-tune A on base + feedback), gate against A, register B with its lineage.
            base = next((workdir / "fusion").glob("quartets-*"))
            assert _cli("model", "train", "--quartets", str(quartets), "--since", "2020-01-01", "--base", str(base),
                        "--steps", "40", "--min-quartets", "8", "--margin", "0.05") == 0
            phase("train + gate")
            b = registry.versions()[-1].version
            meta = registry.get(b)
            assert b != a and meta.parent == a and meta.gate is not None and meta.gate.passed
            assert sum(d.quartets for d in meta.datasets if d.kind == "feedback") == CONVERSATIONS
            # 4. Publish under a continuous stream: 0 errors, the new version served, never mixed towers.
            with Stream(client, videos[0]) as stream:
                time.sleep(0.5)
                assert _cli("model", "publish", "--version", b) == 0
                stream.wait_for(b)
                # 5. Rollback A→B→A→B: each flip is real, the last one wins.
                assert _cli("model", "rollback") == 0
                stream.wait_for(a)
                assert _cli("model", "publish", "--version", b) == 0
                stream.wait_for(b)
                time.sleep(0.5)
            phase("publish, rollback, publish under the stream")
            statuses = [status for _, status, _ in stream.served]
            assert statuses and set(statuses) == {200}, sorted(set(statuses))
            assert {version for _, _, version in stream.served} == {a, b}
            assert _metric(client, "musechat_turns_served_total", 'towers="mismatched"') == 0
            assert _metric(client, "musechat_turns_served_total", 'towers="matched"') >= len(statuses)
            assert registry.live() == b
            assert [h.version for h in registry.state().history][-4:] == [a, b, a, b]
            print(f"stream: {len(statuses)} turns, versions {sorted({str(v) for _, _, v in stream.served})}")
    # 6. A restart (the environment still names A's checkpoint) comes back on the published B.
    with gateway_server(workdir, loop["bootstrap"], loop["checkpoint"], extra_env=env) as server:
        again = httpx.post(f"{server.url}/v1/conversations", json={"video_id": videos[0], "limit": 3},
                           headers={"Authorization": f"Bearer {server.api_key}"}, timeout=60)
        assert again.status_code == 201, again.text
        assert again.json()["model_version"] == b
        phase("restart")
    print(f"phases (s): {phases}")


def _sealed(quartets: Path) -> int:
    from musechat.registry.training import sealed_datasets

    return sum(d.count for d in sealed_datasets(quartets)) if quartets.is_dir() else 0
