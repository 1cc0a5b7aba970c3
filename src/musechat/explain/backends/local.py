"""In-process backend: transformers + peft on the same machine. The embedded default when no vLLM URL
is configured, and the reference the vLLM backend is checked against."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from musechat.explain.backends.base import (
    BackendError,
    BackendTimeout,
    ProjectorRegistry,
    check_music_args,
)
from musechat.explain.embeddings import embed_prompt
from musechat.explain.prompt import ExplainPrompt


class LocalBackend:
    name = "local"

    def __init__(self, base_model: Path, *, adapters: dict[str, Path] | None = None, threads: int | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        if not (Path(base_model) / "config.json").is_file():
            raise FileNotFoundError(f"base model directory {base_model} has no config.json")
        self.base_model = Path(base_model)
        self.tokenizer = AutoTokenizer.from_pretrained(str(base_model))
        # float32 on CPU: bfloat16 matmuls are slower there and the 135M model fits easily.
        self._base: Any = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=torch.float32)
        self._base.eval()
        self._model: Any = self._base
        self._adapters: list[str] = []
        self._projectors = ProjectorRegistry()
        self._lock = threading.Lock()  # one generation at a time: the model holds the active adapter
        for name, path in (adapters or {}).items():
            self.load_adapter(name, path)

    def adapters(self) -> list[str]:
        return list(self._adapters)

    def load_adapter(self, name: str, path: Path) -> None:
        from peft import PeftModel

        path = Path(path)
        if not (path / "adapter_config.json").is_file():
            raise FileNotFoundError(f"{path} is not a LoRA adapter directory (no adapter_config.json)")
        with self._lock:
            if name in self._adapters:
                self._model.delete_adapter(name)
                self._adapters.remove(name)
            if not self._adapters and not isinstance(self._model, PeftModel):
                self._model = PeftModel.from_pretrained(self._base, str(path), adapter_name=name)
            else:
                self._model.load_adapter(str(path), adapter_name=name)
            self._model.eval()
            self._adapters.append(name)
        self._projectors.register_dir(name, path)

    def _adapter_context(self, adapter: str | None) -> AbstractContextManager[Any]:
        if adapter is None:
            return self._model.disable_adapter() if self._adapters else nullcontext()
        if adapter not in self._adapters:
            raise BackendError(f"unknown adapter {adapter!r}; loaded: {self._adapters or 'none'}")
        self._model.set_adapter(adapter)
        return nullcontext()

    def stream(
        self,
        prompt: ExplainPrompt,
        music_features: np.ndarray | None,
        adapter: str | None,
        max_tokens: int,
        timeout: float,
    ) -> Iterator[str]:
        import torch

        check_music_args(prompt, music_features)
        deadline = time.monotonic() + timeout
        music = None if music_features is None else self._projectors.soft_tokens(adapter, music_features)
        embed = self._base.get_input_embeddings()
        eos = self.tokenizer.eos_token_id
        with self._lock, torch.inference_mode(), self._adapter_context(adapter):
            embeds = embed_prompt(self.tokenizer, embed, prompt, music)
            out = self._model(inputs_embeds=embeds[None], use_cache=True)
            generated: list[int] = []
            emitted = ""
            for _ in range(max_tokens):
                next_id = int(out.logits[0, -1].argmax())
                if next_id == eos:
                    break
                generated.append(next_id)
                # Decode the whole tail each step: a multi-byte character may span several tokens.
                text = str(self.tokenizer.decode(generated, skip_special_tokens=True))
                if len(text) > len(emitted) and not text.endswith("\ufffd"):
                    yield text[len(emitted) :]
                    emitted = text
                if time.monotonic() > deadline:
                    raise BackendTimeout(f"local generation exceeded {timeout:.1f}s")
                out = self._model(
                    input_ids=torch.tensor([[next_id]]), past_key_values=out.past_key_values, use_cache=True
                )

    def generate(
        self,
        prompt: ExplainPrompt,
        music_features: np.ndarray | None,
        adapter: str | None,
        max_tokens: int,
        timeout: float,
    ) -> str:
        return "".join(self.stream(prompt, music_features, adapter, max_tokens, timeout))
