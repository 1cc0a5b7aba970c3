"""In-process backend: transformers + peft on the same machine. The embedded default when no vLLM URL
is configured, and the reference the vLLM backend is checked against.

Concurrent requests are decoded together (static micro-batches per adapter, left-padded, one KV cache):
on CPU a decode step of a 135M model costs about the same for 1 or 4 rows, so 4 concurrent users get
near 4x the aggregate tokens/s (docs/benchmarks/explainer_latency.md).
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from musechat.explain.backends.base import (
    BackendError,
    BackendTimeout,
    GenerationRequest,
    NextTokenBans,
    PhraseTokens,
    ProjectorRegistry,
)
from musechat.explain.backends.microbatch import BatchJob, MicroBatchedBackend, MicroBatcher
from musechat.explain.embeddings import embed_prompt


class LocalBackend(MicroBatchedBackend):
    name = "local"

    def __init__(self, base_model: Path, *, adapters: dict[str, Path] | None = None, threads: int | None = None,
                 max_batch: int = 8, batch_wait_s: float = 0.01):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        if not (Path(base_model) / "config.json").is_file():
            raise FileNotFoundError(f"base model directory {base_model} has no config.json")
        self.base_model = Path(base_model)
        self.tokenizer = AutoTokenizer.from_pretrained(str(base_model))
        self._phrase_tokens = PhraseTokens(self.tokenizer)
        # float32 on CPU: bfloat16 matmuls are slower there and the 135M model fits easily.
        self._base: Any = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=torch.float32)
        self._base.eval()
        self._model: Any = self._base
        self._adapters: list[str] = []
        self._projectors = ProjectorRegistry()
        self._lock = threading.Lock()  # one generation at a time: the model holds the active adapter
        for name, path in (adapters or {}).items():
            self.load_adapter(name, path)
        self._max_batch = max_batch
        self._batcher = MicroBatcher(self._run_batch, max_batch, batch_wait_s)

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

    def _check(self, request: GenerationRequest) -> None:
        if request.adapter is not None and request.adapter not in self._adapters:
            raise BackendError(f"unknown adapter {request.adapter!r}; loaded: {self._adapters or 'none'}")

    # ---------------------------------------------------------------- batched greedy decoding
    def _run_batch(self, jobs: list[BatchJob]) -> None:
        """Greedy decoding of same-adapter jobs together: left-padded prompt embeddings, one KV cache,
        one forward pass per step for the whole batch. CPU decoding of a 135M model is bound by reading
        the weights, so 4 rows cost little more per step than 1."""
        import torch

        adapter = jobs[0].request.adapter
        embed = self._base.get_input_embeddings()
        eos = self.tokenizer.eos_token_id
        with self._lock, torch.inference_mode(), self._adapter_context(adapter):
            rows = []
            for job in jobs:
                features = job.request.music_features
                music = None if features is None else self._projectors.soft_tokens(adapter, features)
                rows.append(embed_prompt(self.tokenizer, embed, job.request.prompt, music))
            width = max(r.shape[0] for r in rows)
            hidden = rows[0].shape[1]
            x = torch.zeros(len(rows), width, hidden, dtype=rows[0].dtype)
            mask = torch.zeros(len(rows), width, dtype=torch.long)
            for i, r in enumerate(rows):
                x[i, width - r.shape[0]:] = r
                mask[i, width - r.shape[0]:] = 1
            positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
            out = self._model(inputs_embeds=x, attention_mask=mask, position_ids=positions, use_cache=True)
            generated: list[list[int]] = [[] for _ in jobs]
            emitted = ["" for _ in jobs]
            live = [True] * len(jobs)
            bans = [NextTokenBans(self._phrase_tokens.sequences(j.request.prompt.banned)) for j in jobs]
            steps = max(j.request.max_tokens for j in jobs)
            for step in range(steps):
                logits = out.logits[:, -1]
                for i, ban in enumerate(bans):
                    if live[i] and (banned := ban.banned(generated[i])):
                        logits[i, list(banned)] = float("-inf")
                next_ids = logits.argmax(dim=-1).tolist()
                now = time.monotonic()
                for i, job in enumerate(jobs):
                    if not live[i]:
                        continue
                    if next_ids[i] == eos or len(generated[i]) >= job.request.max_tokens:
                        live[i] = False
                        job.out.put(None)
                        continue
                    generated[i].append(next_ids[i])
                    # Decode the whole tail each step: a multi-byte character may span several tokens.
                    text = str(self.tokenizer.decode(generated[i], skip_special_tokens=True))
                    if len(text) > len(emitted[i]) and not text.endswith("\ufffd"):
                        job.out.put(text[len(emitted[i]):])
                        emitted[i] = text
                    if now > job.deadline:
                        live[i] = False
                        job.out.put(BackendTimeout(f"local generation exceeded {job.request.timeout:.1f}s"))
                if not any(live) or step == steps - 1:
                    break
                mask = torch.cat([mask, torch.ones(len(jobs), 1, dtype=torch.long)], dim=1)
                positions = positions[:, -1:] + 1
                out = self._model(input_ids=torch.tensor([[t] for t in next_ids]), attention_mask=mask,
                                  position_ids=positions, past_key_values=out.past_key_values, use_cache=True)
            for i, job in enumerate(jobs):
                if live[i]:
                    job.out.put(None)
