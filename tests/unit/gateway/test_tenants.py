"""Tenants at the API layer: the real gateway core, the real `videos` registry on a qdrant-edge shard, the
real state signer and key ring; only the ranker, the text model and Kafka are stand-ins (recorded), as
tenancy is decided before any of them is reached. A key of tenant B gets 404 for every object of A."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from musechat.bus import EventProducer
from musechat.contracts.api import RecommendedTrack
from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.contracts.text import TextEncoding
from musechat.gateway.app import GatewayContext, create_app
from musechat.gateway.auth import SCOPE_READ, ApiKeyRing, key_record, mint_key
from musechat.gateway.core import GatewayCore
from musechat.gateway.settings import GatewaySettings
from musechat.gateway.state import StateSigner
from musechat.store.edge import EdgeStore
from musechat.video.registry import VideoRegistry
from tests.fixtures_video import make_video

pytestmark = pytest.mark.unit


class RecordingProducer:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def publish(self, topic: str, event: Any) -> None:
        self.events.append((topic, event))

    def publish_many(self, topic: str, events: Any) -> int:
        for event in events:
            self.publish(topic, event)
        return len(self.events)

    async def publish_async(self, topic: str, event: Any) -> None:
        self.publish(topic, event)


class FixedRanker:
    """Three tracks for any video; records the requests (a tenant's request must never get here)."""

    def __init__(self) -> None:
        self.requests: list[RankRequest] = []

    async def rank(self, request: RankRequest) -> RankResponse:
        self.requests.append(request)
        tracks = [RecommendedTrack(track_id=f"t-{i}", title=f"T{i}", artist="A", duration_s=30.0, tags=[],
                                   score=1.0 - i / 10) for i in range(3)]
        return RankResponse(tracks=tracks, model_version="m1", index_collection="tracks-1")


class NoText:
    async def encode(self, texts: list[str]) -> list[TextEncoding]:
        raise AssertionError("not used: turn 1 has no words and the turn tests stop at the token")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], FixedRanker, GatewaySettings]]:
    keys = {"a": mint_key(), "a2": mint_key(), "b": mint_key()}
    keys_file = tmp_path / "keys.jsonl"
    keys_file.write_text("\n".join([key_record("alice", keys["a"], [SCOPE_READ], tenant="acme"),
                                    key_record("alice-ci", keys["a2"], [SCOPE_READ], tenant="acme"),
                                    key_record("bob", keys["b"], [SCOPE_READ], tenant="globex")]) + "\n")
    settings = GatewaySettings(api_keys_file=keys_file, state_secret="s" * 32, ranker_url="http://127.0.0.1:9",
                               upload_dir=tmp_path / "uploads")
    store = EdgeStore(tmp_path / "edge")
    videos = VideoRegistry(store, 8)
    videos.ensure_collection()
    ranker = FixedRanker()
    core = GatewayCore(cast(EventProducer, RecordingProducer()), videos, NoText(), ranker,
                       StateSigner(b"k" * 32))
    app = create_app(GatewayContext(core=core, keys=ApiKeyRing.from_file(keys_file), settings=settings))
    try:
        yield TestClient(app, raise_server_exceptions=False), keys, ranker, settings
    finally:
        store.close()


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_of_tenant_b_gets_404_for_every_object_of_tenant_a(
        world: tuple[TestClient, dict[str, str], FixedRanker, GatewaySettings], tmp_path: Path) -> None:
    client, keys, ranker, _ = world
    clip = make_video(tmp_path / "clip.mp4", duration_s=1, fps=5, size=(32, 32))
    with clip.open("rb") as handle:
        uploaded = client.post("/v1/videos", files={"file": ("clip.mp4", handle, "video/mp4")}, headers=_as(keys["a"]))
    assert uploaded.status_code == 202, uploaded.text
    video_id = uploaded.json()["video_id"]
    started = client.post("/v1/conversations", json={"video_id": video_id}, headers=_as(keys["a"]))
    assert started.status_code == 201, started.text
    conversation, state = started.json()["conversation_id"], started.json()["state"]
    rankings = len(ranker.requests)

    def refused(response: Any, code: str) -> None:
        assert response.status_code == 404 and response.json()["error"] == code, response.text

    bob = _as(keys["b"])
    refused(client.get(f"/v1/videos/{video_id}", headers=bob), "video_not_found")
    refused(client.delete(f"/v1/videos/{video_id}", headers=bob), "video_not_found")
    refused(client.post("/v1/conversations", json={"video_id": video_id}, headers=bob), "video_not_found")
    refused(client.post(f"/v1/conversations/{conversation}/turns", json={"text": "faster", "state": state},
                        headers=bob), "conversation_not_found")
    refused(client.post(f"/v1/conversations/{conversation}/feedback",
                        json={"track_id": "t-0", "verdict": "accept", "state": state}, headers=bob),
            "conversation_not_found")
    assert len(ranker.requests) == rankings  # bob's requests never reached the ranker
    # the same tenant's other key sees everything; the owner's video is unharmed
    alice_ci = _as(keys["a2"])
    assert client.get(f"/v1/videos/{video_id}", headers=alice_ci).json()["status"] == "pending"
    ok = client.post(f"/v1/conversations/{conversation}/feedback",
                     json={"track_id": "t-1", "verdict": "reject", "state": state}, headers=alice_ci)
    assert ok.status_code == 200, ok.text


