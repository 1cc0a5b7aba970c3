"""The API layer alone (FastAPI app, no server): every error answer is one JSON shape {error, message},
including the ones FastAPI and Starlette produce themselves (unknown route, wrong method, 500)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from musechat.gateway.app import GatewayContext, create_app
from musechat.gateway.auth import SCOPE_CATALOG_WRITE, SCOPE_READ, ApiKey, ApiKeyRing, hash_key
from musechat.gateway.core import GatewayCore
from musechat.gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit
KEY = "mck_unit-test-key"


class ExplodingCore:
    """A core whose every call fails unexpectedly: what a bug deep in a turn looks like to the API layer."""

    def __getattr__(self, name: str) -> Any:
        def fail(*_: object, **__: object) -> None:
            raise RuntimeError(f"boom in {name}")

        return fail


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = GatewaySettings(api_keys_file=tmp_path / "keys.jsonl", state_secret="s" * 32,
                               ranker_url="http://127.0.0.1:9", upload_dir=tmp_path / "uploads")
    keys = ApiKeyRing([ApiKey("admin", hash_key(KEY), frozenset({SCOPE_READ, SCOPE_CATALOG_WRITE}))])
    context = GatewayContext(core=cast(GatewayCore, ExplodingCore()), keys=keys, settings=settings)
    return TestClient(create_app(context), raise_server_exceptions=False,
                      headers={"Authorization": f"Bearer {KEY}"})


def _error(response: Any, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "message"} and body["error"] == code and body["message"], body
    return cast(dict[str, str], body)


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    body = _error(client.get("/v1/nothing-here"), 404, "not_found")
    assert "/v1/nothing-here" in body["message"]
    _error(client.get("/nope"), 404, "not_found")


def test_wrong_method_is_a_json_405_with_allow(client: TestClient) -> None:
    response = client.get("/v1/conversations")
    _error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    _error(client.delete("/v1/tracks"), 405, "method_not_allowed")


def test_unexpected_failure_is_a_json_500_without_internals(client: TestClient) -> None:
    body = _error(client.get("/v1/videos/vid-1"), 500, "internal_error")
    assert "boom" not in body["message"]


def test_malformed_json_invalid_fields_and_wrong_content_type(client: TestClient) -> None:
    _error(client.post("/v1/conversations", content=b'{"video_id": ',
                       headers={"Content-Type": "application/json"}), 400, "malformed_json")
    _error(client.post("/v1/conversations", json={"video_id": "v", "limit": 500}), 422, "invalid_request")
    _error(client.post("/v1/videos", content=b"raw", headers={"Content-Type": "video/mp4"}),
           415, "unsupported_media_type")


def test_auth_errors_keep_their_codes(client: TestClient) -> None:
    _error(client.get("/v1/videos/x", headers={"Authorization": ""}), 401, "missing_api_key")
    _error(client.get("/v1/videos/x", headers={"Authorization": "Bearer mck_wrong"}), 401, "invalid_api_key")


@pytest.mark.parametrize("video_id", ["", "\ud800", "vid\x00x", "a" * 129, " vid"])
def test_ids_the_engine_cannot_use_are_refused_at_the_door(client: TestClient, video_id: str) -> None:
    """Never a 5xx, and never into a micro-batch shared with other callers (the core would raise here)."""
    body = json.dumps({"video_id": video_id})  # ASCII escapes: a lone surrogate travels as \\ud800
    _error(client.post("/v1/conversations", content=body, headers={"Content-Type": "application/json"}),
           422, "invalid_request")


def test_a_malformed_video_id_in_the_path_is_an_unknown_video(client: TestClient) -> None:
    _error(client.get("/v1/videos/vid%00x"), 404, "video_not_found")
    _error(client.get("/v1/videos/" + "a" * 200), 404, "video_not_found")


@pytest.mark.parametrize("path", ["/v1/conversations/a/b\n/turns", "/v1/x\ny", "/\n"])
def test_the_fallback_route_claims_paths_with_newlines(path: str) -> None:
    """Under BentoML's passive mount a path no route of the app claims is answered by BentoML in text/plain;
    an encoded %0A used to slip past the fallback (43 text/plain answers in the fuzz run)."""
    from starlette.routing import Match

    from musechat.gateway.fallback import FallbackRoute

    app = create_app()
    [fallback] = [r for r in app.router.routes if isinstance(r, FallbackRoute)]
    scope = {"type": "http", "path": path, "method": "POST", "root_path": ""}
    assert fallback.matches(scope)[0] == Match.FULL


def test_plain_text_404s_from_the_server_around_the_app_leave_as_json() -> None:
    """BentoML's own router answers paths its mount never offers the app (an encoded newline) in text/plain."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from musechat.gateway.fallback import PlainErrorsAsJson

    async def ok(_: Any) -> PlainTextResponse:
        return PlainTextResponse("fine")

    outer = TestClient(PlainErrorsAsJson(Starlette(routes=[Route("/ok", ok)])))
    missing = outer.get("/v1/a%0Ab")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/json"
    assert missing.json()["error"] == "not_found"
    assert outer.get("/ok").text == "fine"  # other plain-text answers pass unchanged
