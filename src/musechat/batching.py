"""Micro-batching for request handlers: concurrent callers' items are processed together.

A caller blocks in `submit(item)`; one worker thread takes whatever has queued up (at most `max_batch`
items, waiting at most `max_wait_s` for more after the first) and hands the batch to `process`, which
returns one result per item — a value, or an exception raised in that caller only; when `process` raises
for a whole batch, each item is retried alone, so one caller's poison fails that caller only. When requests come
one at a time, a batch is one item and no wait is added (with `max_wait_s` 0); under concurrency the
queue fills while a batch runs, so batches grow exactly when they pay off: one forward pass and one
engine call for ten turns cost far less CPU than ten of each.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from prometheus_client import Histogram

from musechat.errors import MuseChatError

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")

BATCH_ITEMS = Histogram(
    "musechat_microbatch_items",
    "Items per micro-batch, by batcher.",
    ["batcher"],
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64),
)


class BatcherClosedError(MuseChatError, RuntimeError):
    """The batcher was closed: no new items are accepted."""

    status, code = 503, "shutting_down"


class MicroBatcher(Generic[In, Out]):
    def __init__(
        self,
        name: str,
        process: Callable[[list[In]], Sequence[Out | BaseException]],
        max_batch: int = 16,
        max_wait_s: float = 0.0,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        self.name = name
        self._process = process
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._queue: queue.SimpleQueue[tuple[In, Future[Out]] | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._worker = threading.Thread(target=self._run, name=f"microbatch-{name}", daemon=True)
        self._worker.start()

    def submit(self, item: In) -> Out:
        """Process `item` in the next batch and return its result (or raise its exception)."""
        return self.submit_async(item).result()

    def submit_async(self, item: In) -> Future[Out]:
        if self._closed.is_set():
            raise BatcherClosedError(f"micro-batcher {self.name!r} is closed")
        future: Future[Out] = Future()
        self._queue.put((item, future))
        return future

    def queued(self) -> int:
        """Items waiting for a batch (not counting the batch being processed)."""
        return self._queue.qsize()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop accepting items, finish what is queued, stop the worker."""
        self._closed.set()
        self._queue.put(None)
        self._worker.join(timeout=timeout_s)

    def _next_batch(self) -> tuple[list[tuple[In, Future[Out]]], bool]:
        """Block for one item, then take what is queued (waiting up to max_wait_s). Returns (batch, stop)."""
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        deadline = time.monotonic() + self._max_wait_s
        while len(batch) < self._max_batch:
            remaining = deadline - time.monotonic()
            try:
                entry = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if entry is None:
                return batch, True
            batch.append(entry)
        return batch, False

    def _run(self) -> None:
        while True:
            batch, stop = self._next_batch()
            if batch:
                self._process_batch(batch)
            if stop:
                self._drain()
                return

    def _drain(self) -> None:
        """After close: what was queued before the sentinel is still answered, never dropped."""
        pending = []
        while True:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                break
            if entry is not None:
                pending.append(entry)
        for start in range(0, len(pending), self._max_batch):
            self._process_batch(pending[start : start + self._max_batch])

    def _process_batch(self, batch: list[tuple[In, Future[Out]]]) -> None:
        BATCH_ITEMS.labels(batcher=self.name).observe(len(batch))
        try:
            results = self._results(batch)
        except Exception as error:
            if len(batch) == 1:
                log.exception("micro-batch %s of 1 item failed", self.name)
                batch[0][1].set_exception(error)
                return
            # One caller's poison (an id the engine cannot encode, say) must not fail the others who
            # happened to share its batch: each item is tried alone, so only the culprit's caller fails.
            log.warning("micro-batch %s of %d items failed (%s); retrying each item alone",
                        self.name, len(batch), error)
            for entry in batch:
                self._process_batch([entry])
            return
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    def _results(self, batch: list[tuple[In, Future[Out]]]) -> Sequence[Out | BaseException]:
        items = [item for item, _ in batch]
        results = self._process(items)
        if len(results) != len(items):
            raise RuntimeError(f"{self.name}: process returned {len(results)} results for {len(items)} items")
        return results