def test_feedback_only_names_tracks_the_conversation_recommended(
        world: tuple[TestClient, dict[str, str], FixedRanker, GatewaySettings]) -> None:
    client, keys, _, _ = world
    alice = _as(keys["a"])
    unknown = client.post("/v1/conversations", json={"video_id": "vid-any"}, headers=alice)
    assert unknown.status_code == 404 and unknown.json()["error"] == "video_not_found"  # decided before ranking
    core = cast(GatewayCore, client.app.state.context.core)  # type: ignore[attr-defined]
    core._videos.mark_pending("vid-x", "acme")
    started = client.post("/v1/conversations", json={"video_id": "vid-x"}, headers=alice).json()
    url = f"/v1/conversations/{started['conversation_id']}/feedback"
    never = client.post(url, json={"track_id": "t-9", "verdict": "accept", "state": started["state"]}, headers=alice)
    assert never.status_code == 422 and never.json()["error"] == "track_not_recommended", never.text
    shown = client.post(url, json={"track_id": "t-2", "verdict": "accept", "state": started["state"]}, headers=alice)
    assert shown.status_code == 200, shown.text


def test_delete_forgets_the_video_and_its_upload_and_a_late_encoding_cannot_revive_it(
        world: tuple[TestClient, dict[str, str], FixedRanker, GatewaySettings], tmp_path: Path) -> None:
    from musechat.contracts.api import VideoStatus
    from musechat.contracts.conversation import VideoEncoded

    client, keys, _, settings = world
    alice = _as(keys["a"])
    clip = make_video(tmp_path / "clip.mp4", duration_s=1, fps=5, size=(32, 32))
    with clip.open("rb") as handle:
        video_id = client.post("/v1/videos", files={"file": ("clip.mp4", handle, "video/mp4")},
                               headers=alice).json()["video_id"]
    assert len(list(settings.upload_dir.glob("upload-*"))) == 1
    started = client.post("/v1/conversations", json={"video_id": video_id}, headers=alice).json()
    assert client.delete(f"/v1/videos/{video_id}", headers=alice).status_code == 204
    assert list(settings.upload_dir.glob("upload-*")) == []
    assert client.get(f"/v1/videos/{video_id}", headers=alice).status_code == 404
    assert client.delete(f"/v1/videos/{video_id}", headers=alice).status_code == 404
    assert client.post("/v1/conversations", json={"video_id": video_id}, headers=alice).status_code == 404
    core = cast(GatewayCore, client.app.state.context.core)  # type: ignore[attr-defined]
    core._videos.record(VideoEncoded(video_id=video_id, status=VideoStatus.FAILED, reason="late"))
    assert client.get(f"/v1/videos/{video_id}", headers=alice).status_code == 404
    assert started["conversation_id"].startswith("conv-")


