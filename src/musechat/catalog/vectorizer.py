"""Track vectors for the `tracks` collection: a 256-d embedding of a track's per-segment features.

`FixedProjection` is the stand-in used until a fusion checkpoint is configured: a seeded Gaussian
projection of the masked mean of the segment features. It keeps the pipeline honest end to end (same
features → same vector) and says what it is in its `version`, so a later re-index can find and replace it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

INDEX_DIM = 256


class TrackVectorizer(Protocol):
    version: str

    def embed(self, features: np.ndarray) -> np.ndarray:
        """[segments, feature_dim] → L2-normalized [INDEX_DIM] float32."""
        ...

    def embed_many(self, batch: list[np.ndarray]) -> np.ndarray:
        """Several tracks at once → [len(batch), INDEX_DIM]."""
        ...


class FixedProjection:
    """Seeded Gaussian projection of the masked-mean segment features; the matrix for an input width is
    drawn on first use from (seed, width), so the same features always give the same vector."""

    def __init__(self, seed: int = 0, out_dim: int = INDEX_DIM) -> None:
        self._seed = seed
        self._out_dim = out_dim
        self._weights: dict[int, np.ndarray] = {}
        self.version = f"fixed-projection-v1(seed={seed},out={out_dim})"

    def _matrix(self, feature_dim: int) -> np.ndarray:
        if feature_dim not in self._weights:
            rng = np.random.default_rng([self._seed, feature_dim])
            self._weights[feature_dim] = (
                rng.standard_normal((feature_dim, self._out_dim)) / np.sqrt(self._out_dim)
            ).astype(np.float32)
        return self._weights[feature_dim]

    def embed(self, features: np.ndarray) -> np.ndarray:
        if features.ndim != 2 or features.shape[0] == 0:
            raise ValueError(f"expected [segments, feature_dim] features, got shape {features.shape}")
        pooled = features.astype(np.float32).mean(axis=0)
        # Centre the pooled features so different tracks spread over the sphere instead of clustering
        # around the (large) shared mean of encoder activations.
        vector = (pooled - pooled.mean()) @ self._matrix(features.shape[1])
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            raise ValueError("features are constant: cannot build a track vector")
        return (vector / norm).astype(np.float32)

    def embed_many(self, batch: list[np.ndarray]) -> np.ndarray:
        return np.stack([self.embed(features) for features in batch])
