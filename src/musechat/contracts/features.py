"""Compact, JSON-safe feature matrices shared by encoders, events, Qdrant payloads and the fusion model.

Per-segment features travel as float16 little-endian bytes in base64: 12 segments x 1024 dims is 24 KB
raw (32 KB as base64), inside the ≲64 KB per-track budget and far below Kafka's 1 MB record limit.
"""

from __future__ import annotations

import base64
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_SEGMENTS = 12
SEGMENT_SECONDS = 10.0


class FeatureMatrix(BaseModel):
    """A [rows, dim] float matrix stored as float16 bytes (base64)."""

    model_config = ConfigDict(frozen=True)

    dtype: Literal["float16"] = "float16"
    shape: tuple[int, int] = Field(description="[rows, dim], e.g. [segments, feature_dim].")
    data_b64: str = Field(description="Little-endian float16 values, row-major, base64-encoded.")

    @model_validator(mode="after")
    def _check_size(self) -> FeatureMatrix:
        rows, dim = self.shape
        expected = rows * dim * 2
        actual = len(base64.b64decode(self.data_b64, validate=True))
        if actual != expected:
            raise ValueError(f"feature data holds {actual} bytes, shape {self.shape} needs {expected}")
        return self

    @classmethod
    def from_array(cls, array: np.ndarray) -> FeatureMatrix:
        if array.ndim != 2:
            raise ValueError(f"expected a 2-d [rows, dim] array, got shape {array.shape}")
        raw = np.ascontiguousarray(array, dtype="<f2").tobytes()
        return cls(shape=(int(array.shape[0]), int(array.shape[1])), data_b64=base64.b64encode(raw).decode())

    def to_array(self) -> np.ndarray:
        """float32 copy, [rows, dim]."""
        raw = base64.b64decode(self.data_b64)
        return np.frombuffer(raw, dtype="<f2").reshape(self.shape).astype(np.float32)

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * 2
