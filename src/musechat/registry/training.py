"""Retraining on what the dataset writer produced: pick the sealed quartet datasets of a period, merge
them with a base dataset, split a held-out set by conversation, fine-tune the live model, gate it, and
register the candidate with its lineage (`musechat model train --since ...`).

Why split by conversation: two quartets of one conversation share the video and often the tracks; one in
train and one in held-out would let the gate measure memory instead of generalisation. Base quartets
(the synthetic benchmark / world) have no conversation: they are grouped by their own id, and their
held-out part is the gate's regression check.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from musechat.errors import MuseChatError
from musechat.fusion.data import MANIFEST, FeatureDims, QuartetDataset, QuartetWriter
from musechat.registry.registry import DatasetRef, ModelRegistry, VersionMeta

log = logging.getLogger(__name__)

TRAIN, HELDOUT_FEEDBACK, HELDOUT_BASE = "train", "heldout-feedback", "heldout-base"


class NotEnoughData(MuseChatError):
    """Fewer new feedback quartets than the retrain threshold: nothing to train (not a failure)."""

    status = 409
    code = "not_enough_data"


@dataclass
class SealedDataset:
    path: Path
    created_at: datetime
    count: int
    dims: FeatureDims

    def ref(self, kind: str = "feedback") -> DatasetRef:
        return DatasetRef(dataset_id=self.path.name, path=str(self.path.resolve()), quartets=self.count,
                          created_at=self.created_at.isoformat(), kind=kind)


def _created_at(path: Path, manifest: dict[str, Any]) -> datetime:
    raw = manifest.get("info", {}).get("created_at")
    if isinstance(raw, str):
        parsed = datetime.fromisoformat(raw)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.fromtimestamp((path / MANIFEST).stat().st_mtime, tz=UTC)


def sealed_datasets(quartets_dir: Path, since: datetime | None = None) -> list[SealedDataset]:
    """The sealed datasets (manifest written) under `quartets_dir` opened at or after `since`, oldest first."""
    found = []
    for path in sorted(p for p in quartets_dir.iterdir() if (p / MANIFEST).is_file()) if quartets_dir.is_dir() else []:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        created = _created_at(path, manifest)
        if since is None or created >= since:
            found.append(SealedDataset(path, created, int(manifest["count"]), FeatureDims.from_json(manifest["dims"])))
    return sorted(found, key=lambda d: d.created_at)


def _heldout(group: str, fraction: float) -> bool:
    return int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction


@dataclass
class MergedData:
    root: Path
    counts: dict[str, int] = field(default_factory=dict)
    feedback: list[DatasetRef] = field(default_factory=list)
    base: DatasetRef | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # dataset id -> why it was left out

    def split(self, name: str) -> Path:
        return self.root / name


def merge_and_split(feedback: list[SealedDataset], base: Path | None, out: Path, holdout: float = 0.25,
                    min_quartets: int = 1) -> MergedData:
    """`out/train`, `out/heldout-feedback` (by conversation) and `out/heldout-base` (the regression set).
    Datasets whose feature widths differ from the first (base first) are left out and listed."""
    merged = MergedData(out)
    base_ds = QuartetDataset(base) if base is not None else None
    dims = base_ds.dims if base_ds is not None else (feedback[0].dims if feedback else None)
    usable = []
    for dataset in feedback:
        if dataset.dims != dims:
            merged.skipped[dataset.path.name] = f"feature dims {dataset.dims} differ from {dims}"
        else:
            usable.append(dataset)
    new = sum(d.count for d in usable)
    if new < min_quartets or dims is None:
        raise NotEnoughData(f"{new} new feedback quartets in {len(usable)} sealed datasets; the retrain needs "
                            f"at least {min_quartets}")
    writers = {name: QuartetWriter(out / name, dims, shard_size=4096, info={"source": "musechat model train"})
               for name in (TRAIN, HELDOUT_FEEDBACK, HELDOUT_BASE)}
    for dataset in usable:
        ds = QuartetDataset(dataset.path)
        for i in range(len(ds)):
            quartet = ds[i]
            conversation = str(quartet.extra.get("conversation_id") or quartet.video_id)
            writers[HELDOUT_FEEDBACK if _heldout(conversation, holdout) else TRAIN].add(quartet)
        merged.feedback.append(dataset.ref())
    if base_ds is not None and base is not None:
        for i in range(len(base_ds)):
            quartet = base_ds[i]
            writers[HELDOUT_BASE if _heldout(quartet.quartet_id, holdout) else TRAIN].add(quartet)
        merged.base = DatasetRef(dataset_id=base.name, path=str(base.resolve()), quartets=len(base_ds), kind="base")
    for name, writer in writers.items():
        merged.counts[name] = writer.count
        writer.close()
    return merged


@dataclass
class RetrainResult:
    candidate: VersionMeta
    data: MergedData
    train: dict[str, Any]


def retrain(registry: ModelRegistry, data: MergedData, run_dir: Path, *, steps: int, variant: str = "musechat",
            seed: int = 0, batch_size: int = 64, progress: bool = False) -> RetrainResult:
    """Fine-tune the live model (or train `variant` from scratch when nothing is live) on `data`'s train
    split; register the result with its parent and datasets (not yet gated, not yet live)."""
    from musechat.fusion.model import load_checkpoint, load_config
    from musechat.fusion.train import train_variant

    live = registry.live()
    init = registry.checkpoint(live) if live is not None else None
    config = load_checkpoint(init)[1] if init is not None else load_config(variant)
    n_train = data.counts.get(TRAIN, 0)
    config = config.model_copy(update={"train": config.train.model_copy(
        update={"batch_size": max(2, min(batch_size, n_train)), "seed": seed})})
    result = train_variant(config, data.split(TRAIN), run_dir, steps=steps, init_checkpoint=init, progress=progress)
    datasets = [*data.feedback, *([data.base] if data.base else [])]
    meta = registry.register(run_dir, parent=live, datasets=datasets,
                             metrics={"train": result.to_json(), "splits": data.counts})
    return RetrainResult(meta, data, result.to_json())
