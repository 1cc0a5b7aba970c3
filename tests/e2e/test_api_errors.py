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


def test_unknown_routes_and_wrong_methods_answer_json_through_bentoml(system: System) -> None:
    with system.client() as client:
        _error(client.get("/v1/no-such-thing"), 404, "not_found", "/v1/no-such-thing")
        _error(client.get("/nothing-here"), 404, "not_found")
        _error(client.post("/v1/conversations/a%2Fb%0A/turns", json={}), 404, "not_found")  # BentoML's own 404
        wrong = client.get("/v1/conversations")
        _error(wrong, 405, "method_not_allowed")
        assert wrong.headers["allow"] == "POST"
        assert client.get("/v1/videos/vid-nope").headers["x-request-id"]


def test_a_key_of_another_tenant_added_at_runtime_sees_none_of_this_tenants_objects(
        system: System, good_video: Path) -> None:
    """The key file is re-read on change: a tenant-B key works without a restart, and gets 404 for A's
    video, conversation and feedback; A's own answers are unchanged."""
    import time

    from musechat.demo.run import submit_and_wait
    from musechat.gateway.auth import SCOPE_READ, key_record, mint_key

    with system.client() as client:
        video_id = submit_and_wait(client, good_video)
        started = client.post("/v1/conversations", json={"video_id": video_id}).json()
    other = mint_key()
    keys_file = system.workdir / "secrets" / "api-keys.jsonl"
    with keys_file.open("a") as handle:
        handle.write(key_record("tenant-b", other, [SCOPE_READ], tenant="tenant-b") + "\n")
    conversation, state = started["conversation_id"], started["state"]
    with system.client(other) as bob:
        deadline = time.monotonic() + 10
        while bob.get(f"/v1/videos/{video_id}").status_code == 401 and time.monotonic() < deadline:
            time.sleep(0.3)  # the ring looks at the file at most once a second
        _error(bob.get(f"/v1/videos/{video_id}"), 404, "video_not_found")
        _error(bob.post("/v1/conversations", json={"video_id": video_id}), 404, "video_not_found")
        _error(bob.post(f"/v1/conversations/{conversation}/turns", json={"text": "faster", "state": state}),
               404, "conversation_not_found")
        _error(bob.post(f"/v1/conversations/{conversation}/feedback", json={
            "track_id": started["tracks"][0]["track_id"], "verdict": "accept", "state": state}),
            404, "conversation_not_found")
        _error(bob.delete(f"/v1/videos/{video_id}"), 404, "video_not_found")
    with system.client() as client:
        assert client.get(f"/v1/videos/{video_id}").json()["status"] == "ready"
        assert client.post(f"/v1/conversations/{conversation}/turns",
                           json={"text": "faster", "state": state}).status_code == 200


def test_metrics_need_a_key_and_name_no_ids(system: System) -> None:
    with system.client() as client:
        client.get("/v1/videos/vid-metrics-probe-1")
        scraped = client.get("/metrics")
    assert scraped.status_code == 200 and "musechat_http_request_duration_seconds" in scraped.text
    assert "vid-metrics-probe" not in scraped.text
    with httpx.Client(base_url=system.server.url) as anonymous:
        _error(anonymous.get("/metrics"), 401, "missing_api_key")
