"""Read TensorFlow (TF1/TF2 ``tf.train.Saver``) checkpoints with numpy only.

A checkpoint ``prefix`` is two kinds of files:

* ``prefix.index``: an immutable sorted key/value table in LevelDB's SSTable layout (data blocks with
  prefix-compressed keys and restart points, an index block, a 48-byte footer ending in a magic
  number). The key ``""`` maps to a ``BundleHeaderProto``; every other key is a tensor name mapping to
  a ``BundleEntryProto`` (dtype, shape, shard id, byte offset, byte size, masked CRC32C).
* ``prefix.data-SSSSS-of-NNNNN``: the raw tensor bytes, little-endian, row-major.

The protobuf messages are decoded by hand (they use only varint, fixed32 and length-delimited fields),
so neither TensorFlow nor protobuf is needed. Block checksums of the index are always verified; tensor
checksums on request (pure Python CRC32C, ~1 s per 10 MB).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musechat.errors import MuseChatError

__all__ = ["CheckpointError", "TensorEntry", "read_checkpoint", "read_index"]

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48  # two BlockHandles padded to 40 bytes + 8-byte magic
_BLOCK_TRAILER_SIZE = 5  # 1 byte compression type + 4 bytes masked crc32c
_CRC_MASK_DELTA = 0xA282EAD8

# tensorflow/core/framework/types.proto -> numpy little-endian dtype (numeric types only).
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}


class CheckpointError(MuseChatError, ValueError):
    """The files are not a TF checkpoint this reader understands (corrupt, compressed, sliced...)."""

    status, code = 422, "bad_checkpoint"


@dataclass(frozen=True)
class TensorEntry:
    """One ``BundleEntryProto``: where a tensor's bytes lie and what they are."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None


# ---------------------------------------------------------------- CRC32C (Castagnoli), as TF masks it
def _make_crc_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _make_crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (unmasked)."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc32c(data: bytes) -> int:
    # TF/LevelDB store a rotated+offset CRC so that CRCs of data containing CRCs stay well distributed.
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _CRC_MASK_DELTA) & 0xFFFFFFFF


# ---------------------------------------------------------------- protobuf wire format
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("varint longer than 64 bits")


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Decode one protobuf message into (field number, value) pairs, in wire order."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value = buf[pos : pos + length]
            if len(value) != length:
                raise CheckpointError("truncated length-delimited field")
            pos += length
        elif wire == 5:
            value = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        out.append((field, value))
    return out


def _int64(v: int) -> int:
    # protobuf encodes negative int64 as 10-byte two's complement varints
    return v - (1 << 64) if v >= 1 << 63 else v


def _parse_shape(buf: bytes) -> tuple[int, ...]:
    dims: list[int] = []
    for field, value in _fields(buf):
        if field == 2 and isinstance(value, bytes):  # TensorShapeProto.dim
            size = 0
            for f, v in _fields(value):
                if f == 1 and isinstance(v, int):
                    size = _int64(v)
            dims.append(size)
        elif field == 3 and value:  # unknown_rank
            raise CheckpointError("tensor of unknown rank")
    return tuple(dims)


def _parse_entry(name: str, buf: bytes) -> TensorEntry:
    dtype = 0
    shape: tuple[int, ...] = ()
    shard_id = offset = size = 0
    crc: int | None = None
    for field, value in _fields(buf):
        if field == 1 and isinstance(value, int):
            dtype = value
        elif field == 2 and isinstance(value, bytes):
            shape = _parse_shape(value)
        elif field == 3 and isinstance(value, int):
            shard_id = value
        elif field == 4 and isinstance(value, int):
            offset = _int64(value)
        elif field == 5 and isinstance(value, int):
            size = _int64(value)
        elif field == 6 and isinstance(value, int):
            crc = value
        elif field == 7:
            raise CheckpointError(f"{name}: partitioned (sliced) tensors are not supported")
    return TensorEntry(name, dtype, shape, shard_id, offset, size, crc)


# ---------------------------------------------------------------- SSTable
def _read_block(table: bytes, handle: bytes) -> bytes:
    offset, pos = _varint(handle, 0)
    size, _ = _varint(handle, pos)
    end = offset + size
    if end + _BLOCK_TRAILER_SIZE > len(table):
        raise CheckpointError("block handle points past the end of the index file")
    block = table[offset:end]
    ctype = table[end]
    (stored_crc,) = struct.unpack_from("<I", table, end + 1)
    if _masked_crc32c(block + bytes([ctype])) != stored_crc:
        raise CheckpointError(f"index block at offset {offset}: checksum mismatch")
    if ctype != 0:
        raise CheckpointError(f"index block compression type {ctype} unsupported (only uncompressed)")
    return block


