"""Generate the committed contract artifacts under schemas/ and detect drift.

- schemas/events/<topic>.json: JSON Schema of each topic's envelope with its payload.
- schemas/openapi/<service>.json: the OpenAPI document each BentoML service really serves, taken from
  the service definition itself (so the document cannot disagree with the running service).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.topics import Topic

SERVICES_DIR = Path(__file__).resolve().parents[3] / "services"


def event_payloads() -> dict[Topic, type[BaseModel]]:
    from musechat.contracts.catalog import ModelPublished, TrackEncoded, TrackIndexed, TrackSubmitted
    from musechat.contracts.conversation import ConversationTurn, FeedbackGiven, VideoEncoded, VideoSubmitted

    payloads: dict[Topic, type[BaseModel]] = {
        Topic.TRACK_SUBMITTED: TrackSubmitted,
        Topic.TRACK_ENCODED: TrackEncoded,
        Topic.TRACK_INDEXED: TrackIndexed,
        Topic.VIDEO_SUBMITTED: VideoSubmitted,
        Topic.VIDEO_ENCODED: VideoEncoded,
        Topic.CONVERSATION_TURN: ConversationTurn,
        Topic.FEEDBACK: FeedbackGiven,
        Topic.MODEL_PUBLISHED: ModelPublished,
    }
    return payloads


def event_schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for topic, payload in event_payloads().items():
        schema = EventEnvelope[payload].model_json_schema()  # type: ignore[valid-type]
        schema["title"] = f"{topic.value} event"
        schema["$id"] = f"https://musechat.dev/schemas/events/{topic.value}.json"
        out[f"events/{topic.value}.json"] = schema
    return out


def _service_definitions(services_dir: Path) -> Iterator[tuple[str, Any]]:
    import bentoml  # noqa: F401  (services import it; keep the error here if it is missing)

    for service_file in sorted(services_dir.glob("*/service.py")):
        name = service_file.parent.name
        spec = importlib.util.spec_from_file_location(f"musechat_service_{name.replace('-', '_')}", service_file)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot import {service_file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        from _bentoml_sdk.service.factory import Service

        services = [obj for obj in vars(module).values() if isinstance(obj, Service)]
        if len(services) != 1:
            raise RuntimeError(f"{service_file} must define exactly one BentoML service, found {len(services)}")
        yield name, services[0]


def openapi_documents(services_dir: Path = SERVICES_DIR) -> dict[str, dict[str, Any]]:
    return {f"openapi/{name}.json": _document(name, service) for name, service in _service_definitions(services_dir)}


def _document(name: str, service: Any) -> dict[str, Any]:
    """A service whose module mounts an API of its own (`app`, e.g. the gateway's FastAPI app) publishes
    that API's document (its clients' contract: versioned, with security schemes and links); the others
    publish BentoML's."""
    app = getattr(sys.modules.get(f"musechat_service_{name.replace('-', '_')}"), "app", None)
    if app is not None and callable(getattr(app, "openapi", None)):
        document: dict[str, Any] = app.openapi()
        return document
    spec: dict[str, Any] = service.openapi_spec.asdict()
    return spec


def render_all(services_dir: Path = SERVICES_DIR) -> dict[str, str]:
    documents = {**event_schemas(), **openapi_documents(services_dir)}
    return {path: json.dumps(doc, indent=2, sort_keys=True) + "\n" for path, doc in documents.items()}


def export_schemas(out_dir: Path, services_dir: Path = SERVICES_DIR) -> list[Path]:
    written = []
    rendered = render_all(services_dir)
    for stale in out_dir.glob("**/*.json"):
        if stale.relative_to(out_dir).as_posix() not in rendered:
            stale.unlink()
    for relative, text in rendered.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def check_schemas(out_dir: Path, services_dir: Path = SERVICES_DIR) -> list[str]:
    """One line per drifted, missing or stale file; empty when schemas/ matches the code."""
    rendered = render_all(services_dir)
    problems = []
    for relative, text in rendered.items():
        path = out_dir / relative
        if not path.exists():
            problems.append(f"missing {path}: run `musechat schemas export`")
        elif path.read_text() != text:
            problems.append(f"drifted {path}: the contract changed; run `musechat schemas export` and review")
    for existing in out_dir.glob("**/*.json"):
        if existing.relative_to(out_dir).as_posix() not in rendered:
            problems.append(f"stale {existing}: no contract produces it any more")
    return problems
