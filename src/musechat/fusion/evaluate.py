"""The paper's retrieval protocol (MISSION.md) and the report writer.

Per query: a pool of ``pool_size`` distinct tracks, the target plus others drawn with a per-query fixed
seed, never a track of the query's own video. Rank = 1-based position of the target by score; ties are
broken by a per-query random priority (drawn with the pool), so a constant scorer lands at chance
instead of at rank 1. R@K = share of queries with rank <= K (%), MR = median rank, mean rank.
SR (success rate, %): the conversation succeeds if the target is ranked first at turn 1 (video only)
or at turn 2 (video + candidate + words): two tries, chance = 2 / pool_size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musechat.errors import MuseChatError
from musechat.fusion.data import QuartetDataset

if TYPE_CHECKING:
    from musechat.fusion.model import FusionModel

POOL_SIZE = 500
RECALL_KS = (1, 5, 10)
PAPER_TABLE1 = {
    "sum": {"MR": 17, "R@1": 10.58, "R@5": 28.47, "R@10": 40.19, "SR": 21.70},
    "mvp": {"MR": 7, "R@1": 20.71, "R@5": 48.89, "R@10": 63.14, "SR": 20.71},
    "self_attn": {"MR": 5, "R@1": 21.40, "R@5": 50.83, "R@10": 65.29, "SR": 28.37},
    "cross_attn": {"MR": 3, "R@1": 25.71, "R@5": 56.97, "R@10": 71.07, "SR": 31.48},
    "musechat": {"MR": 2, "R@1": 32.79, "R@5": 63.92, "R@10": 76.53, "SR": 40.49},
    "random": {"MR": 250, "R@1": 0.20, "R@5": 1.00, "R@10": 2.00, "SR": 0.40},
}
PAPER_TABLE2 = {
    "no_video": {"MR": 19, "R@1": 8.12, "SR": 8.12},
    "no_candidate": {"MR": 5, "R@1": 22.67, "R@5": 51.53, "R@10": 65.42, "SR": 26.02},
    "musechat": PAPER_TABLE1["musechat"],
}
LABELS = {
    "sum": "Sum-Fusion",
    "mvp": "MVP (video only)",
    "self_attn": "Self-Attn Fusion",
    "cross_attn": "Cross-Attn Fusion",
    "musechat": "MuseChat",
    "random": "Chance (random scores)",
    "no_video": "w/o video",
    "no_candidate": "w/o candidate music",
}


class EvalError(MuseChatError, ValueError):
    """The dataset cannot support the requested protocol."""

    status, code = 422, "eval_unsupported"


def target_rank(scores: np.ndarray, priority: np.ndarray) -> int:
    """1-based rank of the target (index 0) among ``scores``; ties go to the lower ``priority``."""
    s0, p0 = scores[0], priority[0]
    ahead = (scores > s0) | ((scores == s0) & (priority < p0))
    return 1 + int(ahead[1:].sum())


@dataclass(frozen=True)
class Pools:
    """``tracks[q]``: track indices of query q's pool, target first; ``priority[q]``: tie-break order."""

    tracks: np.ndarray
    priority: np.ndarray


def draw_pools(
    query_video: Sequence[str],
    query_target: Sequence[int],
    track_videos: Sequence[set[str]],
    pool_size: int = POOL_SIZE,
    seed: int = 0,
) -> Pools:
    """Pools of ``pool_size`` distinct tracks per query, never a track tied to the query's video.

    ``track_videos[t]`` holds every video track t belongs to. Query q's draw uses the generator seeded
    with (seed, q), so a query's pool does not depend on the other queries.
    """
    n_tracks = len(track_videos)
    by_video: dict[str, list[int]] = {}
    for t, videos in enumerate(track_videos):
        for v in videos:
            by_video.setdefault(v, []).append(t)
    pools = np.empty((len(query_video), pool_size), dtype=np.int64)
    priority = np.empty((len(query_video), pool_size), dtype=np.int64)
    all_tracks = np.arange(n_tracks)
    for q, (video, target) in enumerate(zip(query_video, query_target, strict=True)):
        excluded = set(by_video.get(video, ())) | {int(target)}
        eligible = np.delete(all_tracks, sorted(excluded))
        if len(eligible) < pool_size - 1:
            raise EvalError(
                f"a pool of {pool_size} needs {pool_size - 1} tracks from other videos; query {q} has "
                f"{len(eligible)} (use a larger dataset or a smaller pool size)"
            )
        rng = np.random.default_rng([seed, q])
        pools[q, 0] = target
        pools[q, 1:] = rng.choice(eligible, size=pool_size - 1, replace=False)
        priority[q] = rng.permutation(pool_size)
    return Pools(pools, priority)


