"""The pure-numpy TF checkpoint reader, on the real MusiCNN checkpoints shipped in PyPI ``musicnn``."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

from musechat.encoders.musicnn import musicnn_checkpoint_dir
from musechat.encoders.tf_checkpoint import CheckpointError, crc32c, read_checkpoint, read_index

pytestmark = pytest.mark.unit

DATA = ".data-00000-of-00001"

# build_musicnn (musicnn/models.py): conv kernels are HWIO = (time, freq, in, out)
EXPECTED_KERNELS = {
    "conv2d/kernel": (7, 38, 1, 204),  # timbral 7x(0.4*96)
    "conv2d_1/kernel": (7, 67, 1, 204),  # timbral 7x(0.7*96)
    "conv2d_2/kernel": (128, 1, 1, 51),  # temporal
    "conv2d_3/kernel": (64, 1, 1, 51),
    "conv2d_4/kernel": (32, 1, 1, 51),
    "conv2d_5/kernel": (7, 561, 1, 64),  # mid-end over the 561 front-end features
    "conv2d_6/kernel": (7, 64, 1, 64),
    "conv2d_7/kernel": (7, 64, 1, 64),
    "dense/kernel": (1506, 200),  # [max, mean] pooled 753 features
    "dense_1/kernel": (200, 50),
}
EXPECTED_BN_SIZES = [1, 204, 204, 51, 51, 51, 64, 64, 64, 1506, 200]


@pytest.fixture(scope="module")
def mtt_dir() -> Path:
    return musicnn_checkpoint_dir("MTT_musicnn")


@pytest.fixture(scope="module")
def mtt(mtt_dir: Path) -> dict[str, np.ndarray]:
    # every tensor's CRC32C checked against the index: proves offsets, sizes and dtypes are read right
    return read_checkpoint(mtt_dir, verify_data=True)


def test_crc32c_reference_vector() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720)


def test_musicnn_checkpoint_holds_the_models_py_variables(mtt: dict[str, np.ndarray]) -> None:
    for name, shape in EXPECTED_KERNELS.items():
        assert mtt[name].shape == shape, name
        bias = name.replace("kernel", "bias")
        assert mtt[bias].shape == (shape[-1],), bias
    for i, size in enumerate(EXPECTED_BN_SIZES):
        scope = "batch_normalization" if i == 0 else f"batch_normalization_{i}"
        for var in ("gamma", "beta", "moving_mean", "moving_variance"):
            assert mtt[f"{scope}/{var}"].shape == (size,), scope
        assert np.all(mtt[f"{scope}/moving_variance"] > 0)
    # 20 conv/dense tensors + 44 BN tensors; the rest is Adam state: 2 slots x 42 trainables + 2 powers
    model_vars = [k for k in mtt if "Adam" not in k and not k.startswith("beta")]
    assert len(model_vars) == 20 + 44
    assert len(mtt) == 150
    assert all(v.dtype == np.float32 and np.all(np.isfinite(v)) for v in mtt.values())


def test_index_entries_describe_the_data_file(mtt_dir: Path) -> None:
    num_shards, entries = read_index(mtt_dir)
    assert num_shards == 1
    spans = sorted((e.offset, e.offset + e.size) for e in entries.values())
    # tensors are packed back to back and fill the data file exactly
    assert spans[0][0] == 0
    assert all(a_end == b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    assert spans[-1][1] == (mtt_dir / DATA).stat().st_size


def test_msd_and_mtt_share_the_architecture_but_not_the_weights(mtt: dict[str, np.ndarray]) -> None:
    msd = read_checkpoint(musicnn_checkpoint_dir("MSD_musicnn"))
    assert {k: v.shape for k, v in msd.items()} == {k: v.shape for k, v in mtt.items()}
    assert not np.array_equal(msd["dense_1/kernel"], mtt["dense_1/kernel"])


def test_file_prefix_layout(tmp_path: Path, mtt_dir: Path, mtt: dict[str, np.ndarray]) -> None:
    shutil.copy(mtt_dir / ".index", tmp_path / "model.ckpt.index")
    shutil.copy(mtt_dir / DATA, tmp_path / f"model.ckpt{DATA}")
    again = read_checkpoint(tmp_path / "model.ckpt")
    assert again.keys() == mtt.keys()
    assert np.array_equal(again["conv2d_5/kernel"], mtt["conv2d_5/kernel"])


def _copy(mtt_dir: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in (".index", DATA):
        shutil.copy(mtt_dir / name, dst / name)
    return dst


def test_corrupt_index_block_is_rejected(tmp_path: Path, mtt_dir: Path) -> None:
    ckpt = _copy(mtt_dir, tmp_path / "ckpt")
    raw = bytearray((ckpt / ".index").read_bytes())
    raw[20] ^= 0x01  # inside the first data block (a tensor name)
    (ckpt / ".index").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        read_index(ckpt)


def test_bad_magic_is_rejected(tmp_path: Path, mtt_dir: Path) -> None:
    ckpt = _copy(mtt_dir, tmp_path / "ckpt")
    raw = bytearray((ckpt / ".index").read_bytes())
    raw[-1] ^= 0xFF
    (ckpt / ".index").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="magic"):
        read_index(ckpt)


def test_corrupt_tensor_is_caught_only_when_verifying(tmp_path: Path, mtt_dir: Path) -> None:
    ckpt = _copy(mtt_dir, tmp_path / "ckpt")
    _, entries = read_index(ckpt)
    victim = entries["dense_1/bias"]
    raw = bytearray((ckpt / DATA).read_bytes())
    raw[victim.offset] ^= 0x40
    (ckpt / DATA).write_bytes(bytes(raw))
    read_checkpoint(ckpt)  # unverified reads trust the bytes
    with pytest.raises(CheckpointError, match="dense_1/bias: tensor checksum mismatch"):
        read_checkpoint(ckpt, verify_data=True)


def test_truncated_data_file_is_rejected(tmp_path: Path, mtt_dir: Path) -> None:
    ckpt = _copy(mtt_dir, tmp_path / "ckpt")
    raw = (ckpt / DATA).read_bytes()
    (ckpt / DATA).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="do not hold"):
        read_checkpoint(ckpt)


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no TF checkpoint index"):
        read_checkpoint(tmp_path / "nothing")