def test_turns_answer_at_once_while_no_broker_is_reachable(tmp_path: Path) -> None:
    """The core writes its events to the outbox; the relay's producer points at a closed port."""
    import time

    from musechat.bus import BusSettings
    from musechat.bus.broker import free_port
    from musechat.bus.outbox import Outbox

    dead = BusSettings(bootstrap_servers=f"127.0.0.1:{free_port()}", publish_timeout_s=1.0, max_block_ms=1000)
    outbox = Outbox(tmp_path / "outbox.db", lambda: EventProducer(dead), backoff_initial_s=0.5).start()
    store = EdgeStore(tmp_path / "edge")
    try:
        videos = VideoRegistry(store, 8)
        videos.ensure_collection()
        videos.mark_pending("vid-1", "default")
        core = GatewayCore(outbox, videos, NoText(), FixedRanker(), StateSigner(b"k" * 32))
        key = mint_key()
        keys_file = tmp_path / "keys.jsonl"
        keys_file.write_text(key_record("k", key, [SCOPE_READ]) + "\n")
        settings = GatewaySettings(api_keys_file=keys_file, state_secret="s" * 32, ranker_url="http://127.0.0.1:9")
        client = TestClient(create_app(GatewayContext(core=core, keys=ApiKeyRing.from_file(keys_file),
                                                      settings=settings)))
        for _ in range(5):
            started = time.perf_counter()
            response = client.post("/v1/conversations", json={"video_id": "vid-1"}, headers=_as(key))
            assert response.status_code == 201 and time.perf_counter() - started < 0.5, response.text
        assert outbox.pending() == 5  # kept for the broker's return, none lost
    finally:
        outbox.close()
        store.close()


def test_a_stale_state_is_a_409_and_loses_no_update(
        world: tuple[TestClient, dict[str, str], FixedRanker, GatewaySettings]) -> None:
    """Two feedbacks sent with the same token (two tabs): the second is refused, not silently forked."""
    client, keys, _, _ = world
    alice = _as(keys["a"])
    core = cast(GatewayCore, client.app.state.context.core)  # type: ignore[attr-defined]
    core._videos.mark_pending("vid-x", "acme")
    started = client.post("/v1/conversations", json={"video_id": "vid-x"}, headers=alice).json()
    url = f"/v1/conversations/{started['conversation_id']}/feedback"
    first = client.post(url, json={"track_id": "t-1", "verdict": "reject", "state": started["state"]}, headers=alice)
    assert first.status_code == 200, first.text
    second = client.post(url, json={"track_id": "t-2", "verdict": "reject", "state": started["state"]},
                         headers=alice)
    assert second.status_code == 409 and second.json()["error"] == "stale_state", second.text
    third = client.post(url, json={"track_id": "t-2", "verdict": "reject", "state": first.json()["state"]},
                        headers=alice)
    assert third.status_code == 200, third.text
    state = core._signer.verify(third.json()["state"], started["conversation_id"])
    assert {"t-1", "t-2"} <= set(state.excluded_track_ids) and state.version == 2  # both rejections kept


def test_concurrent_advances_from_one_version_let_exactly_one_through() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from musechat.gateway.state import StaleStateError, VersionBook

    book = VersionBook()

    def attempt(_: int) -> bool:
        try:
            book.advance("conv-1", 0)
            return True
        except StaleStateError:
            return False

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(attempt, range(32))) == 1


def test_an_exact_replay_is_answered_again_and_a_different_request_is_stale() -> None:
    """A client retrying after a lost response gets the same version back, flagged as a replay (its event is
    not published twice); another request from the same old version is a 409."""
    from musechat.gateway.state import StaleStateError, VersionBook

    book = VersionBook()
    assert book.advance("conv-1", 0, "request-a") == (1, False)
    assert book.advance("conv-1", 0, "request-a") == (1, True)
    with pytest.raises(StaleStateError):
        book.advance("conv-1", 0, "request-b")
    with pytest.raises(StaleStateError):
        book.advance("conv-1", 0)  # no key: never a replay
    assert book.advance("conv-1", 1, "request-b") == (2, False)
    with pytest.raises(StaleStateError):
        book.advance("conv-1", 0, "request-a")  # the conversation moved on past that replay
