"""The bring-up's Qdrant stand-in checks the API key as the server does, answers in the server's envelope,
and the store opened from a rendered store environment talks REST to it (its search semantics are covered
by the store conformance suite's `qdrant-rest-standin` backend)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

from musechat.store import CollectionSpec, PointRecord, StoreSettings, open_store
from tests.deploy.qdrant_standin import StandIn

pytestmark = pytest.mark.integration


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def test_api_key_is_required_except_on_health_routes(tmp_path: Path) -> None:
    with StandIn(tmp_path / "q", api_key="sekret") as url:
        assert _get(f"{url}/readyz")[0] == 200
        assert _get(f"{url}/collections")[0] == 401
        assert _get(f"{url}/collections", {"api-key": "wrong"})[0] == 401
        status, body = _get(f"{url}/collections", {"api-key": "sekret"})
        assert status == 200 and json.loads(body) == {"result": {"collections": []}, "status": "ok",
                                                      "time": json.loads(body)["time"]}
        assert _get(f"{url}/collections", {"Authorization": "Bearer sekret"})[0] == 200
        status, body = _get(f"{url}/collections/nope", {"api-key": "sekret"})
        assert status == 404 and "doesn't exist" in json.loads(body)["status"]["error"]


def test_store_from_a_server_environment_goes_over_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with StandIn(tmp_path / "q", api_key="sekret") as url:
        for key in ("URL", "API_KEY", "BACKEND"):
            monkeypatch.delenv(f"MUSECHAT_STORE_{key}", raising=False)
        monkeypatch.setenv("MUSECHAT_STORE_BACKEND", "qdrant")
        monkeypatch.setenv("MUSECHAT_STORE_URL", url)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Api key is used with an insecure connection", UserWarning)
            monkeypatch.setenv("MUSECHAT_STORE_API_KEY", "wrong")
            refused = open_store(StoreSettings())
            with pytest.raises(Exception, match=r"401|Unauthorized"):
                refused.list_collections()
            refused.close()
            monkeypatch.setenv("MUSECHAT_STORE_API_KEY", "sekret")
            store = open_store(StoreSettings())
        try:
            assert not store._client._client._prefer_grpc  # type: ignore[attr-defined]
            store.create_collection(CollectionSpec(name="c", vectors={"v": 3}))
            store.upsert("c", [PointRecord(id="a", vectors={"v": [1.0, 0.0, 0.0]}, payload={"title": "A"})])
            hits = store.search("c", "v", [1.0, 0.1, 0.0], limit=1, with_payload=True)
            assert [(h.id, h.payload["title"]) for h in hits] == [("a", "A")]
        finally:
            store.close()
