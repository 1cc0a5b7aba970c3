"""The gateway's text-encoding cache: repeats skip the encoder, order and duplicates are kept, the cache is
bounded (least recently used goes first) and entries expire."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from musechat.contracts.features import FeatureMatrix
from musechat.contracts.text import TextEncoding
from musechat.gateway.ports import CachedTextEncoder

pytestmark = pytest.mark.unit


class RecordingEncoder:
    """A deterministic stand-in for the text port (the cache is under test, not the model): one token
    row per character code, and a log of every batch it was asked to encode."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def encode(self, texts: list[str]) -> list[TextEncoding]:
        self.calls.append(list(texts))
        out = []
        for text in texts:
            tokens = np.full((2, 4), float(len(text)), dtype=np.float32)
            out.append(TextEncoding(tokens=FeatureMatrix.from_array(tokens), length=2, truncated=False,
                                    pooled=[0.5] * 4, feature_model=f"recording@{text}"))
        return out


def encode(cache: CachedTextEncoder, texts: list[str]) -> list[TextEncoding]:
    return asyncio.run(cache.encode(texts))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_repeats_are_served_from_the_cache_in_order() -> None:
    inner = RecordingEncoder()
    cache = CachedTextEncoder(inner, max_entries=8)
    first = encode(cache, ["slower", "no vocals"])
    again = encode(cache, ["no vocals", "more guitar", "slower", "no vocals"])
    assert inner.calls == [["slower", "no vocals"], ["more guitar"]]
    assert [e.feature_model for e in again] == ["recording@no vocals", "recording@more guitar",
                                                "recording@slower", "recording@no vocals"]
    assert again[0] is first[1] and again[2] is first[0]


def test_duplicates_in_one_batch_are_encoded_once() -> None:
    inner = RecordingEncoder()
    out = encode(CachedTextEncoder(inner), ["faster", "faster", "calmer"])
    assert inner.calls == [["faster", "calmer"]]
    assert [e.feature_model for e in out] == ["recording@faster", "recording@faster", "recording@calmer"]


def test_least_recently_used_is_evicted_first() -> None:
    inner = RecordingEncoder()
    cache = CachedTextEncoder(inner, max_entries=2)
    encode(cache, ["a"])
    encode(cache, ["b"])
    encode(cache, ["a"])  # a is now the most recent
    encode(cache, ["c"])  # evicts b
    assert len(cache) == 2
    encode(cache, ["a", "b"])
    assert inner.calls == [["a"], ["b"], ["c"], ["b"]]


def test_entries_expire() -> None:
    inner, clock = RecordingEncoder(), Clock()
    cache = CachedTextEncoder(inner, max_age_s=60, clock=clock)
    encode(cache, ["slower"])
    clock.now = 59
    encode(cache, ["slower"])
    clock.now = 61
    encode(cache, ["slower"])
    assert inner.calls == [["slower"], ["slower"]]


def test_bad_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        CachedTextEncoder(RecordingEncoder(), max_entries=0)
    with pytest.raises(ValueError, match="max_age_s"):
        CachedTextEncoder(RecordingEncoder(), max_age_s=0)
