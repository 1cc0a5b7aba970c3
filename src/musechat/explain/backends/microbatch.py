"""Micro-batching shared by the in-process backends: concurrent requests are queued as jobs, a worker
takes those that can share one decoding call (the same key) and runs them together, and each caller reads
its own pieces from its job's queue as they are decoded."""

from __future__ import annotations

import queue
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field

import numpy as np

from musechat.explain.backends.base import BackendError, GeneratingBackend, GenerationRequest, checked_request
from musechat.explain.prompt import ExplainPrompt


@dataclass
class BatchJob:
    request: GenerationRequest
    deadline: float
    out: queue.SimpleQueue[str | BaseException | None] = field(default_factory=queue.SimpleQueue)

    def pieces(self) -> Iterator[str]:
        """The decoded pieces until the end marker; a batch's failure is raised here, in the caller."""
        while (item := self.out.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item


class MicroBatcher:
    """Collects concurrent jobs for `wait_s` after the first arrives (at most `max_batch`, the same `key`:
    the adapter by default) and runs them as one batch on a worker thread; `workers` threads take batches
    from one shared pending list (the local backend has one: its model runs one batch at a time;
    CTranslate2 runs several in parallel). A job of another key stays in the list for the next free worker,
    so distinct keys (CTranslate2's ban lists) decode side by side, not queued behind one worker."""

    def __init__(self, run: Callable[[list[BatchJob]], None], max_batch: int, wait_s: float, workers: int = 1,
                 key: Callable[[BatchJob], Hashable] = lambda job: job.request.adapter) -> None:
        self._run = run
        self._key = key
        self._max_batch = max_batch
        self._wait_s = wait_s
        self._pending: list[BatchJob] = []
        self._changed = threading.Condition()
        self._threads = [threading.Thread(target=self._loop, name=f"explainer-batcher-{i}", daemon=True)
                         for i in range(workers)]  # fmt: skip
        for thread in self._threads:
            thread.start()

    def submit(self, job: BatchJob) -> None:
        with self._changed:
            self._pending.append(job)
            self._changed.notify_all()

    def _take(self) -> list[BatchJob]:
        with self._changed:
            self._changed.wait_for(lambda: bool(self._pending))
            first = self._pending.pop(0)
            key, batch = self._key(first), [first]
            until = time.monotonic() + self._wait_s
            while True:
                same = [job for job in self._pending if self._key(job) == key][: self._max_batch - len(batch)]
                for job in same:
                    self._pending.remove(job)
                batch += same
                left = until - time.monotonic()
                if len(batch) >= self._max_batch or left <= 0:
                    return batch
                self._changed.wait(left)

    def _loop(self) -> None:
        while True:
            batch = self._take()
            try:
                self._run(batch)
            except BaseException as exc:  # a failed batch fails its jobs, never the worker
                error = exc if isinstance(exc, BackendError) else BackendError(f"{type(exc).__name__}: {exc}")
                for job in batch:
                    job.out.put(error)


class MicroBatchedBackend(GeneratingBackend):
    """A backend whose requests go through a `MicroBatcher` (set `_batcher` and `_max_batch` in
    `__init__`): `_check` refuses what the backend cannot run before a request is queued."""

    _batcher: MicroBatcher
    _max_batch: int

    @abstractmethod
    def _check(self, request: GenerationRequest) -> None: ...

    def _stream(self, request: GenerationRequest) -> Iterator[str]:
        self._check(request)
        job = BatchJob(request, time.monotonic() + request.timeout)
        self._batcher.submit(job)
        yield from job.pieces()

    def generate_batch(self, prompts: list[ExplainPrompt], music: list[np.ndarray | None], adapter: str | None,
                       max_tokens: int, timeout: float) -> list[str]:
        """Many prompts (evaluation), queued `max_batch` at a time; `timeout` applies to each job."""
        out: list[str] = []
        for start in range(0, len(prompts), self._max_batch):
            chunk = zip(prompts[start : start + self._max_batch], music[start : start + self._max_batch], strict=True)
            jobs = [BatchJob(checked_request(p, m, adapter, max_tokens, timeout), time.monotonic() + timeout)
                    for p, m in chunk]  # fmt: skip
            for job in jobs:
                self._check(job.request)
                self._batcher.submit(job)
            out += ["".join(job.pieces()) for job in jobs]
        return out
