"""A Qdrant REST stand-in for tests: the subset of Qdrant's HTTP API that qdrant-client's REST transport
uses for the calls `musechat.store.qdrant.QdrantServerStore` makes, served over qdrant-client's own local
mode (`QdrantClient(path=...)`, or ":memory:"), so search, filters, scroll order and aliases follow
Qdrant's reference Python implementation.

Test support, not product code. Why it exists: no Qdrant server binary runs on this machine (nothing on
PyPI, npm or Debian), yet the bring-up test (tests/deploy/test_bringup.py) runs the workloads that need
one (gateway, fusion ranker, indexer, dataset writer) from their rendered environment. What it is not:
HNSW, quantization, shards, replicas, snapshots and optimizers are accepted and ignored (local mode is
exact brute force and always green); the real server's wiring is covered by tests/deploy/test_wiring.py.

Wire format, as the server's OpenAPI has it (qdrant_client/http/api/*.py name the routes and the body
models): request bodies are parsed into `qdrant_client.http.models` types; answers are
`{"result": ..., "status": "ok", "time": ...}` with the models dumped to JSON, errors
`{"status": {"error": ...}, "time": ...}` (404 for a missing collection, 400 for bad input). Like the
server, every route but `/healthz`, `/livez` and `/readyz` needs the `api-key` header (or
`Authorization: Bearer`) when an API key is configured (`QDRANT__SERVICE__API_KEY`, as the chart sets it).

Run: `python -m tests.deploy.qdrant_standin --port 6333 --storage /qdrant/storage` (the key from
`QDRANT__SERVICE__API_KEY`); in-process: `with StandIn(path) as url: ...` (a uvicorn thread).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import importlib.metadata
import os
import socket
import threading
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python
from qdrant_client import QdrantClient
from qdrant_client.http import models as m
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

PUBLIC = ("/healthz", "/livez", "/readyz")
Handler = Callable[[QdrantClient, str, Any], Any]


class NotFound(Exception):
    pass


def _ok(result: Any, started: float) -> JSONResponse:
    return JSONResponse({"result": to_jsonable_python(result), "status": "ok", "time": time.perf_counter() - started})


def _error(status: int, message: str, started: float) -> JSONResponse:
    return JSONResponse({"status": {"error": message}, "time": time.perf_counter() - started}, status_code=status)


def _collection(client: QdrantClient, name: str) -> str:
    if not client.collection_exists(name) and name not in {a.alias_name for a in client.get_aliases().aliases}:
        raise NotFound(f"Not found: Collection `{name}` doesn't exist!")
    return name


# ---- handlers: (client, collection name or "", parsed body) -> result ---------------------------------

def _create_collection(client: QdrantClient, name: str, body: m.CreateCollection) -> bool:
    if client.collection_exists(name):
        raise ValueError(f"Wrong input: Collection `{name}` already exists!")
    return bool(client.create_collection(
        name, vectors_config=body.vectors, sparse_vectors_config=body.sparse_vectors,
        shard_number=body.shard_number, replication_factor=body.replication_factor,
        write_consistency_factor=body.write_consistency_factor, on_disk_payload=body.on_disk_payload,
        hnsw_config=body.hnsw_config, optimizers_config=body.optimizers_config, wal_config=body.wal_config,
        quantization_config=body.quantization_config, metadata=body.metadata))


def _update_collection(client: QdrantClient, name: str, body: m.UpdateCollection) -> bool:
    _collection(client, name)
    return bool(client.update_collection(
        name, optimizers_config=body.optimizers_config, collection_params=body.params,
        vectors_config=body.vectors, hnsw_config=body.hnsw_config, quantization_config=body.quantization_config,
        sparse_vectors_config=body.sparse_vectors, strict_mode_config=body.strict_mode_config,
        metadata=body.metadata))


def _delete_collection(client: QdrantClient, name: str, _: None) -> bool:
    return bool(client.delete_collection(name))


def _get_collection(client: QdrantClient, name: str, _: None) -> m.CollectionInfo:
    return client.get_collection(_collection(client, name))


def _create_index(client: QdrantClient, name: str, body: m.CreateFieldIndex) -> m.UpdateResult:
    _collection(client, name)
    with warnings.catch_warnings():  # "Payload indexes have no effect in the local Qdrant"
        warnings.simplefilter("ignore", UserWarning)
        return client.create_payload_index(name, body.field_name, body.field_schema, wait=True)


def _upsert(client: QdrantClient, name: str, body: m.PointsList | m.PointsBatch) -> m.UpdateResult:
    _collection(client, name)
    points: Any = body.points if isinstance(body, m.PointsList) else body.batch
    return client.upsert(name, points=points, wait=True)


def _retrieve(client: QdrantClient, name: str, body: m.PointRequest) -> list[m.Record]:
    _collection(client, name)
    with_payload = True if body.with_payload is None else body.with_payload
    return client.retrieve(name, ids=body.ids, with_payload=with_payload, with_vectors=body.with_vector or False)


def _scroll(client: QdrantClient, name: str, body: m.ScrollRequest) -> m.ScrollResult:
    _collection(client, name)
    records, offset = client.scroll(
        name, scroll_filter=body.filter, limit=body.limit or 10, offset=body.offset,
        with_payload=True if body.with_payload is None else body.with_payload,
        with_vectors=body.with_vector or False, order_by=body.order_by)
    return m.ScrollResult(points=records, next_page_offset=offset)


def _count(client: QdrantClient, name: str, body: m.CountRequest) -> m.CountResult:
    _collection(client, name)
    return client.count(name, count_filter=body.filter, exact=True if body.exact is None else body.exact)


def _delete_points(client: QdrantClient, name: str, body: m.PointIdsList | m.FilterSelector) -> m.UpdateResult:
    _collection(client, name)
    return client.delete(name, points_selector=body, wait=True)


def _query(client: QdrantClient, name: str, body: m.QueryRequest) -> m.QueryResponse:
    return _query_batch(client, name, m.QueryRequestBatch(searches=[body]))[0]


def _query_batch(client: QdrantClient, name: str, body: m.QueryRequestBatch) -> list[m.QueryResponse]:
    _collection(client, name)
    with warnings.catch_warnings():  # search params (hnsw_ef, quantization) have no effect in local mode
        warnings.simplefilter("ignore", UserWarning)
        return client.query_batch_points(name, body.searches)


def _aliases(client: QdrantClient, name: str, _: None) -> m.CollectionsAliasesResponse:
    if name:
        _collection(client, name)
        return client.get_collection_aliases(name)
    return client.get_aliases()


def _update_aliases(client: QdrantClient, _: str, body: m.ChangeAliasesOperation) -> bool:
    return bool(client.update_collection_aliases(change_aliases_operations=body.actions))


def create_app(client: QdrantClient, api_key: str | None = None) -> Starlette:
    """The REST routes over `client` (a local-mode client). One request at a time: local mode is not
    meant for concurrent use, and the handlers run on the event loop without awaiting."""

    def route(path: str, method: str, handler: Handler, body_type: Any = None) -> Route:
        adapter = TypeAdapter(body_type) if body_type is not None else None

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            try:
                body = adapter.validate_json(await request.body()) if adapter is not None else None
                result = handler(client, request.path_params.get("name", ""), body)
            except NotFound as exc:
                return _error(404, str(exc), started)
            except (ValidationError, ValueError) as exc:
                message = str(exc)
                if "not found" in message.lower():
                    return _error(404, f"Not found: {message}", started)
                return _error(400, f"Wrong input: {message}", started)
            return _ok(result, started)

        return Route(path, endpoint, methods=[method])

    async def root(_: Request) -> Response:
        return JSONResponse({"title": "qdrant - vector search engine (musechat test stand-in: qdrant-client "
                             "local mode)", "version": importlib.metadata.version("qdrant-client")})

    async def health(_: Request) -> Response:
        return PlainTextResponse("healthz check passed")

    async def collections(_: Request) -> Response:
        return _ok(client.get_collections(), time.perf_counter())

    async def exists(request: Request) -> Response:
        return _ok(m.CollectionExistence(exists=client.collection_exists(request.path_params["name"])),
                   time.perf_counter())

    c = "/collections/{name}"
    app = Starlette(routes=[
        Route("/", root), *(Route(p, health) for p in PUBLIC),
        Route("/collections", collections), Route(f"{c}/exists", exists),
        route("/aliases", "GET", _aliases),
        route("/collections/aliases", "POST", _update_aliases, m.ChangeAliasesOperation),
        route(c, "GET", _get_collection),
        route(c, "PUT", _create_collection, m.CreateCollection),
        route(c, "PATCH", _update_collection, m.UpdateCollection),
        route(c, "DELETE", _delete_collection),
        route(f"{c}/aliases", "GET", _aliases),
        route(f"{c}/index", "PUT", _create_index, m.CreateFieldIndex),
        route(f"{c}/points", "PUT", _upsert, m.PointInsertOperations),
        route(f"{c}/points", "POST", _retrieve, m.PointRequest),
        route(f"{c}/points/scroll", "POST", _scroll, m.ScrollRequest),
        route(f"{c}/points/count", "POST", _count, m.CountRequest),
        route(f"{c}/points/delete", "POST", _delete_points, m.PointsSelector),
        route(f"{c}/points/query", "POST", _query, m.QueryRequest),
        route(f"{c}/points/query/batch", "POST", _query_batch, m.QueryRequestBatch),
    ])

    if api_key:
        app.add_middleware(BaseHTTPMiddleware, dispatch=_authenticate(api_key))
    return app


def _authenticate(api_key: str) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    expected = api_key.encode()

    async def dispatch(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path in PUBLIC:
            return await call_next(request)
        given = request.headers.get("api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), expected):
            return _error(401, "Unauthorized: Invalid API key or JWT", time.perf_counter())
        return await call_next(request)

    return dispatch


def _client(storage: Path | None) -> QdrantClient:
    if storage is None:
        return QdrantClient(location=":memory:")
    storage.mkdir(parents=True, exist_ok=True)
    return QdrantClient(path=str(storage))


class StandIn:
    """The stand-in on a free loopback port in a thread of this process; `with StandIn(path) as url`."""

    def __init__(self, storage: Path | None = None, api_key: str | None = None, port: int = 0) -> None:
        import uvicorn

        self.api_key = api_key
        self._client = _client(storage)
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(create_app(self._client, api_key), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve([self._socket])),
                                        name="qdrant-standin", daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Qdrant stand-in did not start")
            time.sleep(0.01)
        return self.url

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
        self._client.close()


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=int(os.environ.get("QDRANT__SERVICE__HTTP_PORT", "6333")))
    parser.add_argument("--storage", type=Path, default=None, help="local-mode folder (default: in memory)")
    args = parser.parse_args()
    app = create_app(_client(args.storage), os.environ.get("QDRANT__SERVICE__API_KEY") or None)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=True)  # requests in the log


if __name__ == "__main__":
    main()