def _block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise CheckpointError("index block too short")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * num_restarts
    entries: list[tuple[bytes, bytes]] = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        entries.append((key, block[pos : pos + value_len]))
        pos += value_len
    return entries


def _index_path(prefix: Path) -> Path:
    # A saver given "dir/" as prefix writes "dir/.index" (musicnn's checkpoints look like that); a
    # pathlib.Path cannot end in "/", so a directory prefix means exactly that layout.
    return prefix / ".index" if prefix.is_dir() else prefix.with_name(prefix.name + ".index")


def _data_path(prefix: Path, shard: int, num_shards: int) -> Path:
    suffix = f".data-{shard:05d}-of-{num_shards:05d}"
    return prefix / suffix if prefix.is_dir() else prefix.with_name(prefix.name + suffix)


def read_index(prefix: Path) -> tuple[int, dict[str, TensorEntry]]:
    """Parse ``prefix.index``: (number of data shards, tensor name -> entry)."""
    path = _index_path(Path(prefix))
    if not path.is_file():
        raise FileNotFoundError(f"no TF checkpoint index at {path}")
    table = path.read_bytes()
    if len(table) < _FOOTER_SIZE:
        raise CheckpointError(f"{path}: too short for an SSTable footer")
    footer = table[-_FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, _FOOTER_SIZE - 8)
    if magic != _TABLE_MAGIC:
        raise CheckpointError(f"{path}: bad table magic {magic:#x}")
    _, pos = _varint(footer, 0)  # metaindex handle (offset), unused: TF writes no meta blocks
    _, pos = _varint(footer, pos)
    index_block = _read_block(table, footer[pos:])

    num_shards = 1
    entries: dict[str, TensorEntry] = {}
    for _, handle in _block_entries(index_block):
        for key, value in _block_entries(_read_block(table, handle)):
            if key == b"":  # BundleHeaderProto
                for field, v in _fields(value):
                    if field == 1 and isinstance(v, int):
                        num_shards = v
                    elif field == 2 and v != 0:
                        raise CheckpointError(f"{path}: big-endian checkpoints are not supported")
                continue
            name = key.decode("utf-8")
            entries[name] = _parse_entry(name, value)
    return num_shards, entries


def read_checkpoint(prefix: Path, *, verify_data: bool = False) -> dict[str, np.ndarray]:
    """All tensors of a TF checkpoint, by variable name (e.g. ``"conv2d/kernel"``).

    ``prefix`` is the path given to the saver (``.../model.ckpt``), or a directory whose files are
    named ``.index`` / ``.data-…`` (a saver prefix that ended with ``/``). With ``verify_data`` each
    tensor's CRC32C is checked against the index (slow: pure Python).
    """
    prefix = Path(prefix)
    num_shards, entries = read_index(prefix)
    shards: dict[int, bytes] = {}
    tensors: dict[str, np.ndarray] = {}
    for name, entry in entries.items():
        if entry.dtype not in _DTYPES:
            raise CheckpointError(f"{name}: dtype enum {entry.dtype} not supported (numeric tensors only)")
        if entry.shard_id not in shards:
            data_path = _data_path(prefix, entry.shard_id, num_shards)
            if not data_path.is_file():
                raise FileNotFoundError(f"checkpoint data shard missing: {data_path}")
            shards[entry.shard_id] = data_path.read_bytes()
        data = shards[entry.shard_id]
        dtype = _DTYPES[entry.dtype]
        expected = int(np.prod(entry.shape, dtype=np.int64)) * dtype.itemsize
        if entry.size != expected or entry.offset + entry.size > len(data):
            raise CheckpointError(
                f"{name}: {entry.size} bytes at {entry.offset} do not hold a {dtype} tensor of shape "
                f"{entry.shape} (data file is {len(data)} bytes)"
            )
        raw = data[entry.offset : entry.offset + entry.size]
        if verify_data and entry.crc32c is not None and _masked_crc32c(raw) != entry.crc32c:
            raise CheckpointError(f"{name}: tensor checksum mismatch")
        tensors[name] = np.frombuffer(raw, dtype=dtype).reshape(entry.shape).astype(dtype.newbyteorder("="))
    return tensors
