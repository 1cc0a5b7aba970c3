"""The edge concurrency model with real processes: a search process serves `tracks` while a rebuild
process builds v2 beside it, flips the alias and drops v1 once the search process has let go of it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import musechat
from musechat.store import CollectionBusyError, CollectionSpec, PointRecord
from musechat.store.edge import EdgeStore

pytestmark = pytest.mark.integration

DIM = 8
N = 30
SPEC = {"vectors": {"audio": DIM}}


def _points(seed: int, n: int) -> list[PointRecord]:
    rng = np.random.default_rng(seed)
    return [PointRecord(id=f"trk_{i}", vectors={"audio": rng.normal(size=DIM).tolist()}) for i in range(n)]


def _run(root: Path, body: str) -> str:
    """Run `body` in a fresh interpreter with `store = EdgeStore(root)`; returns its stdout."""
    code = "\n".join(
        [
            "from musechat.store import CollectionBusyError, CollectionSpec, PointRecord",
            "from musechat.store.edge import EdgeStore",
            "import numpy as np",
            f"store = EdgeStore({str(root)!r})",
            textwrap.dedent(body),
            "store.close()",
        ]
    )
    src = str(Path(musechat.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_rebuild_in_another_process_then_switch(tmp_path: Path) -> None:
    root = tmp_path / "edge"
    server = EdgeStore(root)
    server.create_collection(CollectionSpec(name="tracks_v1", **SPEC))
    server.upsert("tracks_v1", _points(0, N))
    server.set_alias("tracks", "tracks_v1")
    assert server.count("tracks") == N  # the search process now holds tracks_v1 open

    out = _run(
        root,
        f"""
        try:
            store.count("tracks_v1")
        except CollectionBusyError:
            print("v1 busy")
        store.create_collection(CollectionSpec(name="tracks_v2", vectors={{"audio": {DIM}}}))
        rng = np.random.default_rng(1)
        vecs = rng.normal(size=({N + 5}, {DIM})).tolist()
        pts = [PointRecord(id=f"trk_{{i}}", vectors={{"audio": v}}) for i, v in enumerate(vecs)]
        store.upsert("tracks_v2", pts)
        store.optimize("tracks_v2")
        store.close()  # hand v2 over: edge shards are single-process
        store = EdgeStore({str(root)!r})
        store.set_alias("tracks", "tracks_v2")
        print("switched")
        """,
    )
    assert out.split() == ["v1", "busy", "switched"]

    # The search process sees the flip on its next call, opens v2 and lets go of v1.
    assert server.resolve("tracks") == "tracks_v2"
    assert server.count("tracks") == N + 5

    out = _run(root, 'store.drop_collection("tracks_v1"); print(store.list_collections())')
    assert out.strip() == "['tracks_v2']"
    assert server.list_collections() == ["tracks_v2"]
    server.close()


def test_second_store_on_an_open_collection_is_refused(tmp_path: Path) -> None:
    first = EdgeStore(tmp_path / "edge")
    first.create_collection(CollectionSpec(name="tracks_v1", **SPEC))
    second = EdgeStore(tmp_path / "edge")
    with pytest.raises(CollectionBusyError, match="single-process"):
        second.count("tracks_v1")
    with pytest.raises(CollectionBusyError):
        second.drop_collection("tracks_v1")
    first.close()
    assert second.count("tracks_v1") == 0
    second.close()
