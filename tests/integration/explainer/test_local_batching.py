"""The local backend's micro-batching on the real SmolLM2-135M: rows decoded together (left-padded, one
KV cache) give exactly the text each gives alone, and concurrent streams are batched."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from musechat.explain.backends.base import BackendTimeout
from musechat.explain.backends.local import LocalBackend
from musechat.explain.datasets import facts_examples

from .conftest import open_prompt

pytestmark = pytest.mark.integration
MAX_TOKENS = 8  # enough to show padding-sensitive divergence; each token is a full forward pass on CPU


@pytest.fixture(scope="module")
def backend(base_model: Path) -> LocalBackend:
    return LocalBackend(base_model, max_batch=4, batch_wait_s=0.05)


def test_batched_rows_equal_single_rows(backend: LocalBackend) -> None:
    prompts = [open_prompt(e.track, e.user_words, previous=e.previous, video=e.video)
               for e in facts_examples(3, seed=7)]  # prompts of different lengths: left padding matters
    alone = [backend.generate(p, None, None, MAX_TOKENS, 300.0) for p in prompts]
    together = backend.generate_batch(prompts, [None] * 3, None, MAX_TOKENS, 300.0)
    assert together == alone and all(t.strip() for t in alone)


def test_concurrent_streams_are_served_and_a_timeout_is_per_request(backend: LocalBackend) -> None:
    prompts = [open_prompt(e.track, e.user_words) for e in facts_examples(2, seed=8)]
    results: dict[int, str | Exception] = {}

    def run(i: int, timeout: float) -> None:
        try:
            results[i] = backend.generate(prompts[i], None, None, MAX_TOKENS, timeout)
        except BackendTimeout as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(0, 300.0)), threading.Thread(target=run, args=(1, 1e-4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(results[0], str) and results[0].strip()
    assert isinstance(results[1], BackendTimeout)
