"""The evaluation gate with real training (a small model, a few hundred steps): a candidate fine-tuned on
feedback whose labels were corrupted is refused against the live model; one fine-tuned on clean feedback
passes. The data is learnable only through the video: each video's style picks its track."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from musechat.fusion.data import FeatureDims, Quartet, QuartetWriter, TrackMeta
from musechat.fusion.model import FusionConfig, load_config
from musechat.registry.gate import build_gate_set, run_gate
from musechat.registry.registry import ModelRegistry
from musechat.registry.training import HELDOUT_BASE, HELDOUT_FEEDBACK, TRAIN, merge_and_split, retrain, sealed_datasets

pytestmark = pytest.mark.integration

DIMS = FeatureDims(video=16, music=12, text=8, max_segments=4, max_text_tokens=4)
STYLES = 48


class World:
    """Styles -> video features and track features through two fixed random projections, plus noise."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.styles = rng.standard_normal((STYLES, 6))
        self.to_video = rng.standard_normal((6, DIMS.video))
        self.to_music = rng.standard_normal((6, DIMS.music))
        self.rng = np.random.default_rng(seed + 1)

    def quartets(self, n: int, prefix: str, corrupt: bool = False) -> list[Quartet]:
        out = []
        styles = self.rng.integers(0, STYLES, n)
        shown = self.rng.permutation(styles) if corrupt else styles  # corrupted: the accepted track is random
        for i, (style, target) in enumerate(zip(styles, shown, strict=True)):
            other = int((target + 1 + self.rng.integers(0, STYLES - 1)) % STYLES)
            def seg(matrix: np.ndarray, s: int) -> np.ndarray:
                return (self.styles[s] @ matrix + 0.3 * self.rng.standard_normal((4, matrix.shape[1]))).astype(
                    np.float32)
            out.append(Quartet(
                quartet_id=f"{prefix}-{i}", video_id=f"video-{style}-{prefix}-{i % 7}",
                video=seg(self.to_video, int(style)), target_track_id=f"track-{target}",
                target=(self.styles[target] @ self.to_music)[None].repeat(4, 0).astype(np.float32),
                target_meta=TrackMeta(f"T{target}", "A", ()), candidate_track_id=f"track-{other}",
                candidate=(self.styles[other] @ self.to_music)[None].repeat(4, 0).astype(np.float32),
                candidate_meta=TrackMeta(f"T{other}", "A", ()), user_text="something else",
                text_tokens=self.rng.standard_normal((3, DIMS.text)).astype(np.float32),
                extra={"conversation_id": f"conv-{prefix}-{i // 2}", "turn": 2}))
        return out


def _write(path: Path, quartets: list[Quartet], created_at: str | None = None) -> Path:
    with QuartetWriter(path, DIMS, info={"created_at": created_at} if created_at else {}) as writer:
        for q in quartets:
            writer.add(q)
    return path


def _config() -> FusionConfig:
    config = load_config("musechat").model_copy(update={"d_model": 32, "n_heads": 2})
    return config.model_copy(update={"train": config.train.model_copy(update={"batch_size": 32, "lr": 3e-3})})


def test_a_candidate_trained_on_corrupted_labels_is_refused_and_a_clean_one_passes(tmp_path: Path) -> None:
    import torch

    from musechat.catalog.indexer import collection_for
    from musechat.fusion.train import train_variant

    torch.set_num_threads(1)
    world = World()
    base = _write(tmp_path / "base", world.quartets(240, "base"))
    registry = ModelRegistry(tmp_path / "registry")
    train_variant(_config(), base, tmp_path / "live", steps=250, progress=False)
    live = registry.register(tmp_path / "live").version
    registry.mark_live(live, collection_for(live), "first")
    now = datetime.now(UTC).isoformat()
    clean = _write(tmp_path / "quartets-clean" / "q1", world.quartets(160, "fb"), now)
    corrupt = _write(tmp_path / "quartets-corrupt" / "q1", world.quartets(160, "fb", corrupt=True), now)
    # A since-filter in the past takes the sealed dataset; one in the future takes none.
    assert [d.path for d in sealed_datasets(clean.parent, since=datetime(2020, 1, 1, tzinfo=UTC))] == [clean]
    assert sealed_datasets(clean.parent, since=datetime(2999, 1, 1, tzinfo=UTC)) == []

    verdicts = {}
    for name, folder in (("clean", clean.parent), ("corrupt", corrupt.parent)):
        data = merge_and_split(sealed_datasets(folder), base, tmp_path / f"data-{name}", holdout=0.25,
                               min_quartets=16)
        assert data.counts[HELDOUT_FEEDBACK] > 0 and data.counts[HELDOUT_BASE] > 0
        assert sum(data.counts.values()) == 400
        # Held out by conversation: no conversation has quartets on both sides.
        sides = {}
        for split in (TRAIN, HELDOUT_FEEDBACK):
            for shard in (data.split(split)).glob("shard-*/records.jsonl"):
                for line in shard.read_text().splitlines():
                    conv = json.loads(line)["extra"]["conversation_id"]
                    if conv.startswith("conv-fb"):
                        sides.setdefault(conv, set()).add(split)
        assert sides and all(len(s) == 1 for s in sides.values())
        result = retrain(registry, data, tmp_path / f"run-{name}", steps=250, batch_size=32)
        assert result.candidate.parent == live
        assert {d.kind for d in result.candidate.datasets} == {"feedback", "base"}
        gate_sets = [s for s in (build_gate_set(split, data.split(split), [data.split(TRAIN)], 100)
                                 for split in (HELDOUT_FEEDBACK, HELDOUT_BASE)) if s is not None]
        verdicts[name] = run_gate(registry, result.candidate.version, gate_sets, margin=0.05)
        assert registry.get(result.candidate.version).gate == verdicts[name]
    clean_verdict, corrupt_verdict = verdicts["clean"], verdicts["corrupt"]
    assert clean_verdict.passed, clean_verdict.reason
    assert not corrupt_verdict.passed, corrupt_verdict.splits
    assert "worse by" in corrupt_verdict.reason
    base_row = corrupt_verdict.splits[HELDOUT_BASE]
    assert base_row["candidate"]["MRR"] < base_row["live"]["MRR"] - 0.05
    assert base_row["pool_size"] <= 100 and base_row["queries"] > 0
