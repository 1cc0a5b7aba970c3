"""The explainer against the real vLLM server: grounded explanations from the adapter that
`explainer train` produced, the music embedding as prompt embeddings, a second adapter loaded at run
time, and the BentoML service in front of it all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from musechat.contracts.features import FeatureMatrix
from musechat.explain.backends.base import BackendUnavailable
from musechat.explain.backends.vllm import VllmBackend
from musechat.explain.breaker import CircuitBreaker
from musechat.explain.datasets import synthetic_examples
from musechat.explain.explainer import Explainer, ExplainRequest
from musechat.explain.grounding import CatalogTitleIndex, check_grounding
from musechat.explain.vllm_server import free_port

from .conftest import REPO, SERVED_NAME, open_prompt

pytestmark = pytest.mark.integration

EXAMPLES = synthetic_examples(3, seed=77)
CATALOG = CatalogTitleIndex([e.title for e in synthetic_examples(40, seed=78)] + [e.title for e in EXAMPLES])
SERVICE_START_TIMEOUT_S = 300.0


@pytest.fixture(scope="module")
def backend(vllm_url: str, base_model: Path, adapters: dict[str, Path]) -> Iterator[VllmBackend]:
    b = VllmBackend(
        vllm_url, base_model, served_model_name=SERVED_NAME, adapter_dirs={"explainer": adapters["explainer"]}
    )
    yield b
    b.close()


@pytest.mark.parametrize("use_music", [False, True], ids=["text", "music-token"])
def test_grounded_explanations_from_the_trained_adapter(backend: VllmBackend, use_music: bool) -> None:
    explainer = Explainer(backend, CATALOG, default_adapter="explainer", use_music=use_music,
                          max_tokens=48, timeout_s=300)  # fmt: skip
    for ex in EXAMPLES:
        res = explainer.explain(ExplainRequest(ex.track, ex.user_words, ex.history, music_features=ex.music_features))
        assert res.raw, "vLLM produced no attempt"
        assert res.adapter == "explainer" and res.music_token is use_music
        assert res.text is not None and res.grounded
        # Served text is grounded whether it is the model's or the fallback template's.
        assert check_grounding(res.text, ex.track, CATALOG).ok
        assert res.fallback or res.text == res.raw[-1]


def test_runtime_adapter_is_listed_and_used(backend: VllmBackend, adapters: dict[str, Path]) -> None:
    backend.load_adapter("explainer-v2", adapters["explainer-v2"])
    models = httpx.get(f"{backend.base_url}/v1/models", timeout=10).json()["data"]
    assert {"explainer", "explainer-v2"} <= {m["id"] for m in models}
    explainer = Explainer(
        backend, CATALOG, default_adapter="explainer-v2", use_music=True, max_tokens=32, timeout_s=300
    )
    ex = EXAMPLES[0]
    res = explainer.explain(ExplainRequest(ex.track, ex.user_words, ex.history, music_features=ex.music_features))
    assert res.adapter == "explainer-v2" and res.raw and res.text is not None


def test_runtime_loads_reach_every_replica_and_a_replica_without_one_gets_it(
        vllm_url: str, base_model: Path, adapters: dict[str, Path]) -> None:
    """Fan-out: one live replica and one that is down; the live one loads, the error names the other. Then
    the live one loses the adapter (unloaded, as a pod started after the load): its first request naming
    it gets a 404 from vLLM, the backend loads it on every replica again and the request is served."""
    down = f"http://127.0.0.1:{free_port()}"
    fanned = VllmBackend(vllm_url, base_model, served_model_name=SERVED_NAME, replicas=lambda: [vllm_url, down])
    try:
        with pytest.raises(BackendUnavailable, match=rf"not loaded on 1 of 2 vLLM replicas: {down}"):
            fanned.load_adapter("explainer-fanned", adapters["explainer-v2"])
        assert "explainer-fanned" in _served(vllm_url)
        unloaded = httpx.post(f"{vllm_url}/v1/unload_lora_adapter", json={"lora_name": "explainer-fanned"}, timeout=30)
        assert unloaded.status_code == 200, unloaded.text
        assert "explainer-fanned" not in _served(vllm_url)
        ex = EXAMPLES[0]
        text = fanned.generate(open_prompt(ex.track, ex.user_words), None, "explainer-fanned", 16, 120)
        assert text.strip() and "explainer-fanned" in _served(vllm_url)
    finally:
        fanned.close()


def _served(url: str) -> set[str]:
    return {m["id"] for m in httpx.get(f"{url}/v1/models", timeout=10).json()["data"]}


def test_llm_down_gives_the_facts_template_and_a_reason(base_model: Path) -> None:
    # Issue #16 (on purpose): an unreachable LLM or an open circuit gives the template built from the track's
    # facts, flagged as a fallback with the reason, instead of no text.
    dead = VllmBackend(f"http://127.0.0.1:{free_port()}", base_model, served_model_name=SERVED_NAME)
    explainer = Explainer(dead, CATALOG, breaker=CircuitBreaker(failure_threshold=1, reset_after_s=60), timeout_s=5)
    ex = EXAMPLES[0]
    first = explainer.explain(ExplainRequest(ex.track, ex.user_words))
    second = explainer.explain(ExplainRequest(ex.track, ex.user_words))
    assert first.reason is not None and "unreachable" in first.reason
    assert second.reason is not None and second.reason.startswith("LLM circuit open")
    for result in (first, second):
        assert result.fallback and result.text is not None
        assert ex.track.title in result.text and ex.track.artist in result.text


@pytest.fixture(scope="module")
def service_url(
    vllm_url: str, adapters: dict[str, Path], base_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("explainer-service") / "service.log"
    env = {
        **os.environ,
        "MUSECHAT_EXPLAINER_VLLM_URL": vllm_url,
        "MUSECHAT_EXPLAINER_SERVED_MODEL_NAME": SERVED_NAME,
        "MUSECHAT_EXPLAINER_BASE_MODEL": str(base_model),
        "MUSECHAT_EXPLAINER_ADAPTERS": json.dumps({"explainer": str(adapters["explainer"])}),
        "MUSECHAT_EXPLAINER_DEFAULT_ADAPTER": "explainer",
        "MUSECHAT_EXPLAINER_USE_MUSIC": "true",
        "MUSECHAT_EXPLAINER_MAX_TOKENS": "40",
        "MUSECHAT_EXPLAINER_TIMEOUT_S": "300",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    service_dir = REPO / "services" / "explainer"
    cmd = [sys.executable, "-m", "bentoml", "serve", "service:ExplainerService",
           "--working-dir", str(service_dir), "--port", str(port), "--host", "127.0.0.1"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVICE_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"explainer service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"explainer service not ready:\n{log.read_text()[-3000:]}")
            time.sleep(1.0)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def _body(adapter: str | None = None) -> dict[str, object]:
    ex = EXAMPLES[1]
    return {
        "track": {"title": ex.title, "artist": ex.artist, "tags": list(ex.tags)},
        "user_words": ex.user_words,
        "history": [{"role": t.role, "text": t.text} for t in ex.history],
        "music_features": FeatureMatrix.from_array(ex.music_features).model_dump(),
        "adapter": adapter,
        "other_titles": [EXAMPLES[0].title],
    }


def test_service_explains_and_streams_through_vllm(service_url: str, adapters: dict[str, Path]) -> None:
    ex = EXAMPLES[1]
    out = httpx.post(f"{service_url}/explain", json={"body": _body()}, timeout=600).json()
    assert out["grounded"] and out["text"] and out["adapter"] == "explainer" and out["music_token"]
    assert ex.title in out["text"] and ex.artist in out["text"]

    with httpx.stream("POST", f"{service_url}/explain_stream", json={"body": _body()}, timeout=600) as resp:
        events = [json.loads(line) for line in resp.iter_lines() if line.strip()]
    assert events[-1]["kind"] == "final" and events[-1]["result"]["grounded"]
    assert any(e["kind"] == "delta" for e in events)

    loaded = httpx.post(
        f"{service_url}/load_adapter",
        json={"body": {"name": "explainer-v2", "path": str(adapters["explainer-v2"])}},
        timeout=120,
    )
    assert loaded.status_code == 200 and "explainer-v2" in loaded.json()
    out2 = httpx.post(f"{service_url}/explain", json={"body": _body("explainer-v2")}, timeout=600).json()
    assert out2["adapter"] == "explainer-v2" and out2["text"]


def test_service_rejects_bad_input(service_url: str) -> None:
    bad = _body()
    bad["track"] = {"title": "", "artist": "x"}
    assert httpx.post(f"{service_url}/explain", json={"body": bad}, timeout=60).status_code == 400
