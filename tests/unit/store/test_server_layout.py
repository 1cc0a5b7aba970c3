"""Server collections are created with the configured shards, replicas and on-disk storage.

Checked on the wire: a loopback HTTP server records the JSON that qdrant-client really sends when the
store creates a collection (no Qdrant server exists on CI machines; what matters here is our request,
and the recorded body is exactly what a real server would receive).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from musechat.store import CollectionSpec, PayloadIndexKind, StoreSettings, open_store

pytestmark = [
    pytest.mark.unit,
    # Expected here: plain-HTTP loopback with a key, and the client's background version probe racing close.
    pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection"),
    pytest.mark.filterwarnings("ignore:Failed to obtain server version"),
]


@dataclass
class Recorder:
    url: str
    requests: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = field(default_factory=list)

    def bodies(self, method: str, path: str) -> list[dict[str, Any] | None]:
        return [body for m, p, body, _ in self.requests if m == method and p.split("?")[0] == path]


def _answer(method: str, path: str) -> Any:
    """The minimal Qdrant REST answers for creating a collection (an empty server)."""
    if path == "/":
        return {"title": "qdrant - vector search engine", "version": version("qdrant-client")}
    if path == "/aliases":
        return {"result": {"aliases": []}, "status": "ok", "time": 0.0}
    if path.endswith("/exists"):
        return {"result": {"exists": False}, "status": "ok", "time": 0.0}
    if path.endswith("/index"):
        return {"result": {"operation_id": 1, "status": "completed"}, "status": "ok", "time": 0.0}
    return {"result": True, "status": "ok", "time": 0.0}


@pytest.fixture
def fake_server() -> Iterator[Recorder]:
    recorder = Recorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            path = self.path.split("?")[0]
            recorder.requests.append((self.command, path, body, dict(self.headers)))
            data = json.dumps(_answer(self.command, path)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = _handle

        def log_message(self, *args: object) -> None:  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


SPEC = CollectionSpec(
    name="tracks_v1", vectors={"music": 256, "aux": 8}, payload_indexes={"genre": PayloadIndexKind.KEYWORD}
)


def _create(settings: StoreSettings, recorder: Recorder) -> dict[str, Any]:
    store = open_store(settings)
    try:
        store.create_collection(SPEC)
    finally:
        store.close()
    (body,) = recorder.bodies("PUT", "/collections/tracks_v1")
    assert body is not None
    return body


def test_collection_is_created_with_the_configured_layout(fake_server: Recorder) -> None:
    settings = StoreSettings(
        backend="qdrant", url=fake_server.url, api_key=SecretStr("k-123"), shard_number=6,
        replication_factor=2, write_consistency_factor=1, on_disk=True, on_disk_payload=True,
    )
    body = _create(settings, fake_server)
    assert body["shard_number"] == 6
    assert body["replication_factor"] == 2
    assert body["write_consistency_factor"] == 1
    assert body["on_disk_payload"] is True
    assert body["vectors"] == {
        "music": {"size": 256, "distance": "Cosine", "on_disk": True},
        "aux": {"size": 8, "distance": "Cosine", "on_disk": True},
    }
    # The search side of the settings travels with it: int8 copy in RAM, HNSW parameters.
    assert body["quantization_config"] == {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": True}}
    assert body["hnsw_config"] == {"m": 16, "ef_construct": 100, "full_scan_threshold": 10_000}
    # The payload index follows the collection, and every request carries the API key.
    (index,) = fake_server.bodies("PUT", "/collections/tracks_v1/index")
    assert index == {"field_name": "genre", "field_schema": "keyword"}
    assert all(h.get("api-key") == "k-123" for m, p, _, h in fake_server.requests if p != "/")


def test_unset_layout_leaves_the_server_defaults(fake_server: Recorder) -> None:
    body = _create(StoreSettings(backend="qdrant", url=fake_server.url), fake_server)
    for key in ("shard_number", "replication_factor", "write_consistency_factor"):
        assert body.get(key) is None, key
    assert body["on_disk_payload"] is True  # our default: payloads are read for ~10 hits per turn only
    assert body["vectors"]["music"] == {"size": 256, "distance": "Cosine", "on_disk": False}


def test_record_collection_has_no_vectors_and_its_payload_on_disk(fake_server: Recorder) -> None:
    """A collection without vectors is created as one (the server takes `vectors: {}`), and its own
    `payload_on_disk` wins over the store's layout."""
    store = open_store(StoreSettings(backend="qdrant", url=fake_server.url, on_disk_payload=False))
    try:
        store.create_collection(CollectionSpec(name="track_features", vectors={}, payload_on_disk=True))
    finally:
        store.close()
    (body,) = fake_server.bodies("PUT", "/collections/track_features")
    assert body is not None
    assert body["vectors"] == {} and body["on_disk_payload"] is True


def test_layout_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"SHARD_NUMBER": "12", "REPLICATION_FACTOR": "2", "WRITE_CONSISTENCY_FACTOR": "2",
                        "ON_DISK": "true", "ON_DISK_PAYLOAD": "false"}.items():
        monkeypatch.setenv(f"MUSECHAT_STORE_{name}", value)
    s = StoreSettings()
    assert (s.shard_number, s.replication_factor, s.write_consistency_factor, s.on_disk, s.on_disk_payload) == (
        12, 2, 2, True, False)


def test_impossible_layouts_are_refused() -> None:
    with pytest.raises(ValidationError, match="exceeds the replication factor"):
        StoreSettings(backend="qdrant", url="http://q:6333", replication_factor=2, write_consistency_factor=3)
    with pytest.raises(ValidationError, match="exceeds the replication factor"):
        StoreSettings(backend="qdrant", url="http://q:6333", write_consistency_factor=2)
    with pytest.raises(ValidationError):
        StoreSettings(backend="qdrant", url="http://q:6333", shard_number=0)
