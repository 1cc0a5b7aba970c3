"""The explainer backends' micro-batcher: same-key jobs share a batch, other keys go to free workers."""

from __future__ import annotations

import threading
import time

import pytest

from musechat.explain.backends.base import GenerationRequest
from musechat.explain.backends.microbatch import BatchJob, MicroBatcher
from musechat.explain.prompt import ExplainPrompt

pytestmark = pytest.mark.unit


def _job(adapter: str, banned: tuple[str, ...] = ()) -> BatchJob:
    prompt = ExplainPrompt(system="s", user="u", banned=banned)
    return BatchJob(GenerationRequest(prompt, None, adapter, 8, 5.0), time.monotonic() + 5.0)


def _finish(batch: list[BatchJob]) -> None:
    for job in batch:
        job.out.put(None)


def test_jobs_of_one_key_arriving_together_share_a_batch() -> None:
    batches: list[int] = []

    def run(batch: list[BatchJob]) -> None:
        batches.append(len(batch))
        _finish(batch)

    batcher = MicroBatcher(run, max_batch=4, wait_s=0.2)
    jobs = [_job("a") for _ in range(3)]
    for job in jobs:
        batcher.submit(job)
    for job in jobs:
        assert job.out.get(timeout=5) is None
    assert batches == [3]


def test_other_keys_run_side_by_side_on_free_workers() -> None:
    """Two ban lists, two workers: both batches must be running at once to pass the barrier (the old
    batcher held the second key on the first worker and ran it afterwards)."""
    both_running = threading.Barrier(2, timeout=5)
    keys: list[tuple[str, ...]] = []

    def run(batch: list[BatchJob]) -> None:
        keys.append(batch[0].request.prompt.banned)
        both_running.wait()
        _finish(batch)

    batcher = MicroBatcher(run, max_batch=4, wait_s=0.05, workers=2,
                       key=lambda job: (job.request.adapter, job.request.prompt.banned))  # fmt: skip
    jobs = [_job("a", ("slow",)), _job("a", ("fast",))]
    for job in jobs:
        batcher.submit(job)
    for job in jobs:
        assert job.out.get(timeout=10) is None
    assert sorted(keys) == [("fast",), ("slow",)]


def test_a_failed_batch_fails_its_jobs_and_the_worker_goes_on() -> None:
    def run(batch: list[BatchJob]) -> None:
        if batch[0].request.adapter == "broken":
            raise RuntimeError("boom")
        _finish(batch)

    batcher = MicroBatcher(run, max_batch=2, wait_s=0.0)
    bad, good = _job("broken"), _job("fine")
    batcher.submit(bad)
    error = bad.out.get(timeout=5)
    assert isinstance(error, Exception) and "boom" in str(error)
    batcher.submit(good)
    assert good.out.get(timeout=5) is None
