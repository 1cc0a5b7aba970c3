"""The on-disk quartet format: sharded, memory-mappable, versioned (docs/fusion.md#quartet-format).

A dataset directory holds ``manifest.json`` and one folder per shard. Each shard stores its fixed-shape
arrays as ``.npy`` files (float16 features, padded to ``max_segments`` / ``max_text_tokens`` and paired
with a length array) and its strings in ``records.jsonl`` (ids, texts, metadata), one line per quartet.
``QuartetWriter`` appends quartets and seals shards; ``QuartetDataset`` memory-maps them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musechat.contracts.features import MAX_SEGMENTS
from musechat.errors import MuseChatError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
DEFAULT_MAX_TEXT_TOKENS = 32

# array name -> (feature-dim key in FeatureDims or None for a length array, row-count key)
_FEATURE_ARRAYS = {"video": "video", "target": "music", "candidate": "music", "text_tokens": "text"}
_LENGTH_ARRAYS = ("video_len", "target_len", "candidate_len", "text_len")


class QuartetFormatError(MuseChatError, ValueError):
    """A dataset directory or a quartet does not follow the quartet format."""

    status, code = 422, "bad_quartet_dataset"


@dataclass(frozen=True)
class FeatureDims:
    """Feature widths of the three inputs, taken from the encoders' specs."""

    video: int
    music: int
    text: int
    max_segments: int = MAX_SEGMENTS
    max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS

    def to_json(self) -> dict[str, int]:
        return {
            "video": self.video,
            "music": self.music,
            "text": self.text,
            "max_segments": self.max_segments,
            "max_text_tokens": self.max_text_tokens,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FeatureDims:
        try:
            return cls(
                video=int(raw["video"]),
                music=int(raw["music"]),
                text=int(raw["text"]),
                max_segments=int(raw.get("max_segments", MAX_SEGMENTS)),
                max_text_tokens=int(raw.get("max_text_tokens", DEFAULT_MAX_TEXT_TOKENS)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise QuartetFormatError(f"bad feature dims {raw!r}: {exc}") from exc


@dataclass(frozen=True)
class TrackMeta:
    """Catalog metadata of a track: what an explanation may name (a model cannot hear a title)."""

    title: str
    artist: str
    tags: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "artist": self.artist, "tags": list(self.tags)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TrackMeta:
        return cls(title=str(raw["title"]), artist=str(raw["artist"]), tags=tuple(raw["tags"]))


@dataclass(frozen=True)
class Quartet:
    """One training/evaluation sample: video, target track, turn-1 candidate track and the user's words.

    Feature arrays are unpadded: ``video`` [S, Dv], ``target``/``candidate`` [S, Da], ``text_tokens``
    [L, Dt] (the text encoder's token features, including its special tokens).
    """

    quartet_id: str
    video_id: str
    video: np.ndarray
    target_track_id: str
    target: np.ndarray
    target_meta: TrackMeta
    candidate_track_id: str
    candidate: np.ndarray
    candidate_meta: TrackMeta
    user_text: str
    text_tokens: np.ndarray
    conversation: tuple[dict[str, str], ...] = ()
    explanation: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The JSON side of the quartet (everything but the feature arrays)."""
        return {
            "quartet_id": self.quartet_id,
            "video_id": self.video_id,
            "target_track_id": self.target_track_id,
            "target_meta": self.target_meta.to_json(),
            "candidate_track_id": self.candidate_track_id,
            "candidate_meta": self.candidate_meta.to_json(),
            "user_text": self.user_text,
            "conversation": list(self.conversation),
            "explanation": self.explanation,
            "extra": self.extra,
        }


def _check_matrix(name: str, array: np.ndarray, dim: int, max_rows: int) -> None:
    if array.ndim != 2 or array.shape[1] != dim:
        raise QuartetFormatError(f"{name} must be [rows, {dim}], got shape {tuple(array.shape)}")
    if not 1 <= array.shape[0] <= max_rows:
        raise QuartetFormatError(f"{name} has {array.shape[0]} rows, expected 1..{max_rows}")
    if not np.all(np.isfinite(array)):
        raise QuartetFormatError(f"{name} holds NaN or infinite values")


class QuartetWriter:
    """Append quartets to a dataset directory; every ``shard_size`` quartets become a sealed shard.

    Usage: ``w = QuartetWriter(out_dir, dims, shard_size); w.add(q); ...; w.close()`` (or a ``with``
    block). The manifest is written by ``close()``, so a reader never sees a half-written dataset.
    """

    def __init__(
        self, out_dir: str | Path, dims: FeatureDims, shard_size: int = 4096, info: dict[str, Any] | None = None
    ) -> None:
        if shard_size < 1:
            raise QuartetFormatError(f"shard_size must be >= 1, got {shard_size}")
        self.out_dir = Path(out_dir)
        if (self.out_dir / MANIFEST).exists():
            raise QuartetFormatError(f"{self.out_dir} already holds a dataset (manifest.json exists)")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.dims = dims
        self.shard_size = shard_size
        self.info = dict(info or {})
        self._shards: list[dict[str, Any]] = []
        self._pending: list[Quartet] = []
        self._closed = False
        self.count = 0

    def __enter__(self) -> QuartetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()

    def add(self, quartet: Quartet) -> None:
        if self._closed:
            raise QuartetFormatError("writer is closed")
        d = self.dims
        _check_matrix("video", quartet.video, d.video, d.max_segments)
        _check_matrix("target", quartet.target, d.music, d.max_segments)
        _check_matrix("candidate", quartet.candidate, d.music, d.max_segments)
        _check_matrix("text_tokens", quartet.text_tokens, d.text, d.max_text_tokens)
        self._pending.append(quartet)
        self.count += 1
        if len(self._pending) >= self.shard_size:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        name = f"shard-{len(self._shards):05d}"
        shard_dir = self.out_dir / name
        shard_dir.mkdir(exist_ok=True)
        n, d = len(self._pending), self.dims
        widths = {"video": d.video, "target": d.music, "candidate": d.music, "text_tokens": d.text}
        rows = {"video": d.max_segments, "target": d.max_segments, "candidate": d.max_segments}
        rows["text_tokens"] = d.max_text_tokens
        for key, width in widths.items():
            buf = np.zeros((n, rows[key], width), dtype="<f2")
            lens = np.zeros(n, dtype=np.int16)
            for i, q in enumerate(self._pending):
                mat = getattr(q, key)
                buf[i, : mat.shape[0]] = mat
                lens[i] = mat.shape[0]
            np.save(shard_dir / f"{key}.npy", buf)
            len_key = "text_len" if key == "text_tokens" else f"{key}_len"
            np.save(shard_dir / f"{len_key}.npy", lens)
        with (shard_dir / RECORDS).open("w", encoding="utf-8") as fh:
            for q in self._pending:
                fh.write(json.dumps(q.record(), ensure_ascii=False) + "\n")
        self._shards.append({"name": name, "count": n})
        self._pending = []

    def close(self) -> Path:
        """Seal the last shard and write the manifest; returns the manifest path."""
        if self._closed:
            return self.out_dir / MANIFEST
        self._flush()
        self._closed = True
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "format": "musechat-quartets",
            "count": self.count,
            "dims": self.dims.to_json(),
            "feature_dtype": "float16",
            "shards": self._shards,
            "info": self.info,
        }
        path = self.out_dir / MANIFEST
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path


class QuartetDataset:
    """Read-only view of a dataset directory; feature arrays are numpy memmaps (nothing is copied)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        path = self.root / MANIFEST
        if not path.is_file():
            raise QuartetFormatError(f"{self.root} is not a quartet dataset (no {MANIFEST})")
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise QuartetFormatError(f"{path} is not valid JSON: {exc}") from exc
        version = manifest.get("schema_version")
        if version != SCHEMA_VERSION:
            raise QuartetFormatError(f"{path}: schema_version {version!r} unsupported (expected {SCHEMA_VERSION})")
        self.manifest: dict[str, Any] = manifest
        self.dims = FeatureDims.from_json(manifest["dims"])
        self.info: dict[str, Any] = manifest.get("info", {})
        self._arrays: dict[str, list[np.ndarray]] = {k: [] for k in (*_FEATURE_ARRAYS, *_LENGTH_ARRAYS)}
        self._records: list[dict[str, Any]] = []
        for shard in manifest["shards"]:
            shard_dir = self.root / shard["name"]
            for key in self._arrays:
                file = shard_dir / f"{key}.npy"
                if not file.is_file():
                    raise QuartetFormatError(f"shard {shard['name']} lacks {key}.npy")
                arr = np.load(file, mmap_mode="r")
                if arr.shape[0] != shard["count"]:
                    raise QuartetFormatError(f"{file} holds {arr.shape[0]} rows, manifest says {shard['count']}")
                self._arrays[key].append(arr)
            with (shard_dir / RECORDS).open(encoding="utf-8") as fh:
                self._records.extend(json.loads(line) for line in fh)
        if len(self._records) != manifest["count"]:
            raise QuartetFormatError(f"{self.root}: {len(self._records)} records, manifest says {manifest['count']}")
        self._offsets = np.cumsum([0] + [s["count"] for s in manifest["shards"]])

    def __len__(self) -> int:
        return len(self._records)

    def record(self, index: int) -> dict[str, Any]:
        return self._records[index]

    @property
    def records(self) -> list[dict[str, Any]]:
        return self._records

    def array(self, key: str) -> np.ndarray:
        """One padded array over all shards, copied into memory (e.g. ``"video"`` -> [N, S, Dv] float16)."""
        if key not in self._arrays:
            raise KeyError(f"unknown array {key!r}; known: {sorted(self._arrays)}")
        return np.concatenate(self._arrays[key])

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < len(self):
            raise IndexError(f"quartet index {index} out of range 0..{len(self) - 1}")
        shard = int(np.searchsorted(self._offsets, index, side="right") - 1)
        return shard, index - int(self._offsets[shard])

    def __getitem__(self, index: int) -> Quartet:
        shard, local = self._locate(index)
        rec = self._records[index]

        def rows(key: str, len_key: str) -> np.ndarray:
            n = int(self._arrays[len_key][shard][local])
            return np.asarray(self._arrays[key][shard][local, :n], dtype=np.float32)

        return Quartet(
            quartet_id=rec["quartet_id"],
            video_id=rec["video_id"],
            video=rows("video", "video_len"),
            target_track_id=rec["target_track_id"],
            target=rows("target", "target_len"),
            target_meta=TrackMeta.from_json(rec["target_meta"]),
            candidate_track_id=rec["candidate_track_id"],
            candidate=rows("candidate", "candidate_len"),
            candidate_meta=TrackMeta.from_json(rec["candidate_meta"]),
            user_text=rec["user_text"],
            text_tokens=rows("text_tokens", "text_len"),
            conversation=tuple(rec.get("conversation", ())),
            explanation=rec.get("explanation", ""),
            extra=rec.get("extra", {}),
        )


def resolve_split(path: str | Path, split: str) -> Path:
    """A dataset directory itself, or ``path/split`` when ``path`` is a benchmark root with splits."""
    root = Path(path)
    if (root / MANIFEST).is_file():
        return root
    if (root / split / MANIFEST).is_file():
        return root / split
    raise QuartetFormatError(f"{root} holds neither a dataset nor a '{split}' split (no {MANIFEST})")
