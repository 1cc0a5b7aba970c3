"""`musechat demo`: the whole system on one machine, offline, end to end.

1. build the demo world (generated videos and tracks with known styles);
2. start the bundled Kafka-protocol broker; ingest the catalog through Kafka into the embedded Qdrant
   engine (fixed-projection vectors);
3. train the fusion model on the world's features (or reuse the checkpoint), then re-index the catalog
   with its music tower into a fresh collection and flip the `tracks` alias (blue/green);
4. start the gateway (a BentoML server, with the workers embedded) and, through its HTTP API, upload a
   new video, wait until it is encoded, and hold a 3-turn conversation;
5. stop everything — or, with --serve, keep the API up and print its URL and a key.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from musechat.bus.broker import EmbeddedBroker, free_port
from musechat.demo.model import DEMO_TRAIN_STEPS, train_demo_model
from musechat.demo.world import DemoWorld, VideoRecipe, band_of, build_world, render_video
from musechat.gateway.auth import SCOPE_CATALOG_WRITE, SCOPE_READ, key_record, mint_key

SERVICES_DIR = Path(__file__).resolve().parents[3] / "services"
DEMO_VIDEO = VideoRecipe("demo-video", mood="calm", pacing="slow", seed=4242)
DEMO_TURNS = ("Faster, please.", "No vocals, please.")


@dataclass
class DemoServer:
    url: str
    api_key: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass(frozen=True)
class WorldSize:
    track_variants: int = 3
    video_variants: int = 2
    train_steps: int = DEMO_TRAIN_STEPS


def prepare(workdir: Path, bootstrap: str, size: WorldSize = WorldSize(),
            progress: bool = True) -> tuple[DemoWorld, Path]:
    """World + catalog ingested through Kafka + trained model + fusion re-index. Returns the checkpoint."""
    from musechat.catalog.embedded import embedded_catalog_stack
    from musechat.catalog.reindex import reindex
    from musechat.catalog.runtime import await_outcomes, publish_ingest
    from musechat.contracts.catalog import TRACKS_COLLECTION
    from musechat.ranker.core import FusionVectorizer, checkpoint_version
    from musechat.registry.registry import ModelRegistry

    world = build_world(workdir / "world", size.track_variants, size.video_variants, progress=progress)
    with embedded_catalog_stack(workdir, bootstrap=bootstrap) as stack:
        receipt = publish_ingest(world.catalog_dir, stack.producer)
        summary = await_outcomes(stack.bus, receipt, timeout_s=1800, progress=progress)
        print("catalog: " + "\n".join(summary.lines()), flush=True)
        if summary.failed or summary.missing:
            raise RuntimeError("the demo catalog did not ingest cleanly: " + "; ".join(summary.lines()))
        checkpoint = train_demo_model(world, stack.store, workdir, steps=size.train_steps, progress=progress)
        # The model registry decides what is served: the first run registers the demo model as live; later
        # runs keep whatever was published since (`musechat model publish|rollback`, docs/learning-loop.md).
        registry = ModelRegistry(workdir / "registry")
        first = registry.register(checkpoint).version
        checkpoint = registry.checkpoint(registry.live() or first)
        live = reindex(stack.store, FusionVectorizer.load(checkpoint), progress=progress)
        registry.mark_live(checkpoint_version(checkpoint), live, "demo-prepare")
        print(f"tracks alias → {live} ({stack.store.count(TRACKS_COLLECTION)} tracks, fusion music tower)",
              flush=True)
    return world, checkpoint


@contextmanager
def gateway_server(workdir: Path, bootstrap: str, checkpoint: Path | None, port: int | None = None,
                   extra_keys: dict[str, tuple[str, list[str]]] | None = None,
                   extra_env: dict[str, str] | None = None, explainer_adapter: bool = False) -> Iterator[DemoServer]:
    """Run the gateway BentoML service (workers embedded) until the block exits. `extra_keys` maps names
    to (key, scopes) added to the key file; `extra_env` overrides gateway settings. `explainer_adapter`:
    build the project's default explainer adapter first if it is not cached yet (once, under the workdir)."""
    from musechat.explain.models import ensure_smollm2_hf
    from musechat.explain.train import ensure_default_adapter

    workdir = workdir.resolve()  # the server runs in its service folder: hand it absolute paths only
    base_model = ensure_smollm2_hf(workdir / "models" / "smollm2-135m-hf")
    adapter_root = workdir / "explainer"
    if explainer_adapter:
        ensure_default_adapter(base_model, adapter_root)
    secrets_dir = workdir / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True)
    api_key = mint_key()
    keys_file = secrets_dir / "api-keys.jsonl"
    records = [key_record("demo", api_key, [SCOPE_READ, SCOPE_CATALOG_WRITE])]
    records += [key_record(name, key, scopes) for name, (key, scopes) in (extra_keys or {}).items()]
    keys_file.write_text("\n".join(records) + "\n")
    state_secret = secrets_dir / "state-secret"
    if not state_secret.exists():
        state_secret.write_text(secrets.token_urlsafe(32))
    for path in (keys_file, state_secret):
        path.chmod(0o600)
    port = port or free_port()
    env = {**os.environ,
           "MUSECHAT_GATEWAY_API_KEYS_FILE": str(keys_file),
           "MUSECHAT_GATEWAY_STATE_SECRET_FILE": str(state_secret),
           # None: the caller's extra_env picks the ranker (`serve --catalog`'s facts-only path)
           **({"MUSECHAT_GATEWAY_FUSION_CHECKPOINT": str(checkpoint)} if checkpoint is not None else {}),
           "MUSECHAT_GATEWAY_EMBEDDED_WORKERS": "true",
           "MUSECHAT_GATEWAY_EXPLAINER": "local",
           "MUSECHAT_EXPLAINER_BASE_MODEL": str(base_model),
           "MUSECHAT_EXPLAINER_ADAPTER_ROOT": str(adapter_root),
           "MUSECHAT_GATEWAY_UPLOAD_DIR": str(workdir / "uploads"),
           "MUSECHAT_GATEWAY_OUTBOX_PATH": str(workdir / "outbox" / "gateway.db"),
           "MUSECHAT_BUS_BOOTSTRAP_SERVERS": bootstrap,
           "MUSECHAT_STORE_BACKEND": "edge",
           "MUSECHAT_STORE_PATH": str(workdir / "qdrant-edge"),
           # The learning loop on one machine: the registry the ranker and indexer follow, and the dataset
           # writer embedded (feedback → quartets under var/demo/quartets for `musechat model train`).
           "MUSECHAT_MODEL_REGISTRY_DIR": str(workdir / "registry"),
           "MUSECHAT_DATASET_WRITER_EMBEDDED": "true",
           "MUSECHAT_DATASET_WRITER_OUTPUT_DIR": str(workdir / "quartets"),
           **(extra_env or {})}
    log_path = workdir / "gateway.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bentoml", "serve", "service:GatewayService", "--working-dir",
             str(SERVICES_DIR / "gateway"), "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = DemoServer(f"http://127.0.0.1:{port}", api_key, process, log_path)
    try:
        _wait_ready(server, timeout_s=300)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: DemoServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the gateway exited ({server.process.returncode}); log: {server.log_path}\n"
                               + server.log_path.read_text()[-3000:])
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the gateway was not ready within {timeout_s:.0f} s; log: {server.log_path}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def submit_and_wait(client: httpx.Client, video: Path, timeout_s: float = 300) -> str:
    with video.open("rb") as handle:
        response = client.post("/v1/videos", files={"file": (video.name, handle, "video/mp4")})
    response.raise_for_status()
    video_id = str(response.json()["video_id"])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = client.get(f"/v1/videos/{video_id}").json()
        if state["status"] == "ready":
            return video_id
        if state["status"] == "failed":
            raise RuntimeError(f"video {video_id} failed: {state['reason']}")
        time.sleep(0.5)
    raise TimeoutError(f"video {video_id} was not encoded within {timeout_s:.0f} s")


