"""The gateway's one error shape: a client error keeps its message, a server error hides its internals."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from musechat.errors import MuseChatError
from musechat.gateway.http_errors import install_error_handlers

pytestmark = pytest.mark.unit


def _client(error: MuseChatError) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fail")
    def fail() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


def test_a_client_error_says_what_to_fix() -> None:
    response = _client(MuseChatError("limit must be at most 50", status=422, code="invalid_request")).get("/fail")
    assert response.status_code == 422
    assert response.json() == {"error": "invalid_request", "message": "limit must be at most 50"}


def test_a_server_error_keeps_its_code_and_hides_its_internals(caplog: pytest.LogCaptureFixture) -> None:
    internal = "store at /var/lib/musechat/store is locked by pid 4242 (broker 10.0.0.7:9092)"
    response = _client(MuseChatError(internal, status=503, code="store_error")).get("/fail")
    body = response.json()
    assert response.status_code == 503 and body["error"] == "store_error"
    assert "/var/lib" not in body["message"] and "10.0.0.7" not in body["message"]
    assert internal in caplog.text  # the operator still sees it
