"""The ANN ground truth the recall test and the store benchmark rely on: chunked exact top-k equals a plain
full sort (across chunk boundaries and with a filter mask), and the clustered data is what it claims."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.ann_data import CLUSTERS, DIM, centres, clustered, exact_top_k, recall_at_k, uniform

pytestmark = pytest.mark.unit


def test_exact_top_k_matches_a_full_sort_across_chunks_and_masks() -> None:
    data, queries = uniform(1_000, seed=1, dim=16), uniform(20, seed=2, dim=16)
    mask = np.random.default_rng(3).random(1_000) < 0.1
    for m in (None, mask):
        scores = queries @ data.T
        if m is not None:
            scores[:, ~m] = -np.inf
        expected = np.argsort(-scores, axis=1)[:, :10]
        got = exact_top_k(data, queries, 10, mask=m, chunk=97)  # chunks that do not divide N
        assert np.array_equal(got, expected)
        if m is not None:
            assert m[got].all()
    assert recall_at_k(got, expected) == 1.0
    assert recall_at_k(got[:, ::-1][:, :5].tolist(), expected) == pytest.approx(0.5)


def test_clustered_points_are_unit_vectors_near_their_centres() -> None:
    x = clustered(2_000, seed=5)
    assert x.shape == (2_000, DIM) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    best = (x @ centres(0).T).max(axis=1)
    # spread 2: cos(point, its centre) ~ 1/sqrt(1 + 4) = 0.45, far above any other centre (~0 in 256-d)
    assert 0.38 < float(np.median(best)) < 0.52
    assert centres(0).shape == (CLUSTERS, DIM)
    assert np.array_equal(clustered(50, seed=5), clustered(50, seed=5))
