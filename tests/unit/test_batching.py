from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from musechat.batching import BatcherClosedError, MicroBatcher

pytestmark = pytest.mark.unit


class Recorder:
    """Doubles its inputs; negative inputs fail alone; records every batch it saw."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.gate = gate
        self.entered = threading.Event()

    def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(5)
        self.batches.append(list(items))
        return [ValueError(f"negative: {i}") if i < 0 else 2 * i for i in items]


def test_a_lone_item_is_processed_at_once_as_a_batch_of_one() -> None:
    recorder = Recorder()
    batcher = MicroBatcher("t", recorder, max_batch=8)
    try:
        assert batcher.submit(21) == 42
        assert recorder.batches == [[21]]
    finally:
        batcher.close()


def test_items_queued_while_a_batch_runs_form_the_next_batch() -> None:
    gate = threading.Event()
    recorder = Recorder(gate)
    batcher = MicroBatcher("t", recorder, max_batch=4)
    try:
        first = batcher.submit_async(1)  # the worker takes it and blocks on the gate
        assert recorder.entered.wait(5)
        rest = [batcher.submit_async(i) for i in range(2, 8)]
        gate.set()
        assert first.result(5) == 2
        assert [f.result(5) for f in rest] == [4, 6, 8, 10, 12, 14]
        assert recorder.batches == [[1], [2, 3, 4, 5], [6, 7]]  # max_batch caps a batch
    finally:
        batcher.close()


def test_one_items_error_reaches_only_its_caller() -> None:
    batcher = MicroBatcher("t", Recorder(), max_batch=8, max_wait_s=0.05)
    try:
        with ThreadPoolExecutor(3) as pool:
            good, bad, other = (pool.submit(batcher.submit, i) for i in (1, -1, 3))
            assert good.result(5) == 2 and other.result(5) == 6
            with pytest.raises(ValueError, match="negative: -1"):
                bad.result(5)
    finally:
        batcher.close()


def test_a_failing_batch_fails_each_caller_and_the_worker_goes_on() -> None:
    calls = {"n": 0}

    def flaky(items: list[int]) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("engine down")
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher("t", flaky)
    try:
        with pytest.raises(RuntimeError, match="engine down"):
            batcher.submit(1)
        assert batcher.submit(2) == 2
    finally:
        batcher.close()


def test_a_wrong_number_of_results_is_an_error_not_a_mixup() -> None:
    def loses_one(items: list[int]) -> list[int]:
        return items[:-1]

    batcher: MicroBatcher[int, int] = MicroBatcher("t", loses_one)
    try:
        with pytest.raises(RuntimeError, match="0 results for 1 items"):
            batcher.submit(1)
    finally:
        batcher.close()


def test_max_wait_gathers_callers_arriving_close_together() -> None:
    recorder = Recorder()
    batcher = MicroBatcher("t", recorder, max_batch=8, max_wait_s=0.5)
    try:
        futures = [batcher.submit_async(i) for i in range(3)]
        assert [f.result(5) for f in futures] == [0, 2, 4]
        assert recorder.batches == [[0, 1, 2]]
    finally:
        batcher.close()


def test_close_answers_what_was_queued_and_refuses_new_items() -> None:
    gate = threading.Event()
    recorder = Recorder(gate)
    batcher = MicroBatcher("t", recorder, max_batch=2)
    futures = [batcher.submit_async(i) for i in range(5)]
    closer = threading.Thread(target=batcher.close)
    closer.start()
    gate.set()
    closer.join(5)
    assert [f.result(5) for f in futures] == [0, 2, 4, 6, 8]
    with pytest.raises(BatcherClosedError, match="closed"):
        batcher.submit(1)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher("t", Recorder(), max_batch=0)
    with pytest.raises(ValueError, match="max_wait_s"):
        MicroBatcher("t", Recorder(), max_wait_s=-1)


def test_a_poison_item_fails_only_its_own_caller_not_its_batch_mates() -> None:
    """A process that raises for the whole batch when any item is poison (as an engine does for an id it
    cannot encode): the batch is retried item by item and only the poison's caller sees the error."""
    gate = threading.Event()
    seen: list[list[int]] = []

    def strict(items: list[int]) -> list[int]:
        gate.wait(5)
        seen.append(list(items))
        if any(i < 0 for i in items):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return [2 * i for i in items]

    batcher: MicroBatcher[int, int] = MicroBatcher("t", strict, max_batch=8)
    try:
        first = batcher.submit_async(1)
        time.sleep(0.05)  # the worker holds item 1 at the gate; the rest queue into one batch
        futures = [batcher.submit_async(i) for i in (2, -1, 3)]
        gate.set()
        assert first.result(5) == 2
        assert futures[0].result(5) == 4 and futures[2].result(5) == 6
        with pytest.raises(UnicodeEncodeError):
            futures[1].result(5)
        assert [2, -1, 3] in seen  # they did share a batch, which failed as a whole
    finally:
        batcher.close()
