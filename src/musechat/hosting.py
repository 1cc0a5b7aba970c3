"""Objects that live in a child process and are called through a pipe.

Why: Qdrant Edge's search holds the interpreter lock, as does the query tower's Python, so in one process
the engine, the fusion model, the HTTP stack and the Kafka client all take turns on one core however many
the node has. A `ProcessHost` builds the engine-side objects (the store, the in-process ranker) in a
spawned child; the parent calls their methods by name, and while the child computes, the parent's
interpreter is free to parse, route and publish the next requests on another core.

Protocol: one duplex pipe, pickled (target, method, args, kwargs) in, ("ok", value) / ("err", exception) /
("iter", handle) out. Calls are serialised by one lock: the objects behind it were serialised by the
engine's own lock before, and the ranker batches concurrent turns itself. An iterator result (a store
scroll) stays in the child and is pulled in chunks. The child exits when the parent closes the host, or
when the pipe breaks because the parent died: it never outlives its parent.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from musechat.errors import MuseChatError

log = logging.getLogger(__name__)

Objects = dict[str, Any]
_ITERATORS = "__iterators__"
_CHUNK = 256  # items per pull of a remote iterator


class HostError(MuseChatError, RuntimeError):
    """The host process could not start, exited, or answered with something that cannot cross the pipe."""

    status, code = 503, "engine_unavailable"


class ProcessHost:
    """A spawned child process holding the objects `build(*args)` returns, by name.

    `build` and `args` must be picklable (a module-level function and plain settings): the child starts
    from a fresh interpreter, so nothing of the parent's state (threads, open files, torch pools) leaks in.
    """

    def __init__(self, name: str, build: Callable[..., Objects], *args: Any, start_timeout_s: float = 300.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._name = name
        self._conn, child_end = context.Pipe(duplex=True)
        self._process = context.Process(target=_serve, args=(child_end, build, args), name=name, daemon=True)
        self._process.start()
        child_end.close()  # the child's end lives in the child only: its death breaks the pipe here
        self._lock = threading.Lock()
        self._closed = False
        if not self._conn.poll(start_timeout_s):
            self._stop(0.0)
            raise HostError(f"the {name} process did not start within {start_timeout_s:.0f} s")
        try:
            status, value = self._receive()
        except HostError:
            self._stop(5.0)
            raise
        if status == "err":
            self._stop(5.0)
            raise value

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def call(self, target: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """`objects[target].method(*args, **kwargs)` in the child: its value, or its exception raised here."""
        with self._lock:
            if self._closed:
                raise HostError(f"the {self._name} process was closed")
            try:
                self._conn.send((target, method, args, kwargs))
            except (OSError, ValueError) as error:
                raise self._exited() from error
            status, value = self._receive()
        if status == "err":
            raise value
        if status == "iter":
            return self._pull(value)
        return value

    def close(self, timeout_s: float = 30.0) -> None:
        """Close the child's objects (in reverse order of building) and wait for it to exit."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(None)
        self._stop(timeout_s)

    def _receive(self) -> tuple[str, Any]:
        try:
            raw = self._conn.recv_bytes()
        except (EOFError, OSError) as error:
            raise self._exited() from error
        try:
            reply: tuple[str, Any] = pickle.loads(raw)
        except Exception as error:  # an exception or value whose class cannot be rebuilt here
            return "err", HostError(f"the {self._name} process answered with an unreadable value: {error}")
        return reply

    def _exited(self) -> HostError:
        self._process.join(timeout=1.0)
        return HostError(f"the {self._name} process exited (exit code {self._process.exitcode})")

    def _pull(self, handle: int) -> Iterator[Any]:
        try:
            while chunk := self.call(_ITERATORS, "next_chunk", handle):
                yield from chunk
        finally:  # also when the caller stops early: the child drops its iterator
            with contextlib.suppress(HostError):
                self.call(_ITERATORS, "discard", handle)

    def _stop(self, timeout_s: float) -> None:
        self._process.join(timeout=timeout_s)
        if self._process.is_alive():
            log.warning("the %s process did not exit in %.0f s: terminating it", self._name, timeout_s)
            self._process.terminate()
            self._process.join(timeout=5.0)
        self._conn.close()


class _Iterators:
    """Iterators the child returned, pulled by the parent chunk by chunk."""

    def __init__(self) -> None:
        self._open: dict[int, Iterator[Any]] = {}
        self._ids = itertools.count()

    def add(self, iterator: Iterator[Any]) -> int:
        handle = next(self._ids)
        self._open[handle] = iterator
        return handle

    def next_chunk(self, handle: int) -> list[Any]:
        chunk = list(itertools.islice(self._open[handle], _CHUNK))
        if not chunk:
            self._open.pop(handle, None)
        return chunk

    def discard(self, handle: int) -> None:
        iterator = self._open.pop(handle, None)
        if iterator is not None and hasattr(iterator, "close"):
            iterator.close()


def _portable(error: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else a HostError carrying its text."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return HostError(f"{type(error).__name__}: {error}")
    return error


def exit_with_parent(poll_s: float = 1.0) -> threading.Thread:
    """Exit this process when its parent dies (is reparented away). After a kill -9 of a server the
    children it spawned lived on: the gateway's worker kept its port and its engine process kept the
    store's shard locks, so a restarted server could neither bind nor open the store. A polling thread,
    not the kernel's parent-death signal: that fires when the *thread* that spawned the child exits, and
    the spawning thread here may be a short-lived one."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(70)

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread


def _serve(conn: Connection, build: Callable[..., Objects], args: tuple[Any, ...]) -> None:
    # Ctrl-C reaches the whole process group: the parent decides when the child stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    try:
        objects = build(*args)
    except BaseException as error:
        conn.send(("err", _portable(error)))
        return
    iterators = _Iterators()
    objects[_ITERATORS] = iterators
    gc.collect()
    gc.freeze()  # what start-up loaded (torch, the models) is never garbage: keep full collections short
    conn.send(("ok", None))
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the parent is gone
                break
            if message is None:
                break
            target, method, call_args, call_kwargs = message
            try:
                result = getattr(objects[target], method)(*call_args, **call_kwargs)
                if isinstance(result, Iterator):
                    conn.send(("iter", iterators.add(result)))
                else:
                    conn.send(("ok", result))
            except Exception as error:
                conn.send(("err", _portable(error)))
    finally:
        for name, obj in reversed(list(objects.items())):
            close = getattr(obj, "close", None)
            if name != _ITERATORS and callable(close):
                try:
                    close()
                except Exception:
                    log.exception("closing %s in the host process failed", name)
        conn.close()
