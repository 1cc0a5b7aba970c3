from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musechat.fusion.data import (
    SCHEMA_VERSION,
    QuartetDataset,
    QuartetFormatError,
    QuartetWriter,
    resolve_split,
)

from .conftest import DIMS, make_quartet, write_dataset

pytestmark = pytest.mark.unit


def test_roundtrip_across_shards(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    quartets = [make_quartet(i, rng) for i in range(7)]
    with QuartetWriter(tmp_path, DIMS, shard_size=3) as w:
        for q in quartets:
            w.add(q)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION and manifest["count"] == 7
    assert [s["count"] for s in manifest["shards"]] == [3, 3, 1]
    ds = QuartetDataset(tmp_path)
    assert len(ds) == 7
    for q, back in zip(quartets, (ds[i] for i in range(7)), strict=True):
        for key in ("video", "target", "candidate", "text_tokens"):
            np.testing.assert_allclose(getattr(back, key), getattr(q, key), atol=2e-3)  # float16 storage
        assert back.record() == q.record()
    assert ds.array("video").shape == (7, DIMS.max_segments, DIMS.video)
    assert ds.array("text_len").tolist() == [q.text_tokens.shape[0] for q in quartets]


def test_memmapped_shards(tiny_dataset: Path) -> None:
    ds = QuartetDataset(tiny_dataset)
    assert isinstance(ds._arrays["video"][0], np.memmap)


def test_bad_quartets_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    w = QuartetWriter(tmp_path, DIMS)
    q = make_quartet(0, rng)
    with pytest.raises(QuartetFormatError, match=r"video must be \[rows, 12\]"):
        w.add(type(q)(**{**q.__dict__, "video": np.zeros((3, 5), np.float32)}))
    with pytest.raises(QuartetFormatError, match=r"rows, expected 1\.\.6"):
        w.add(type(q)(**{**q.__dict__, "target": np.zeros((9, DIMS.music), np.float32)}))
    bad = np.zeros((2, DIMS.text), np.float32)
    bad[0, 0] = np.nan
    with pytest.raises(QuartetFormatError, match="NaN"):
        w.add(type(q)(**{**q.__dict__, "text_tokens": bad}))


def test_reader_checks_the_schema_version(tiny_dataset: Path) -> None:
    path = tiny_dataset / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["schema_version"] = 99
    path.write_text(json.dumps(manifest))
    with pytest.raises(QuartetFormatError, match="schema_version 99 unsupported"):
        QuartetDataset(tiny_dataset)


def test_writer_never_overwrites_a_dataset(tiny_dataset: Path) -> None:
    with pytest.raises(QuartetFormatError, match="already holds a dataset"):
        QuartetWriter(tiny_dataset, DIMS)


def test_resolve_split(tmp_path: Path) -> None:
    write_dataset(tmp_path / "bench" / "test", 3)
    assert resolve_split(tmp_path / "bench", "test") == tmp_path / "bench" / "test"
    assert resolve_split(tmp_path / "bench" / "test", "train") == tmp_path / "bench" / "test"
    with pytest.raises(QuartetFormatError, match="neither a dataset nor a 'train' split"):
        resolve_split(tmp_path / "bench", "train")
