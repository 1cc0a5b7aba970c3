"""ProcessHost: objects in a spawned child, called through the pipe (a real child process each test)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from musechat.hosting import HostError, ProcessHost

pytestmark = pytest.mark.unit


class _Unpicklable(Exception):
    def __init__(self, code: int, message: str) -> None:  # two arguments: pickle cannot rebuild it
        super().__init__(message)
        self.code = code


class _Counter:
    def __init__(self, start: int) -> None:
        self.value = start
        self.closed_marker: str | None = None

    def add(self, n: int, *, times: int = 1) -> int:
        self.value += n * times
        return self.value

    def pid(self) -> int:
        return os.getpid()

    def numbers(self, n: int) -> Iterator[int]:
        yield from range(n)

    def fail(self, message: str) -> None:
        raise KeyError(message)

    def fail_oddly(self) -> None:
        raise _Unpicklable(7, "odd")

    def close(self) -> None:
        if self.closed_marker:
            Path(self.closed_marker).write_text("closed")

    def mark_close_at(self, path: str) -> None:
        self.closed_marker = path


def _build(start: int) -> dict[str, object]:
    return {"counter": _Counter(start)}


def _build_broken() -> dict[str, object]:
    raise ValueError("no engine here")


@pytest.fixture
def host() -> Iterator[ProcessHost]:
    h = ProcessHost("test-host", _build, 10)
    yield h
    h.close()


def test_calls_run_in_the_child_and_keep_its_state(host: ProcessHost) -> None:
    assert host.call("counter", "pid") != os.getpid()
    assert host.call("counter", "add", 5) == 15
    assert host.call("counter", "add", 1, times=3) == 18


def test_exceptions_come_back_with_their_type(host: ProcessHost) -> None:
    with pytest.raises(KeyError, match="missing"):
        host.call("counter", "fail", "missing")
    with pytest.raises(HostError, match="_Unpicklable: odd"):
        host.call("counter", "fail_oddly")
    assert host.call("counter", "add", 1) == 11  # the child goes on serving


def test_iterators_are_pulled_in_chunks_and_may_be_left_early(host: ProcessHost) -> None:
    assert list(host.call("counter", "numbers", 1000)) == list(range(1000))  # several chunks
    partial = host.call("counter", "numbers", 1000)
    assert [next(partial) for _ in range(3)] == [0, 1, 2]
    partial.close()  # the child discards its side
    assert list(host.call("counter", "numbers", 0)) == []


def test_close_closes_the_objects_and_the_child_exits(tmp_path: Path) -> None:
    marker = tmp_path / "closed"
    h = ProcessHost("test-host", _build, 0)
    h.call("counter", "mark_close_at", str(marker))
    pid = h.pid
    h.close()
    assert marker.read_text() == "closed"
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(HostError, match="closed"):
        h.call("counter", "add", 1)
    h.close()  # idempotent


def test_a_failing_build_fails_the_start() -> None:
    with pytest.raises(ValueError, match="no engine here"):
        ProcessHost("test-host", _build_broken)


def test_a_dead_child_gives_a_clear_error(host: ProcessHost) -> None:
    assert host.pid is not None
    os.kill(host.pid, signal.SIGKILL)
    with pytest.raises(HostError, match="exited"):
        host.call("counter", "add", 1)


def test_the_child_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A parent killed with SIGKILL cannot close its host: the child must notice and exit by itself (it
    used to live on, holding the store's shard locks a restarted server needed)."""
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "sys.path.insert(0, '.')\n"
        "from musechat.hosting import ProcessHost\n"
        "from tests.unit.test_hosting import _build\n"
        "if __name__ == '__main__':\n"
        "    host = ProcessHost('orphan-test', _build, 0)\n"
        "    print(host.call('counter', 'pid'), flush=True)\n"
        "    time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(child, 0)  # alive
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not _alive(child):
                return
            time.sleep(0.2)
        os.kill(child, signal.SIGKILL)
        pytest.fail(f"child {child} outlived its killed parent")
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    """Running, not a zombie: an orphan that exited stays a zombie where PID 1 does not reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
