"""Bring-up of the rendered chart on one machine (values-ci.yaml): each workload's container command and
args run as a local process with exactly its rendered environment, its volumes bound at their container
paths (claims shared between pods, emptyDirs per pod) under a read-only root and working directory
(bubblewrap; tests/deploy/bringup.py). Kafka is the bundled Tansu broker, vLLM the CPU build serving the
bundled SmolLM2. The chart's pre-install hook creates the topics; then a catalog is ingested through the
catalog worker and the music encoder, an upload is encoded through the video worker and the video
encoder, and the explainer explains a track through vLLM.

What cannot run here, and is covered by the wiring test instead (tests/deploy/test_wiring.py):
- the Qdrant server (no binary for this machine): so the workloads that need it — gateway, fusion ranker,
  indexer, dataset writer (those whose declared settings include MUSECHAT_STORE_) — are not started, and no
  conversation goes through the gateway here;
- GPU nodes (values-gpu.yaml).
Cost: 323 s on the shared 2-core machine (most of it vLLM's start beside five model loads), ~4 GB of
memory: marked `slow`, so `make test` leaves it out; .ci/run runs it as a step of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from musechat.wiring import DEPLOYABLES
from tests.deploy.bringup import Workload, hosts_file, start, workloads
from tests.deploy.conftest import CHART, ROOT, render

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NEEDS_QDRANT_SERVER = {d.name for d in DEPLOYABLES if "MUSECHAT_STORE_" in d.settings_prefixes} | {"qdrant"}
PORT_KEYS = ("gateway", "textEncoder", "videoEncoder", "musicEncoder", "fusionRanker", "explainer",
             "catalogWorker", "indexer", "videoWorker", "datasetWriter")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()
    except OSError:
        return 0, b""


@pytest.fixture(scope="module")
def system(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not (ROOT / ".venv-vllm" / "bin" / "python").is_file():
        pytest.skip(".venv-vllm is missing (scripts/setup_vllm_venv.sh)")
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is missing (apt-get install -y bubblewrap; .ci/run installs it)")
    from musechat.bus import EmbeddedBroker
    from musechat.explain.models import DEFAULT_BASE_MODEL_DIR, ensure_smollm2_hf

    state = tmp_path_factory.mktemp("bringup")
    ports = {key: free_port() for key in PORT_KEYS}
    with EmbeddedBroker() as broker:
        overrides = [f"kafka.external.bootstrapServers={broker.bootstrap_servers}", f"vllm.port={free_port()}"]
        for key, port in ports.items():
            overrides += [f"{key}.port={port}", f"{key}.metricsPort={port}"]
        result = render(helm, "-f", str(CHART / "values-ci.yaml"), "--set", ",".join(overrides))
        assert result.returncode == 0, result.stderr
        docs = [d for d in yaml.safe_load_all(result.stdout) if d]
        every = workloads(docs, state)
        # What the operator fills (docs/deployment.md): the base LLM on the models claim, catalog audio.
        base = ensure_smollm2_hf(ROOT / DEFAULT_BASE_MODEL_DIR)
        llm = state / "claims" / "mc-musechat-models" / "llm"
        llm.mkdir(parents=True, exist_ok=True)
        (llm / "smollm2-135m-hf").symlink_to(base.resolve())
        hosts = hosts_file(docs, state / "hosts")
        logs = state / "logs"
        logs.mkdir()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            # helm's pre-install hook first: the topics, DLQs included.
            hook = next(w for w in every if w.name == "kafka-topics")
            created = start(hook, hosts, logs).wait(timeout=120)
            assert created == 0, (logs / "kafka-topics-create-topics.log").read_text()
            running = [w for w in every if w.pod.startswith("Deployment/") and w.name not in NEEDS_QDRANT_SERVER
                       and w.container == w.name]
            for w in running:
                procs.append(start(w, hosts, logs))
            yield {"docs": docs, "workloads": {w.name: w for w in running}, "state": state, "logs": logs,
                   "hosts": hosts, "broker": broker.bootstrap_servers, "every": every,
                   "procs": {w.name: p for w, p in zip(running, procs, strict=True)}}
        finally:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)


def wait_ready(w: Workload, proc: subprocess.Popen[bytes], logs: Path, timeout_s: float) -> None:
    assert w.probe is not None, w.name
    path, port = w.probe
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if get(f"http://127.0.0.1:{port}{path}")[0] == 200:
            return
        time.sleep(1.0)
    tail = (logs / f"{w.name}-{w.container}.log").read_text(errors="replace")[-3000:]
    state = f"exited with {proc.returncode}" if proc.poll() is not None else f"not ready after {timeout_s:.0f} s"
    pytest.fail(f"{w.name} {state} (readiness {path}):\n{tail}")


def test_rendered_workloads_come_up_under_a_read_only_root(system: dict[str, Any]) -> None:
    started = system["workloads"]
    assert set(started) == {"text-encoder", "video-encoder", "music-encoder", "explainer", "catalog-worker",
                            "video-worker", "vllm"}
    for w in started.values():
        wait_ready(w, system["procs"][w.name], system["logs"], timeout_s=420)


def _consume(bootstrap: str, topic: str, want: int, timeout_s: float) -> list[dict[str, Any]]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=1000)
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(seen) < want and time.monotonic() < deadline:
            seen += [json.loads(r.value) for r in consumer]
    finally:
        consumer.close()
    return seen


def test_catalog_ingest_through_catalog_worker_and_music_encoder(system: dict[str, Any]) -> None:
    """An operator's `musechat catalog ingest` in a pod of the worker image with the catalog claim: the
    rendered catalog worker asks the rendered music encoder, which reads the audio on the shared claim."""
    from musechat.catalog.demo_catalog import generate_catalog

    catalog = system["state"] / "claims" / "mc-musechat-catalog"
    generate_catalog(catalog, 2, seed=0, min_seconds=3.0, max_seconds=4.0)
    worker = system["workloads"]["catalog-worker"]
    ingest = Workload("catalog-ingest", "Pod/ingest", "ingest",
                      ["musechat", "catalog", "ingest", "/data/catalog/manifest.jsonl", "--no-wait"],
                      worker.env, worker.mounts, "/tmp")
    run = start(ingest, system["hosts"], system["logs"])
    assert run.wait(timeout=120) == 0, (system["logs"] / "catalog-ingest-ingest.log").read_text()
    encoded = _consume(system["broker"], "musechat.catalog.track-encoded.v1", 2, timeout_s=300)
    assert len(encoded) == 2, (system["logs"] / "catalog-worker-catalog-worker.log").read_text()[-3000:]
    from musechat.contracts.catalog import TrackEncoded

    tracks = [TrackEncoded.model_validate(e["data"]) for e in encoded]
    assert {t.track.title for t in tracks} == {json.loads(line)["title"] for line in
                                               (catalog / "manifest.jsonl").read_text().splitlines() if line}


def test_upload_encoded_through_video_worker_and_video_encoder(system: dict[str, Any]) -> None:
    """What the gateway would do on an upload (it needs the Qdrant server, so the test does it): spool the
    file on the media claim and publish video.submitted; the video worker and encoder do the rest."""
    from musechat.bus import EventProducer
    from musechat.bus.settings import BusSettings
    from musechat.contracts.conversation import VideoSubmitted
    from musechat.contracts.envelope import EventEnvelope
    from musechat.contracts.topics import Topic
    from tests.fixtures_video import make_video

    uploads = system["state"] / "claims" / "mc-musechat-media" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    make_video(uploads / "clip.mp4", duration_s=2.0)
    event = EventEnvelope[VideoSubmitted](id="video-submitted:bringup", type=Topic.VIDEO_SUBMITTED.event_type,
                                          source="tests/bringup", subject="bringup-video",
                                          data=VideoSubmitted(video_id="bringup-video",
                                                              path="/data/media/uploads/clip.mp4"))
    with EventProducer(BusSettings(bootstrap_servers=system["broker"])) as producer:
        producer.publish(Topic.VIDEO_SUBMITTED, event)
    encoded = _consume(system["broker"], "musechat.video.encoded.v1", 1, timeout_s=300)
    assert encoded, (system["logs"] / "video-worker-video-worker.log").read_text()[-3000:]
    from musechat.contracts.conversation import VideoEncoded

    video = VideoEncoded.model_validate(encoded[0]["data"])
    assert video.video_id == "bringup-video" and video.status == "ready", video.reason
    assert video.features is not None


def test_explainer_explains_through_vllm(system: dict[str, Any]) -> None:
    explainer = system["workloads"]["explainer"]
    assert explainer.env["MUSECHAT_EXPLAINER_BASE_MODEL"] == "/models/llm/smollm2-135m-hf"
    body = {"body": {"track": {"title": "Harbor Lights", "artist": "The Tides", "tags": ["piano", "calm"]},
                     "user_words": "something calmer, please"}}
    status, raw = get(f"http://127.0.0.1:{explainer.ports[0]}/explain", body, timeout=180)
    assert status == 200, raw[:2000]
    out = json.loads(raw)
    assert out["text"], out
    vllm_log = (system["logs"] / "vllm-vllm.log").read_text(errors="replace")
    assert '"POST /v1/completions HTTP/1.1" 200' in vllm_log, "the explainer's request did not reach vLLM"
