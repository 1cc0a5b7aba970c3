"""Request ids, rate limits, CORS, /metrics behind a key, readiness per dependency and the OpenAPI
document — the API layer over the real core, registry (qdrant-edge), signer, key ring and outbox file;
the ranker and text model are stand-ins, and the outbox relay is not started (its rows are read back)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from musechat.bus.outbox import Outbox
from musechat.gateway.app import GatewayContext, create_app
from musechat.gateway.auth import SCOPE_CATALOG_WRITE, SCOPE_READ, ApiKeyRing, key_record, mint_key
from musechat.gateway.core import GatewayCore
from musechat.gateway.request_id import event_headers
from musechat.gateway.settings import GatewaySettings
from musechat.gateway.state import StateSigner
from musechat.store.edge import EdgeStore
from musechat.video.registry import VideoRegistry
from tests.unit.gateway.test_tenants import FixedRanker, NoText

pytestmark = pytest.mark.unit


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Outbox]]:
    keys = {"reader": mint_key(), "admin": mint_key()}
    keys_file = tmp_path / "keys.jsonl"
    keys_file.write_text(key_record("reader", keys["reader"], [SCOPE_READ]) + "\n"
                         + key_record("admin", keys["admin"], [SCOPE_READ, SCOPE_CATALOG_WRITE]) + "\n")
    settings = GatewaySettings(api_keys_file=keys_file, state_secret="s" * 32, ranker_url="http://127.0.0.1:9",
                               rate_limit_per_s=1.0, rate_limit_burst=5, cors_origins=["https://app.example"],
                               upload_dir=tmp_path / "uploads")
    store = EdgeStore(tmp_path / "edge")
    outbox = Outbox(tmp_path / "outbox.db", lambda: None, headers=event_headers)  # type: ignore[arg-type,return-value]
    try:
        videos = VideoRegistry(store, 8)
        videos.ensure_collection()
        videos.mark_pending("vid-1", "default")
        core = GatewayCore(outbox, videos, NoText(), FixedRanker(), StateSigner(b"k" * 32))
        app = create_app(GatewayContext(core=core, keys=ApiKeyRing.from_file(keys_file), settings=settings))
        yield TestClient(app, raise_server_exceptions=False), keys, outbox
    finally:
        outbox.close()
        store.close()


def _as(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def test_request_ids_are_echoed_or_generated_and_travel_with_the_events(
        gateway: tuple[TestClient, dict[str, str], Outbox]) -> None:
    client, keys, outbox = gateway
    given = client.post("/v1/conversations", json={"video_id": "vid-1"},
                        headers=_as(keys["reader"], **{"X-Request-ID": "req-42.a"}))
    assert given.status_code == 201 and given.headers["x-request-id"] == "req-42.a"
    made = client.get("/v1/nothing", headers={"X-Request-ID": "bad id\twith spaces"})
    assert made.status_code == 404 and len(made.headers["x-request-id"]) == 32 and " " not in made.headers[
        "x-request-id"]
    with sqlite3.connect(outbox.path) as db:
        [(headers,)] = db.execute("SELECT headers FROM outbox").fetchall()
    assert ["ce_requestid", "req-42.a"] in json.loads(headers)


def test_a_key_over_its_rate_gets_429_with_ratelimit_headers(gateway: tuple[TestClient, dict[str, str], Outbox],
                                                             ) -> None:
    client, keys, _ = gateway
    answers = [client.get("/v1/videos/vid-1", headers=_as(keys["reader"])) for _ in range(7)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert answers[0].headers["ratelimit-limit"] == "5" and answers[0].headers["ratelimit-remaining"] == "4"
    limited = answers[6]
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited", limited.text
    assert int(limited.headers["retry-after"]) >= 1 and limited.headers["ratelimit-remaining"] == "0"
    # another key has its own bucket
    assert client.get("/v1/videos/vid-1", headers=_as(keys["admin"])).status_code == 200


def test_cors_preflight_for_a_configured_origin_only(gateway: tuple[TestClient, dict[str, str], Outbox]) -> None:
    client, _, _ = gateway
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = client.options("/v1/conversations", headers={"Origin": "https://app.example", **asked})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    other = client.options("/v1/conversations", headers={"Origin": "https://evil.example", **asked})
    assert "access-control-allow-origin" not in other.headers


def test_metrics_need_an_admin_or_metrics_key_and_carry_no_ids(
        gateway: tuple[TestClient, dict[str, str], Outbox]) -> None:
    client, keys, _ = gateway
    for n in range(3):
        client.get(f"/v1/videos/vid-unique-{n}", headers=_as(keys["admin"]))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=_as(keys["reader"])).status_code == 403
    scraped = client.get("/metrics", headers=_as(keys["admin"]))
    assert scraped.status_code == 200 and 'route="/v1/videos/{video_id}"' in scraped.text
    assert "vid-unique" not in scraped.text


def test_readiness_reports_each_dependency(gateway: tuple[TestClient, dict[str, str], Outbox]) -> None:
    client, keys, _ = gateway
    client.post("/v1/conversations", json={"video_id": "vid-1"}, headers=_as(keys["reader"]))
    report = client.get("/readyz/dependencies")
    assert report.status_code == 200, report.text
    body: dict[str, Any] = report.json()
    assert body["ready"] is True and body["dependencies"]["store"]["ok"] is True
    assert body["dependencies"]["outbox"]["pending"] == 1  # waiting for a broker; the turn was served
    assert body["dependencies"]["broker"]["critical"] is False


def test_the_openapi_document_has_a_version_security_and_conversation_links(
        gateway: tuple[TestClient, dict[str, str], Outbox]) -> None:
    document = gateway[0].get("/openapi.json").json()
    assert document["info"]["version"] not in ("", "None")
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": "An API key: `Authorization: Bearer mck_...`."}
    start = document["paths"]["/v1/conversations"]["post"]
    assert start["security"] == [{"apiKey": []}] and start["operationId"] == "start_conversation"
    assert not any(p["name"] == "authorization" for p in start.get("parameters", []))
    links = start["responses"]["201"]["links"]
    assert links["NextTurn"]["operationId"] == "conversation_turn"
    assert links["Feedback"]["requestBody"]["state"] == "$response.body#/state"
    operation_ids = {op["operationId"] for ops in document["paths"].values() for op in ops.values()}
    assert {"conversation_turn", "conversation_feedback", "get_video"} <= operation_ids


def test_idempotency_key_replays_a_track_submission_and_refuses_a_different_body(
        gateway: tuple[TestClient, dict[str, str], Outbox]) -> None:
    client, keys, outbox = gateway
    track = {"track": {"track_id": "t-1", "title": "T", "artist": "A"}, "audio_path": "/catalog/t1.wav"}
    headers = _as(keys["admin"], **{"Idempotency-Key": "submit-42"})
    first = client.post("/v1/tracks", json=track, headers=headers)
    again = client.post("/v1/tracks", json=track, headers=headers)
    assert first.status_code == again.status_code == 202, first.text
    assert again.json()["batch_id"] == first.json()["batch_id"] and again.headers["idempotent-replayed"] == "true"
    assert outbox.pending() == 1  # one event, not two
    other = client.post("/v1/tracks", json={**track, "audio_path": "/catalog/other.wav"}, headers=headers)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    fresh = client.post("/v1/tracks", json=track, headers=_as(keys["admin"]))  # no key: a new batch
    assert fresh.json()["batch_id"] != first.json()["batch_id"]


def test_idempotency_key_on_an_upload_returns_the_first_video(
        gateway: tuple[TestClient, dict[str, str], Outbox], tmp_path: Path) -> None:
    from tests.fixtures_video import make_video

    client, keys, _ = gateway
    clip = make_video(tmp_path / "clip.mp4", duration_s=1, fps=5, size=(32, 32))
    answers = []
    for _ in range(2):
        with clip.open("rb") as handle:
            answers.append(client.post("/v1/videos", files={"file": ("clip.mp4", handle, "video/mp4")},
                                       headers=_as(keys["reader"], **{"Idempotency-Key": "upload-1"})))
    assert [a.status_code for a in answers] == [202, 202], answers[0].text
    assert answers[0].json()["video_id"] == answers[1].json()["video_id"]
    settings = client.app.state.context.settings  # type: ignore[attr-defined]
    assert len(list(settings.upload_dir.glob("upload-*"))) == 1
