"""The music-encoder BentoML service for real: `bentoml serve` in a subprocess, called over HTTP."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from musechat.contracts.music import MusicEncodeResult
from musechat.encoders.ast import make_tiny_ast
from tests.fixtures_media import truncate_file, write_tone, write_video

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SERVICE_DIR = REPO / "services" / "music-encoder"
START_TIMEOUT_S = 240.0  # model loading on a busy 2-core CI machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("music-encoder-service")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        # a tiny checkpoint with its own seed, given as a path: the production configuration route
        "MUSECHAT_MUSIC_ENCODER_AST_MODEL": str(make_tiny_ast(workdir / "ast-seed3", seed=3)),
        "MUSECHAT_MUSIC_ENCODER_ALLOWED_ROOTS": json.dumps([str(workdir / "catalog")]),
        "MUSECHAT_MUSIC_ENCODER_MAX_BATCH_SIZE": "8",
        "BENTOML_HOME": str(workdir / "bentoml-home"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    log = (workdir / "serve.log").open("wb")
    bentoml_cli = [sys.executable, "-m", "bentoml", "serve", "service:MusicEncoderService"]
    proc = subprocess.Popen(
        [*bentoml_cli, "--working-dir", str(SERVICE_DIR), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the API server and its workers stop together
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"bentoml serve exited with {proc.returncode}:\n{(workdir / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"not ready after {START_TIMEOUT_S} s:\n{(workdir / 'serve.log').read_text()[-3000:]}")
            time.sleep(1.0)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def post_batch(url: str, requests: list[dict[str, str]]) -> list[MusicEncodeResult]:
    response = httpx.post(f"{url}/encode_batch", json={"requests": requests}, timeout=600)
    assert response.status_code == 200, response.text
    return [MusicEncodeResult.model_validate(item) for item in response.json()]


def test_health_and_info(server: str) -> None:
    assert httpx.get(f"{server}/livez").status_code == 200
    info = httpx.post(f"{server}/info", json={}).json()
    assert info["feature_model"].startswith("ast=random-init-tiny-seed3@")
    assert info["feature_dim"] == 464 and info["max_segments"] == 12
    assert "bentoml_service_request" in httpx.get(f"{server}/metrics").text


def test_batch_api_returns_per_item_results(server: str, workdir: Path) -> None:
    catalog = workdir / "catalog"
    catalog.mkdir(exist_ok=True)
    good = write_tone(catalog / "song.mp3", "mp3", seconds=12.0)
    cut = truncate_file(write_tone(workdir / "full.flac", "flac", seconds=6.0), catalog / "cut.flac", 0.4)
    mute = write_video(catalog / "mute.webm", seconds=1.0, audio=False, fmt="webm")
    outside = write_tone(workdir / "outside.wav", "wav", seconds=2.0)
    upload = write_tone(workdir / "upload.m4a", "m4a", seconds=3.0)
    requests = [
        {"path": str(good)},
        {"path": str(cut)},
        {"path": str(mute)},
        {"path": str(outside)},
        {"audio_b64": base64.b64encode(upload.read_bytes()).decode(), "filename": "upload.m4a"},
        {"audio_b64": base64.b64encode(b"just some text, not audio").decode(), "filename": "x.txt"},
        {"audio_b64": "%%%"},
    ]
    results = post_batch(server, requests)
    codes = [r.error.code if r.error else "ok" for r in results]
    assert codes == [
        "ok",
        "corrupt",
        "no_audio_stream",
        "path_not_allowed",
        "ok",
        "unsupported_format",
        "invalid_request",
    ]
    song, clip = results[0].encoding, results[4].encoding
    assert song is not None and clip is not None
    assert (song.num_segments, song.features.shape, clip.num_segments) == (1, (1, 464), 1)
    assert song.duration_s == pytest.approx(12.0, abs=0.05) and song.tags
    assert results[5].error is not None and "x.txt" in results[5].error.message
    # a malformed request (two sources) is a client bug: rejected whole, before any work
    malformed = {"requests": [{"path": str(good), "audio_b64": "AA=="}]}
    assert httpx.post(f"{server}/encode_batch", json=malformed, timeout=60).status_code == 400


def test_concurrent_clients_each_get_their_own_answer(server: str, workdir: Path) -> None:
    """Concurrent calls may be merged by the adaptive batcher; each must still get only its own results."""
    tracks = [write_tone(workdir / "catalog" / f"c{i}.wav", "wav", seconds=2.0 + i) for i in range(3)]
    with ThreadPoolExecutor(len(tracks)) as pool:
        answers = list(pool.map(lambda p: post_batch(server, [{"path": str(p)}]), tracks))
    assert [len(a) for a in answers] == [1, 1, 1]
    assert [a[0].encoding.duration_s if a[0].encoding else None for a in answers] == [
        pytest.approx(2.0 + i) for i in range(3)
    ]


def test_upload_api(server: str, workdir: Path) -> None:
    path = write_tone(workdir / "up.ogg", "ogg", seconds=3.0)
    with path.open("rb") as fh:
        response = httpx.post(f"{server}/encode_upload", files={"audio": ("up.ogg", fh)}, timeout=600)
    result = MusicEncodeResult.model_validate(response.json())
    assert result.ok and result.encoding is not None and result.encoding.num_segments == 1
    with (workdir / "bad.bin").open("wb") as fh:
        fh.write(b"\x00" * 64 + bytes(range(256)) * 8)
    with (workdir / "bad.bin").open("rb") as fh:
        bad = httpx.post(f"{server}/encode_upload", files={"audio": ("bad.bin", fh)}, timeout=600)
    error = MusicEncodeResult.model_validate(bad.json()).error
    assert error is not None and error.code == "corrupt"
