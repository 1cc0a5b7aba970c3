"""The embedded system for end-to-end tests: a small demo world ingested through the real broker into the
real Qdrant engine, a fusion model trained on it, and the gateway BentoML server with embedded workers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from musechat.demo.run import DemoServer, WorldSize, gateway_server, prepare
from musechat.demo.world import DemoWorld
from musechat.gateway.auth import SCOPE_READ, mint_key

E2E_WORLD = WorldSize(track_variants=2, video_variants=1, train_steps=300)


@dataclass
class System:
    world: DemoWorld
    server: DemoServer
    reader_key: str
    workdir: Path

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=300,
                            headers={"Authorization": f"Bearer {key or self.server.api_key}"})


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A broker of its own: the system's consumer groups (indexer, catalog-worker, ...) must not compete
    with the integration tests' workers on the session broker while this fixture lives."""
    from musechat.bus import EmbeddedBroker

    workdir = tmp_path_factory.mktemp("e2e-system")
    with EmbeddedBroker() as broker:
        yield from _system(workdir, broker.bootstrap_servers)


def _system(workdir: Path, bootstrap: str) -> Iterator[System]:
    world, checkpoint = prepare(workdir, bootstrap, E2E_WORLD, progress=False)
    reader_key = mint_key()
    limits = {"MUSECHAT_GATEWAY_MAX_VIDEO_SECONDS": "30", "MUSECHAT_GATEWAY_MAX_UPLOAD_BYTES": str(2 * 1024 * 1024),
              # CPU generation on a busy CI machine is slow: test grounding, not the latency budget.
              "MUSECHAT_EXPLAINER_TIMEOUT_S": "240"}
    with gateway_server(workdir, bootstrap, checkpoint, extra_keys={"reader": (reader_key, [SCOPE_READ])},
                        extra_env=limits) as server:
        yield System(world, server, reader_key, workdir)
