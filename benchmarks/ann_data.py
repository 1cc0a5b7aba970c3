"""The ANN benchmark data sets, shared by benchmarks/store_bench.py and the store's recall tests.

Clustered: 256-d unit vectors around 1,000 Gaussian centres (centre: a random unit vector; each point
adds isotropic noise of norm ~`spread`, then is normalised: cos(point, centre) ~ 1/sqrt(1 + spread^2)
= 0.45 at spread 2). Embeddings look like this (many near neighbours inside a cluster, few across), and
it is what the issue's figures use. Uniform: unit vectors drawn uniformly on the sphere, the hardest
case for a graph index (no structure), kept as the worst case. Queries are fresh points of the same
distribution (never points of the index), so recall is not flattered by exact matches.
"""

from __future__ import annotations

import numpy as np

DIM = 256
CLUSTERS = 1000
SPREAD = 2.0


def _normalise(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32, copy=False)


def centres(seed: int, dim: int = DIM, clusters: int = CLUSTERS) -> np.ndarray:
    return _normalise(np.random.default_rng(seed).standard_normal((clusters, dim), dtype=np.float32))


def clustered(n: int, seed: int, *, dim: int = DIM, clusters: int = CLUSTERS, spread: float = SPREAD,
              centre_seed: int = 0, chunk: int = 100_000) -> np.ndarray:
    """n clustered unit vectors (float32), built in chunks so 1M points never need a float64 copy."""
    c = centres(centre_seed, dim, clusters)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        noise = rng.standard_normal((m, dim), dtype=np.float32) * np.float32(spread / np.sqrt(dim))
        out[start:start + m] = _normalise(c[rng.integers(0, clusters, m)] + noise)
    return out


def uniform(n: int, seed: int, *, dim: int = DIM, chunk: int = 100_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        out[start:start + m] = _normalise(rng.standard_normal((m, dim), dtype=np.float32))
    return out


def exact_top_k(data: np.ndarray, queries: np.ndarray, k: int, mask: np.ndarray | None = None,
                chunk: int = 20_000) -> np.ndarray:
    """Indices of the k nearest (cosine = dot on unit vectors) per query, best first, by exact scan in chunks
    (small ones: the benchmark measures build peaks after this, so it must not set the peak itself)."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(data), chunk):
        scores = queries @ data[start:start + chunk].T
        if mask is not None:
            scores[:, ~mask[start:start + chunk]] = -np.inf
        kk = min(k, scores.shape[1])
        top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        both_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, axis=1)], axis=1)
        both_ids = np.concatenate([best_ids, top + start], axis=1)
        keep = np.argpartition(-both_scores, k - 1, axis=1)[:, :k]
        best_scores = np.take_along_axis(both_scores, keep, axis=1)
        best_ids = np.take_along_axis(both_ids, keep, axis=1)
    order = np.argsort(-best_scores, axis=1)
    return np.take_along_axis(best_ids, order, axis=1)


def recall_at_k(found: list[list[int]] | np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(map(int, f[:k])) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)]))