def ranks_from_scores(scores: np.ndarray, pools: Pools) -> np.ndarray:
    """``scores`` [Q, P] aligned with ``pools.tracks`` -> 1-based target ranks [Q]."""
    return np.array([target_rank(s, p) for s, p in zip(scores, pools.priority, strict=True)], dtype=np.int64)


def metrics(turn2_ranks: np.ndarray, turn1_ranks: np.ndarray) -> dict[str, float]:
    """MR, mean rank, R@1/5/10 (turn 2, %), R@1 at turn 1 (video alone, %) and SR (% of queries ranked
    first at turn 1 or turn 2)."""
    if turn2_ranks.shape != turn1_ranks.shape or turn2_ranks.size == 0:
        raise EvalError("need the same, non-zero number of turn-1 and turn-2 ranks")
    out: dict[str, float] = {
        "MR": float(np.median(turn2_ranks)),
        "mean_rank": round(float(turn2_ranks.mean()), 2),
    }
    for k in RECALL_KS:
        out[f"R@{k}"] = round(100.0 * float((turn2_ranks <= k).mean()), 2)
    # Turn 1 is served by the same model, so its own figure sits beside the turn-2 ones (issue #12).
    out["turn1_R@1"] = round(100.0 * float((turn1_ranks == 1).mean()), 2)
    out["SR"] = round(100.0 * float(((turn1_ranks == 1) | (turn2_ranks == 1)).mean()), 2)
    return out


def recall_curve(ranks: np.ndarray, max_k: int = 50) -> list[float]:
    return [round(100.0 * float((ranks <= k).mean()), 2) for k in range(1, max_k + 1)]


@dataclass
class EvalSet:
    """A dataset prepared for the protocol: unique target tracks (the catalog) and the queries."""

    ds: QuartetDataset
    track_index: np.ndarray  # quartet row holding each catalog track's features
    query_target: np.ndarray  # catalog index of each query's target
    pools: Pools

    @classmethod
    def build(cls, ds: QuartetDataset, pool_size: int = POOL_SIZE, seed: int = 0) -> EvalSet:
        track_of: dict[str, int] = {}
        track_rows: list[int] = []
        track_videos: list[set[str]] = []
        query_target = []
        for i, rec in enumerate(ds.records):
            tid = rec["target_track_id"]
            if tid not in track_of:
                track_of[tid] = len(track_rows)
                track_rows.append(i)
                track_videos.append(set())
            track_videos[track_of[tid]].add(rec["video_id"])
            query_target.append(track_of[tid])
        pools = draw_pools([r["video_id"] for r in ds.records], query_target, track_videos, pool_size, seed)
        return cls(ds, np.array(track_rows), np.array(query_target), pools)


def evaluate_model(
    model: FusionModel, es: EvalSet, batch_size: int = 256, device: str = "cpu"
) -> tuple[dict[str, float], np.ndarray]:
    """Metrics of one model on the protocol, plus its turn-2 ranks (for recall curves)."""
    import torch

    from musechat.fusion.train import TensorSet

    data = TensorSet(es.ds)
    dev = torch.device(device)
    model = model.to(dev).eval()

    def encode(rows: np.ndarray, fn: Any) -> np.ndarray:
        outs = []
        with torch.inference_mode():
            for i in range(0, len(rows), batch_size):
                idx = torch.from_numpy(rows[i : i + batch_size])
                outs.append(fn(data.batch(idx, dev)).float().cpu().numpy())
        return np.concatenate(outs)

    tracks = encode(es.track_index, lambda b: model.encode_music(b["target"], b["target_mask"]))
    queries = np.arange(len(es.ds))
    q1 = encode(queries, lambda b: model.encode_query(b["video"], b["video_mask"]))
    q2 = encode(
        queries,
        lambda b: model.encode_query(
            b["video"], b["video_mask"], b["candidate"], b["candidate_mask"], b["text"], b["text_mask"]
        ),
    )
    r1 = ranks_from_scores(np.einsum("qd,qpd->qp", q1, tracks[es.pools.tracks]), es.pools)
    r2 = ranks_from_scores(np.einsum("qd,qpd->qp", q2, tracks[es.pools.tracks]), es.pools)
    return metrics(r2, r1), r2


