"""Body, frame and file-name limits at the API layer (the FastAPI app in process, real PyAV decoding):
oversized bodies are refused before they are read or authenticated, and refused uploads leave no file."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient

from musechat.gateway.app import GatewayContext, create_app
from musechat.gateway.auth import SCOPE_READ, ApiKey, ApiKeyRing, hash_key
from musechat.gateway.core import GatewayCore
from musechat.gateway.settings import GatewaySettings
from tests.fixtures_video import make_video, write_not_a_video

pytestmark = pytest.mark.unit
KEY = "mck_limits-test-key"
MiB = 1 << 20


class AcceptingCore:
    """Records the videos the API accepted (what `GatewayCore.submit_video` is handed)."""

    def __init__(self) -> None:
        self.submitted: list[Path] = []

    def submit_video(self, path: Path, video_id: str | None = None, tenant: str = "default") -> Any:
        from musechat.contracts.api import VideoState, VideoStatus

        self.submitted.append(path)
        return VideoState(video_id="vid-accepted", status=VideoStatus.PENDING)


@pytest.fixture
def settings(tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(api_keys_file=tmp_path / "keys.jsonl", state_secret="s" * 32,
                           ranker_url="http://127.0.0.1:9", upload_dir=tmp_path / "uploads",
                           max_upload_bytes=2 * MiB, max_json_bytes=64 * 1024, max_video_pixels=320 * 240,
                           max_video_fps=30, media_roots=[tmp_path])


@pytest.fixture
def core() -> AcceptingCore:
    return AcceptingCore()


@pytest.fixture
def app_and_client(settings: GatewaySettings, core: AcceptingCore) -> tuple[Any, TestClient]:
    keys = ApiKeyRing([ApiKey("reader", hash_key(KEY), frozenset({SCOPE_READ}))])
    app = create_app(GatewayContext(core=cast(GatewayCore, core), keys=keys, settings=settings))
    return app, TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {KEY}"})


def _leftovers(settings: GatewaySettings) -> list[str]:
    return sorted(p.name for p in settings.upload_dir.glob("*")) if settings.upload_dir.exists() else []


def test_a_declared_oversized_body_is_refused_unread_and_before_auth(app_and_client: tuple[Any, TestClient]) -> None:
    """300 MB declared, no key: 413 at once, and not one body byte is pulled from the connection."""
    app, _ = app_and_client
    pulled: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        pulled.append(1)
        return {"type": "http.request", "body": b"{" * 65536, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/conversations", "raw_path": b"/v1/conversations", "query_string": b"",
             "root_path": "", "headers": [(b"content-type", b"application/json"),
                                          (b"content-length", str(300 * MiB).encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413 and not pulled
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["error"] == "too_large" and "64 KiB" in body["message"]


class Counting:
    """ASGI wrapper counting the body bytes the gateway app pulled from the connection."""

    def __init__(self, app: Any) -> None:
        self.app, self.pulled = app, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            self.pulled += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@contextmanager
def _served(app: Any) -> Iterator[str]:
    """The app behind a real uvicorn server on a free loopback port: a streamed body arrives in chunks."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def test_a_chunked_upload_is_cut_off_at_the_limit_and_leaves_nothing(
        app_and_client: tuple[Any, TestClient], settings: GatewaySettings) -> None:
    """50 MiB streamed without a length: the gateway stops reading at ~3 MiB (2 MiB + framing), 413."""
    counting = Counting(app_and_client[0])

    def chunks(size: int = 256 * 1024) -> Iterator[bytes]:
        yield (b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
               b"Content-Type: video/mp4\r\n\r\n")
        for _ in range(200):
            yield b"\0" * size

    with _served(counting) as url:
        try:
            response = httpx.post(f"{url}/v1/videos", content=chunks(), timeout=30, headers={
                "Authorization": f"Bearer {KEY}", "Content-Type": "multipart/form-data; boundary=B"})
            assert response.status_code == 413 and response.json()["error"] == "too_large", response.text
        except httpx.TransportError:
            pass  # the server closed the connection while the client was still sending: also a refusal
    assert 2 * MiB < counting.pulled <= 4 * MiB
    assert _leftovers(settings) == []


def test_json_bodies_have_their_own_small_limit(app_and_client: tuple[Any, TestClient]) -> None:
    _, client = app_and_client
    response = client.post("/v1/conversations", json={"video_id": "v", "pad": "x" * 100_000})
    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_nul_bytes_in_a_file_name_or_path_are_4xx_and_leave_no_file(
        app_and_client: tuple[Any, TestClient], settings: GatewaySettings, tmp_path: Path) -> None:
    _, client = app_and_client
    junk = write_not_a_video(tmp_path / "notes.mp4")
    with junk.open("rb") as handle:
        response = client.post("/v1/videos", files={"file": ("evil\x00.mp4", handle, "video/mp4")})
    assert response.status_code == 422 and response.json()["error"] == "unsupported_format", response.text
    assert "\x00" not in response.json()["message"]
    assert _leftovers(settings) == []
    response = client.post("/v1/videos", json={"path": str(tmp_path / "a\x00b.mp4")})
    assert response.status_code == 422 and response.json()["error"] == "invalid_request", response.text


def test_frame_size_and_rate_are_refused_from_the_header_before_decoding(
        app_and_client: tuple[Any, TestClient], settings: GatewaySettings, core: AcceptingCore,
        tmp_path: Path) -> None:
    _, client = app_and_client
    big = make_video(tmp_path / "big.mp4", duration_s=20, fps=10, size=(640, 480))
    fast = make_video(tmp_path / "fast.mp4", duration_s=1, fps=60, size=(32, 32))
    ok = make_video(tmp_path / "ok.mp4", duration_s=1, fps=10, size=(32, 32))
    for path, words in ((big, "640x480"), (fast, "60 frames/s")):
        with path.open("rb") as handle:
            started = time.perf_counter()
            response = client.post("/v1/videos", files={"file": (path.name, handle, "video/mp4")})
            elapsed = time.perf_counter() - started
        assert response.status_code == 413 and response.json()["error"] == "too_large", response.text
        assert words in response.json()["message"]
        assert elapsed < 1.0  # the header alone decides; decoding 200 frames of 640x480 would not
    assert _leftovers(settings) == []
    with ok.open("rb") as handle:
        accepted = client.post("/v1/videos", files={"file": ("ok.mp4", handle, "video/mp4")})
    assert accepted.status_code == 202 and len(core.submitted) == 1 and core.submitted[0].exists()


def test_old_uploads_and_abandoned_spools_are_swept_and_fresh_ones_kept(settings: GatewaySettings) -> None:
    import os

    from musechat.gateway.uploads import sweep_uploads

    settings.upload_dir.mkdir(parents=True)
    now = time.time()
    ages = {"upload-old.mp4": settings.upload_retention_s + 60, "upload-new.mp4": 60.0,
            ".spool-dead": 7200.0, ".spool-live": 10.0, "unrelated.txt": 10 * settings.upload_retention_s}
    for name, age in ages.items():
        path = settings.upload_dir / name
        path.write_bytes(b"x")
        os.utime(path, (now - age, now - age))
    assert sweep_uploads(settings, now=now) == 2
    assert _leftovers(settings) == [".spool-live", "unrelated.txt", "upload-new.mp4"]
