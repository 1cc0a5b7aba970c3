"""The gateway's runtime with the edge store: the engine and the in-process ranker live in a child process,
the text model in another (real ProcessHosts, real Qdrant Edge, real broker); the worker's own objects reach
them through the pipes, and closing the runtime ends the children and frees the collections."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import pytest

from musechat.bus import BusSettings
from musechat.contracts.api import StartConversation, TrackFilters
from musechat.contracts.catalog import TRACKS_COLLECTION, has_vocals
from musechat.gateway.runtime import build_runtime
from musechat.gateway.settings import GatewaySettings
from musechat.store import CollectionBusyError, StoreSettings
from musechat.store.edge import EdgeStore
from tests.fixtures_ranker import build_ranker_world

pytestmark = pytest.mark.integration


def _engine_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]


def test_the_engine_runs_in_its_own_process_and_serves_the_gateway(
        tmp_path: Path, bus_settings: BusSettings) -> None:
    world = build_ranker_world(tmp_path / "world")
    keys = tmp_path / "keys.jsonl"
    keys.write_text("")
    settings = GatewaySettings(api_keys_file=keys, state_secret="s" * 32, fusion_checkpoint=world.checkpoint,
                               store=StoreSettings(backend="edge", path=world.store_path), bus=bus_settings,
                               outbox_path=tmp_path / "outbox.db")
    assert settings.engine_process and settings.text_process  # the defaults
    before = {p.pid for p in _engine_children()}
    runtime = build_runtime(settings)
    try:
        children = [p for p in _engine_children() if p.pid not in before]
        assert len(children) == 2  # the engine and the text model
        core = runtime.context.core
        started = asyncio.run(core.start(StartConversation(video_id="vid-a", limit=4,
                                                           filters=TrackFilters(vocals=False))))
        assert len(started.tracks) == 4 and not any(has_vocals(t.tags) for t in started.tracks)
        assert core.video_state("vid-a").status == "ready"  # the registry reads through HostedStore
        # The child holds the collections: this process cannot open them beside it.
        with EdgeStore(world.store_path) as competing, pytest.raises(CollectionBusyError):
            competing.count(TRACKS_COLLECTION)
    finally:
        runtime.close()
    assert all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in children)
    with EdgeStore(world.store_path) as after:  # released on close
        assert after.count(TRACKS_COLLECTION) == 60


def test_the_engine_and_the_text_model_stay_in_the_worker_when_told(tmp_path: Path, bus_settings: BusSettings) -> None:
    world = build_ranker_world(tmp_path / "world")
    keys = tmp_path / "keys.jsonl"
    keys.write_text("")
    before = {p.pid for p in _engine_children()}
    runtime = build_runtime(GatewaySettings(
        api_keys_file=keys, state_secret="s" * 32, fusion_checkpoint=world.checkpoint, engine_process=False,
        text_process=False, outbox_path=tmp_path / "outbox.db",
        store=StoreSettings(backend="edge", path=world.store_path), bus=bus_settings))
    try:
        assert {p.pid for p in _engine_children()} == before
        assert asyncio.run(runtime.context.core.start(StartConversation(video_id="vid-b", limit=3))).tracks
    finally:
        runtime.close()