def evaluate_random(es: EvalSet, seed: int = 0) -> tuple[dict[str, float], np.ndarray]:
    """The chance row: independent uniform scores at each turn."""
    rng = np.random.default_rng([seed, 1_000_003])
    shape = es.pools.tracks.shape
    r1 = ranks_from_scores(rng.random(shape), es.pools)
    r2 = ranks_from_scores(rng.random(shape), es.pools)
    return metrics(r2, r1), r2


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def _table(
    rows: Sequence[str], ours: dict[str, dict[str, float]], paper: dict[str, dict[str, float]], cols: Sequence[str]
) -> list[str]:
    head = "| Model | " + " | ".join(f"{c} (ours)" for c in cols) + " | " + " | ".join(f"{c} (paper)" for c in cols)
    lines = [head + " |", "|---" * (1 + 2 * len(cols)) + "|"]
    for name in rows:
        if name not in ours:
            continue
        o, p = ours[name], paper.get(name, {})
        lines.append(
            f"| {LABELS.get(name, name)} | "
            + " | ".join(_fmt(o.get(c)) for c in cols)
            + " | "
            + " | ".join(_fmt(p.get(c)) for c in cols)
            + " |"
        )
    return lines


def write_report(
    out_dir: str | Path,
    variants: dict[str, dict[str, float]],
    curves: dict[str, list[float]],
    pool_size: int,
    notes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """OUT/report.json, OUT/report.md (our Tables 1 and 2 beside the paper's) and OUT/recall_at_k.png."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"pool_size": pool_size, "variants": variants}
    if notes:
        report["notes"] = notes
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    cols1 = ("MR", "mean_rank", "R@1", "R@5", "R@10", "turn1_R@1", "SR")
    md = [
        "# MVT-Fusion evaluation",
        "",
        f"Protocol: pools of {pool_size} tracks per query (target + {pool_size - 1} distinct tracks drawn with a "
        "per-query fixed seed, never from the query's video); rank = 1-based position of the target, ties "
        "broken by a per-query random order. R@K and SR in %. SR = the target is ranked first at turn 1 "
        "(video only) or at turn 2 (video + candidate + words) - our reading of the paper's undefined SR; "
        "chance is 2/pool.",
        "",
        "## Table 1 - music retrieval",
        "",
        *_table(("sum", "mvp", "self_attn", "cross_attn", "musechat", "random"), variants, PAPER_TABLE1, cols1),
        "",
        "## Table 2 - ablations",
        "",
        *_table(("no_video", "no_candidate", "musechat"), variants, PAPER_TABLE2, cols1),
        "",
        "![recall@K](recall_at_k.png)",
        "",
    ]
    if notes:
        md += ["## Notes", "", *[f"- **{k}**: {v}" for k, v in notes.items()], ""]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
    _plot(out / "recall_at_k.png", curves, pool_size)
    return report


def _plot(path: Path, curves: dict[str, list[float]], pool_size: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, curve in curves.items():
        ax.plot(
            range(1, len(curve) + 1), curve, label=LABELS.get(name, name), linestyle="--" if name == "random" else "-"
        )
    ax.set_xlabel("K")
    ax.set_ylabel("recall@K (%)")
    ax.set_title(f"Recall@K, pools of {pool_size} (turn 2)")
    ax.set_xscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def evaluate_checkpoints(
    data_dir: str | Path,
    checkpoints: dict[str, Path],
    report_dir: str | Path,
    pool_size: int = POOL_SIZE,
    seed: int = 0,
    device: str = "cpu",
    with_random: bool = True,
    notes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate named checkpoints (name -> run dir or model.safetensors) on one dataset; write the report."""
    from musechat.fusion.data import resolve_split
    from musechat.fusion.model import load_checkpoint

    es = EvalSet.build(QuartetDataset(resolve_split(data_dir, "test")), pool_size, seed)
    variants: dict[str, dict[str, float]] = {}
    curves: dict[str, list[float]] = {}
    for name, path in checkpoints.items():
        model, _ = load_checkpoint(path, device)
        variants[name], ranks = evaluate_model(model, es, device=device)
        curves[name] = recall_curve(ranks)
    if with_random:
        variants["random"], ranks = evaluate_random(es, seed)
        curves["random"] = recall_curve(ranks)
    return write_report(report_dir, variants, curves, pool_size, notes)


def find_runs(runs_dir: str | Path) -> dict[str, Path]:
    """``runs_dir/<name>/`` folders that hold a finished checkpoint, in the paper's table order."""
    from musechat.fusion.model import VARIANTS

    root = Path(runs_dir)
    found = {p.name: p for p in sorted(root.iterdir()) if (p / "model.safetensors").is_file()} if root.is_dir() else {}
    if not found:
        raise EvalError(f"{runs_dir} holds no run folders with model.safetensors")
    order = [v for v in VARIANTS if v in found] + sorted(set(found) - set(VARIANTS))
    return {name: found[name] for name in order}
