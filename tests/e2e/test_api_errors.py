"""Every bad input gets a specific 4xx whose message says what to fix (real gateway over HTTP)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from musechat.demo.world import VideoRecipe, render_video
from tests.e2e.conftest import System
from tests.fixtures_video import make_video, truncate_copy, write_not_a_video

pytestmark = pytest.mark.e2e


def _upload(client: httpx.Client, path: Path, content_type: str = "video/mp4") -> httpx.Response:
    with path.open("rb") as handle:
        return client.post("/v1/videos", files={"file": (path.name, handle, content_type)})


def _error(response: httpx.Response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    for word in words:
        assert word.lower() in body["message"].lower(), body


@pytest.fixture(scope="module")
def good_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad-inputs") / "good.mp4"
    render_video(VideoRecipe("ok", "sunny", "fast", 3), path)
    return path


def test_not_a_video(system: System, tmp_path: Path) -> None:
    with system.client() as client:
        _error(_upload(client, write_not_a_video(tmp_path / "notes.mp4")), 422, "unsupported_format", "not a video")


def test_truncated_file(system: System, good_video: Path, tmp_path: Path) -> None:
    with system.client() as client:
        _error(_upload(client, truncate_copy(good_video, tmp_path / "cut.mp4", 0.4)), 422, "corrupt", "truncated")


def test_empty_file(system: System, tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with system.client() as client:
        _error(_upload(client, tmp_path / "empty.mp4"), 422, "empty_file", "empty")


def test_too_long(system: System, tmp_path: Path) -> None:
    long_video = make_video(tmp_path / "long.mp4", duration_s=40, fps=2, size=(32, 32))
    with system.client() as client:
        _error(_upload(client, long_video), 422, "too_long", "30 s limit")


def test_too_large(system: System, tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (3 * 1024 * 1024))
    with system.client() as client:
        _error(_upload(client, big), 413, "too_large", "MiB")


def test_wrong_content_type(system: System) -> None:
    with system.client() as client:
        response = client.post("/v1/videos", content=b"raw bytes", headers={"Content-Type": "video/mp4"})
    _error(response, 415, "unsupported_media_type", "multipart/form-data")


def test_unknown_video_and_unknown_conversation(system: System) -> None:
    with system.client() as client:
        _error(client.get("/v1/videos/vid-nope"), 404, "video_not_found", "POST /v1/videos")
        _error(client.post("/v1/conversations", json={"video_id": "vid-nope"}), 404, "video_not_found")
        _error(client.post("/v1/conversations/conv-nope/turns", json={"text": "faster", "state": "garbage"}),
               404, "conversation_not_found", "state")


def test_turn_on_a_video_still_pending(system: System, tmp_path: Path) -> None:
    slow = make_video(tmp_path / "pending.mp4", duration_s=25, fps=25, size=(320, 240), seed=9)
    with system.client() as client:
        accepted = _upload(client, slow)
        assert accepted.status_code == 202 and accepted.json()["status"] == "pending"
        started = client.post("/v1/conversations", json={"video_id": accepted.json()["video_id"]})
    _error(started, 409, "video_pending", "GET /v1/videos")


def test_malformed_json(system: System) -> None:
    with system.client() as client:
        response = client.post("/v1/conversations", content=b'{"video_id": ',
                               headers={"Content-Type": "application/json"})
    _error(response, 400, "malformed_json", "not valid JSON")


def test_invalid_fields(system: System) -> None:
    with system.client() as client:
        response = client.post("/v1/conversations", json={"video_id": "v", "limit": 500})
    _error(response, 422, "invalid_request", "limit")


def test_missing_or_invalid_key_and_missing_scope(system: System, good_video: Path) -> None:
    with httpx.Client(base_url=system.server.url) as anonymous:
        _error(anonymous.get("/v1/videos/x"), 401, "missing_api_key", "Authorization: Bearer")
    with system.client("mck_not-a-real-key") as wrong:
        _error(wrong.get("/v1/videos/x"), 401, "invalid_api_key")
    track = {"track": {"track_id": "t-1", "title": "T", "artist": "A"}, "audio_path": "/nowhere.wav"}
    with system.client(system.reader_key) as reader:
        _error(reader.post("/v1/tracks", json=track), 403, "missing_scope", "catalog:write")
    with system.client() as admin:
        accepted = admin.post("/v1/tracks", json=track)
    assert accepted.status_code == 202 and accepted.json()["track_ids"] == ["t-1"]
