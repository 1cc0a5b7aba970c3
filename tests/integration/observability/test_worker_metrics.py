"""`musechat worker indexer --metrics-port N` as a real process: /metrics answers (the chart probes it),
model and index info are published, SIGTERM stops the worker cleanly; a taken port is a usage error."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from musechat.bus.broker import free_port

pytestmark = pytest.mark.integration
REPO_SRC = Path(__file__).resolve().parents[3] / "src"


def worker_env(kafka_bootstrap: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSECHAT_")}
    return {**env, "PYTHONPATH": str(REPO_SRC), "MUSECHAT_BUS_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "MUSECHAT_STORE_PATH": str(tmp_path / "qdrant-edge"), "MUSECHAT_INDEXER_GROUP_ID": "metrics-test"}


def scrape(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 120.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"worker exited early with code {proc.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                body: str = response.read().decode()
            if "musechat_index_info{" in body:  # set once the worker has opened its store
                return body
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"no metrics with index info on port {port} within {timeout_s}s")


def test_worker_serves_metrics_with_model_and_index_info_and_stops_on_sigterm(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "musechat.cli", "worker", "indexer", "--metrics-port", str(port)],
                            env=worker_env(kafka_bootstrap, tmp_path), stderr=subprocess.PIPE)
    try:
        body = scrape(port, proc)
        assert 'musechat_model_info{model="FixedProjection",service="indexer",version="fixed-projection-v1' in body
        assert 'musechat_index_info{alias="tracks",collection="tracks-' in body
        assert "musechat_bus_events_processed_total" in body  # the bus metrics share the registry
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_taken_metrics_port_is_one_line_and_exit_2(kafka_bootstrap: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "musechat.cli", "worker", "indexer", "--metrics-port", str(port)],
                              env=worker_env(kafka_bootstrap, tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"musechat: error: cannot serve metrics on 0.0.0.0:{port}: Address already in use"]
