"""The gateway's OpenAPI document (served at /openapi.json, committed as schemas/openapi/gateway.json).

On top of FastAPI's document: the package version (BentoML's document said "None"), the bearer-key
security scheme every /v1 route requires, and OpenAPI links that chain a conversation — start → turn →
feedback — with the id and the signed state of the previous answer (schemathesis follows them in the
stateful fuzz suite, tests/e2e/test_fuzz.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

import musechat

SECURITY_SCHEME = "apiKey"
_NEXT_TURN = {
    "operationId": "conversation_turn",
    "parameters": {"conversation_id": "$response.body#/conversation_id"},
    "requestBody": {"text": "faster, please", "state": "$response.body#/state"},
    "description": "Continue the conversation with the state of this answer.",
}
_FEEDBACK = {
    "operationId": "conversation_feedback",
    "parameters": {"conversation_id": "$response.body#/conversation_id"},
    "requestBody": {"track_id": "$response.body#/tracks/0/track_id", "verdict": "reject",
                    "state": "$response.body#/state"},
    "description": "Give feedback on the top track of this answer.",
}
_LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("/v1/conversations", "post", "201"): {"NextTurn": _NEXT_TURN, "Feedback": _FEEDBACK},
    ("/v1/conversations/{conversation_id}/turns", "post", "200"): {"NextTurn": _NEXT_TURN, "Feedback": _FEEDBACK},
    ("/v1/conversations/{conversation_id}/feedback", "post", "200"): {"NextTurn": {
        **_NEXT_TURN, "description": "Continue after the feedback, with the state it returned."}},
    ("/v1/videos", "post", "202"): {"VideoState": {
        "operationId": "get_video", "parameters": {"video_id": "$response.body#/video_id"},
        "description": "Poll the video until it is ready."}},
}


def openapi_document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=musechat.__version__, description=app.description,
                           routes=app.routes)
    document.setdefault("components", {})["securitySchemes"] = {SECURITY_SCHEME: {
        "type": "http", "scheme": "bearer", "description": "An API key: `Authorization: Bearer mck_...`."}}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            operation["operationId"] = _operation_id(operation)
            if path.startswith("/v1/"):
                operation["security"] = [{SECURITY_SCHEME: []}]
            for status, response in operation.get("responses", {}).items():
                if links := _LINKS.get((path, method, status)):
                    response["links"] = links
    app.openapi_schema = document
    return document


def _operation_id(operation: dict[str, Any]) -> str:
    """The route function's name (`conversation_turn`), not FastAPI's path-derived id: links name them."""
    generated = str(operation.get("operationId", ""))
    return generated.split("_v1_")[0] if "_v1_" in generated else generated


def install(app: FastAPI) -> None:
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