def converse(client: httpx.Client, video_id: str, turns: tuple[str, ...] = DEMO_TURNS,
             limit: int = 5, explain: bool = False) -> list[dict[str, Any]]:
    """Turn 1 from the video alone, then one turn per text; the top track of turn 2 is rejected."""
    response = client.post("/v1/conversations", json={"video_id": video_id, "limit": limit, "explain": explain})
    response.raise_for_status()
    history = [response.json()]
    for index, text in enumerate(turns):
        last = history[-1]
        state = last["state"]
        if index == 1 and history[-1]["tracks"]:
            feedback = client.post(f"/v1/conversations/{last['conversation_id']}/feedback",
                                   json={"track_id": last["tracks"][0]["track_id"], "verdict": "reject",
                                         "state": state})
            feedback.raise_for_status()
            state = feedback.json()["state"]
            history[-1] = {**last, "rejected": last["tracks"][0]["track_id"]}
        response = client.post(f"/v1/conversations/{last['conversation_id']}/turns",
                               json={"text": text, "state": state, "limit": limit, "explain": explain})
        response.raise_for_status()
        history.append({**response.json(), "text": text})
    return history


def read_explanation(client: httpx.Client, path: str) -> dict[str, Any]:
    """Follow a turn's explanation stream (server-sent events) to its final event; adds the seconds to
    the first text piece and to the end."""
    started = time.monotonic()
    first: float | None = None
    final: dict[str, Any] = {"text": None, "reason": "the stream ended without a final event"}
    with client.stream("GET", path, headers={"Accept": "text/event-stream"}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[len("data: "):])
            if event["kind"] == "delta" and first is None:
                first = time.monotonic() - started
            if event["kind"] == "final":
                final = dict(event["result"] or {})
    return {**final, "first_token_s": first, "total_s": time.monotonic() - started}


