from __future__ import annotations

import itertools

import numpy as np
import pytest

from musechat.fusion.evaluate import (
    EvalError,
    draw_pools,
    metrics,
    ranks_from_scores,
    recall_curve,
    target_rank,
)

pytestmark = pytest.mark.unit


def test_rank_counts_strictly_better_tracks() -> None:
    scores = np.array([0.5, 0.9, 0.1, 0.7, 0.2])
    assert target_rank(scores, np.arange(5)) == 3  # 0.9 and 0.7 beat the target


def test_ties_are_broken_by_priority_not_in_the_targets_favour() -> None:
    scores = np.array([0.5, 0.5, 0.5, 0.9])
    # target priority 2; tied tracks have priorities 0 and 3 -> one of them goes ahead, plus the 0.9
    assert target_rank(scores, np.array([2, 0, 3, 1])) == 3
    assert target_rank(scores, np.array([0, 1, 2, 3])) == 2
    assert target_rank(scores, np.array([3, 1, 2, 0])) == 4


def test_constant_scores_land_at_chance_not_at_rank_one() -> None:
    pools = draw_pools([f"v{i}" for i in range(600)], list(range(600)), [{f"v{i}"} for i in range(600)], 500, seed=3)
    ranks = ranks_from_scores(np.zeros(pools.tracks.shape), pools)
    assert 200 < np.median(ranks) < 300
    assert (ranks == 1).mean() < 0.02


def test_pools_never_hold_a_track_of_the_same_video() -> None:
    # tracks 0..9; track 3 belongs to videos a and b; track 4 belongs to video a too
    videos = [{f"v{t}"} for t in range(10)]
    videos[3] |= {"a", "b"}
    videos[4].add("a")
    pools = draw_pools(["a", "b", "v5"], [3, 3, 5], videos, pool_size=8, seed=1)
    assert pools.tracks[0, 0] == 3 and 4 not in pools.tracks[0, 1:] and 3 not in pools.tracks[0, 1:]
    assert 3 not in pools.tracks[1, 1:]
    for row in pools.tracks:
        assert len(set(row.tolist())) == 8
    assert sorted(pools.priority[0].tolist()) == list(range(8))


def test_pools_are_fixed_per_query() -> None:
    videos = [{f"v{t}"} for t in range(50)]
    a = draw_pools(["v1", "v2"], [1, 2], videos, 10, seed=7)
    b = draw_pools(["v9", "v1", "v2"], [9, 1, 2], videos, 10, seed=7)
    assert np.array_equal(a.tracks[0], draw_pools(["v1"], [1], videos, 10, seed=7).tracks[0])
    assert not np.array_equal(a.tracks, b.tracks[1:])  # the seed is (seed, query position)
    assert np.array_equal(a.tracks, draw_pools(["v1", "v2"], [1, 2], videos, 10, seed=7).tracks)


def test_too_few_tracks_is_a_clear_error() -> None:
    with pytest.raises(EvalError, match="needs 9 tracks"):
        draw_pools(["v0"], [0], [{f"v{t}"} for t in range(5)], 10)


def test_metrics_hand_computed() -> None:
    turn2 = np.array([1, 2, 3, 10, 600])
    turn1 = np.array([5, 1, 1, 10, 1])
    m = metrics(turn2, turn1)
    assert m["MR"] == 3.0
    assert m["mean_rank"] == 123.2
    assert m["R@1"] == 20.0 and m["R@5"] == 60.0 and m["R@10"] == 80.0
    assert m["turn1_R@1"] == 60.0  # queries 1, 2, 4
    assert m["SR"] == 80.0  # queries 0 (turn 2), 1, 2, 4 (turn 1)


def test_sr_equals_r1_when_both_turns_rank_alike() -> None:
    ranks = np.array([1, 4, 1, 2])
    assert metrics(ranks, ranks)["SR"] == metrics(ranks, ranks)["R@1"] == 50.0


def test_recall_curve_is_monotone() -> None:
    curve = recall_curve(np.array([1, 3, 3, 7]), max_k=8)
    assert curve[:3] == [25.0, 25.0, 75.0] and curve[-1] == 100.0
    assert all(a <= b for a, b in itertools.pairwise(curve))
