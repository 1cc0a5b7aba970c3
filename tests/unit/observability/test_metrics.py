"""The shared metrics: HTTP latency per route template, batch sizes, info gauges, the metrics server."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path
from typing import cast

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from musechat.bus.broker import free_port
from musechat.observability import (
    HttpMetricsMiddleware,
    clear_consumer_lag,
    observe_batch,
    set_consumer_lag,
    set_index_info,
    set_model_info,
    start_metrics_server,
)

pytestmark = pytest.mark.unit


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def request_count(**labels: str) -> float:
    return sample("musechat_http_request_duration_seconds_count", **labels) or 0.0


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.add_middleware(HttpMetricsMiddleware, service="unit-svc")

    @app.get("/items/{item_id}")
    def get_item(item_id: str) -> dict[str, str]:
        if item_id == "missing":
            raise HTTPException(status_code=404)
        return {"id": item_id}

    @app.post("/boom")
    def boom() -> None:
        raise RuntimeError("handler failed")

    return TestClient(app, raise_server_exceptions=False)


def test_requests_are_timed_per_route_template_not_raw_path(client: TestClient) -> None:
    labels = {"service": "unit-svc", "route": "/items/{item_id}", "method": "GET"}
    before_ok, before_404 = request_count(**labels, status="200"), request_count(**labels, status="404")
    for item in ("a", "b", "c", "missing"):
        client.get(f"/items/{item}")
    assert request_count(**labels, status="200") == before_ok + 3
    assert request_count(**labels, status="404") == before_404 + 1
    assert sample("musechat_http_request_duration_seconds_count", service="unit-svc", route="/items/a",
                  method="GET", status="200") is None
    total = sample("musechat_http_request_duration_seconds_sum", **labels, status="200")
    assert total is not None and total > 0


def test_unmatched_paths_share_one_route_and_exceptions_count_as_500(client: TestClient) -> None:
    unmatched = {"service": "unit-svc", "route": "unmatched", "method": "GET", "status": "404"}
    boom = {"service": "unit-svc", "route": "/boom", "method": "POST", "status": "500"}
    before_unmatched, before_boom = request_count(**unmatched), request_count(**boom)
    assert client.get("/no/such/path/123").status_code == 404
    assert client.get("/no/such/path/456").status_code == 404
    assert client.post("/boom").status_code == 500
    assert request_count(**unmatched) == before_unmatched + 2
    assert request_count(**boom) == before_boom + 1


def test_batch_sizes_are_a_histogram_per_service_and_api() -> None:
    before = sample("musechat_batch_size_count", service="unit-enc", api="encode") or 0.0
    for size in (1, 7, 32):
        observe_batch("unit-enc", "encode", size)
    assert sample("musechat_batch_size_count", service="unit-enc", api="encode") == before + 3
    assert sample("musechat_batch_size_bucket", service="unit-enc", api="encode", le="8.0") == before + 2


def test_model_info_keeps_one_series_per_service() -> None:
    set_model_info("unit-model-svc", model="minilm", version="v1")
    assert sample("musechat_model_info", service="unit-model-svc", model="minilm", version="v1") == 1.0
    set_model_info("unit-model-svc", model="minilm", version="v2")
    assert sample("musechat_model_info", service="unit-model-svc", model="minilm", version="v1") is None
    assert sample("musechat_model_info", service="unit-model-svc", model="minilm", version="v2") == 1.0


def test_index_info_follows_the_alias() -> None:
    set_index_info("unit-tracks", "tracks-a", "fusion@1")
    set_index_info("unit-tracks", "tracks-b", "fusion@2")
    assert sample("musechat_index_info", alias="unit-tracks", collection="tracks-a", index_model="fusion@1") is None
    assert sample("musechat_index_info", alias="unit-tracks", collection="tracks-b", index_model="fusion@2") == 1.0


def test_consumer_lag_is_set_clamped_and_cleared() -> None:
    labels = {"topic": "unit-topic", "partition": "3", "group": "unit-group"}
    set_consumer_lag("unit-topic", 3, "unit-group", 42)
    assert sample("musechat_consumer_lag", **labels) == 42.0
    set_consumer_lag("unit-topic", 3, "unit-group", -1)  # a stale high watermark never reads as negative lag
    assert sample("musechat_consumer_lag", **labels) == 0.0
    clear_consumer_lag("unit-topic", 3, "unit-group")
    clear_consumer_lag("unit-topic", 3, "unit-group")  # clearing twice is harmless
    assert sample("musechat_consumer_lag", **labels) is None


def test_metrics_server_serves_the_registry_over_http() -> None:
    port = free_port()
    observe_batch("unit-served", "encode", 4)
    start_metrics_server(port, addr="127.0.0.1")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    assert 'musechat_batch_size_count{api="encode",service="unit-served"} 1.0' in body


def test_metrics_server_names_the_port_it_cannot_bind() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            start_metrics_server(port, addr="127.0.0.1")
    with pytest.raises(ValueError, match="between 1 and 65535"):
        start_metrics_server(70000)


def test_the_gateway_app_records_its_route_templates(tmp_path: Path) -> None:
    from musechat.gateway.app import GatewayContext, create_app
    from musechat.gateway.auth import ApiKeyRing
    from musechat.gateway.core import GatewayCore
    from musechat.gateway.settings import GatewaySettings

    settings = GatewaySettings(api_keys_file=tmp_path / "keys.jsonl", state_secret="s" * 32,
                               ranker_url="http://127.0.0.1:9")
    # Requests without a key stop at authentication, before the core is used: no core is needed.
    context = GatewayContext(core=cast(GatewayCore, None), keys=ApiKeyRing([]), settings=settings)
    client = TestClient(create_app(context))
    labels = {"service": "gateway", "route": "/v1/videos/{video_id}", "method": "GET", "status": "401"}
    before = request_count(**labels)
    assert client.get("/v1/videos/vid-123").status_code == 401
    assert client.get("/v1/videos/vid-456").status_code == 401
    assert request_count(**labels) == before + 2