def follow_explanations(client: httpx.Client, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for turn in history:
        explanation = turn.get("explanation") or {}
        if explanation.get("stream"):
            turn["explanation"] = read_explanation(client, explanation["stream"])
    return history


def print_turns(history: list[dict[str, Any]], world: DemoWorld | None = None) -> None:
    for turn in history:
        said = f' — user: "{turn["text"]}"' if turn.get("text") else " — from the video alone"
        print(f"\nturn {turn['turn']}{said}")
        for rank, track in enumerate(turn["tracks"], start=1):
            truth = ""
            if world is not None and any(t.track_id == track["track_id"] for t in world.tracks):
                recipe = world.track(track["track_id"])
                truth = f"  [{recipe.instrument}, {recipe.bpm:.0f} bpm {band_of(recipe.bpm)}, " \
                        f"{'vocals' if recipe.vocals else 'instrumental'}]"
            tags = ", ".join(track["tags"][:6])
            print(f"  {rank}. {track['title']} — {track['artist']}  score {track['score']:.3f}  tags: {tags}{truth}")
        explanation = turn.get("explanation")
        if explanation:
            if explanation.get("text"):
                kind = f"template: {explanation.get('reason')}" if explanation["fallback"] else "LLM, grounded"
                if explanation.get("total_s") is not None:
                    first = explanation.get("first_token_s")
                    kind += (f", first piece {first:.2f} s" if first is not None else "") + \
                        f", whole {explanation['total_s']:.2f} s"
                print(f"  why #1 ({kind}): {explanation['text']}")
            else:
                print(f"  (explainer: {explanation.get('reason')})")
        if turn.get("rejected"):
            print(f"  (user rejects {turn['rejected']})")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_demo(workdir: Path, serve: bool = False, port: int | None = None) -> int:
    # SIGTERM (a supervisor, `kill`) unwinds like Ctrl-C, so the gateway and the broker are stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with EmbeddedBroker() as broker:
        print(f"[1/3] Kafka-protocol broker (Tansu) on {broker.bootstrap_servers}", flush=True)
        world, checkpoint = prepare(workdir, broker.bootstrap_servers)
        video = workdir / "demo-video.mp4"
        if not video.exists():
            render_video(DEMO_VIDEO, video)
        print(f"[2/3] starting the gateway (BentoML) with embedded workers, model {checkpoint.name}", flush=True)
        with gateway_server(workdir, broker.bootstrap_servers, checkpoint, port, explainer_adapter=True) as server:
            headers = {"Authorization": f"Bearer {server.api_key}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
                print(f"[3/3] conversation about a new {DEMO_VIDEO.mood}, {DEMO_VIDEO.pacing}-paced video",
                      flush=True)
                video_id = submit_and_wait(client, video)
                print_turns(follow_explanations(client, converse(client, video_id, explain=True)), world)
            print(f"\ndemo finished in {time.monotonic() - started:.0f} s", flush=True)
            if serve:
                print(f"\nAPI: {server.url}/v1  (OpenAPI: {server.url}/docs)\nAPI key: {server.api_key}\n"
                      "Ctrl-C stops everything.", flush=True)
                try:
                    while server.process.poll() is None:
                        time.sleep(1)
                except KeyboardInterrupt:
                    pass
    return 0
