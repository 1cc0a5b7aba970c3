"""In-process backend: transformers + peft on the same machine. The embedded default when no vLLM URL
is configured, and the reference the vLLM backend is checked against.

Concurrent requests are decoded together (static micro-batches per adapter, left-padded, one KV cache):
on CPU a decode step of a 135M model costs about the same for 1 or 4 rows, so 4 concurrent users get
near 4x the aggregate tokens/s (docs/benchmarks/explainer_latency.md).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musechat.explain.backends.base import (
    BackendError,
    BackendTimeout,
    GeneratingBackend,
    GenerationRequest,
    NextTokenBans,
    PhraseTokens,
    ProjectorRegistry,
    checked_request,
)
from musechat.explain.embeddings import embed_prompt
from musechat.explain.prompt import ExplainPrompt


class LocalBackend(GeneratingBackend):
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
        self._batcher = _Batcher(self._run_batch, max_batch, batch_wait_s)

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

    def _stream(self, request: GenerationRequest) -> Iterator[str]:
        """One request; concurrent requests for the same adapter are decoded together (see `_Batcher`)."""
        if request.adapter is not None and request.adapter not in self._adapters:
            raise BackendError(f"unknown adapter {request.adapter!r}; loaded: {self._adapters or 'none'}")
        job = _Job(request, time.monotonic() + request.timeout)
        self._batcher.submit(job)
        while True:
            item = job.out.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def generate_batch(self, prompts: list[ExplainPrompt], music: list[np.ndarray | None], adapter: str | None,
                       max_tokens: int, timeout: float) -> list[str]:
        """Many prompts (evaluation), decoded `max_batch` at a time; `timeout` applies to each batch."""
        out: list[str] = []
        for start in range(0, len(prompts), self._max_batch):
            jobs = [_Job(checked_request(p, m, adapter, max_tokens, timeout), time.monotonic() + timeout)
                    for p, m in zip(prompts[start : start + self._max_batch], music[start : start + self._max_batch],
                                    strict=True)]  # fmt: skip
            for job in jobs:
                self._batcher.submit(job)
            for job in jobs:
                pieces: list[str] = []
                while (item := job.out.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    pieces.append(item)
                out.append("".join(pieces))
        return out

    # ---------------------------------------------------------------- batched greedy decoding
    def _run_batch(self, jobs: list[_Job]) -> None:
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


@dataclass
class _Job:
    request: GenerationRequest
    deadline: float
    out: queue.SimpleQueue[str | BaseException | None] = field(default_factory=queue.SimpleQueue)


class _Batcher:
    """Collects concurrent jobs for `wait_s` after the first arrives (at most `max_batch`, the same `key`:
    the adapter by default) and runs them as one batch on a worker thread; `workers` threads take batches
    from one shared pending list (the local backend has one: its model runs one batch at a time;
    CTranslate2 runs several in parallel). A job of another key stays in the list for the next free worker,
    so distinct keys (CTranslate2's ban lists) decode side by side, not queued behind one worker."""

    def __init__(self, run: Callable[[list[_Job]], None], max_batch: int, wait_s: float, workers: int = 1,
                 key: Callable[[_Job], Hashable] = lambda job: job.request.adapter) -> None:
        self._run = run
        self._key = key
        self._max_batch = max_batch
        self._wait_s = wait_s
        self._pending: list[_Job] = []
        self._changed = threading.Condition()
        self._threads = [threading.Thread(target=self._loop, name=f"explainer-batcher-{i}", daemon=True)
                         for i in range(workers)]  # fmt: skip
        for thread in self._threads:
            thread.start()

    def submit(self, job: _Job) -> None:
        with self._changed:
            self._pending.append(job)
            self._changed.notify_all()

    def _take(self) -> list[_Job]:
        with self._changed:
            self._changed.wait_for(lambda: bool(self._pending))
            first = self._pending.pop(0)
            key, batch = self._key(first), [first]
            until = time.monotonic() + self._wait_s
            while True:
                same = [job for job in self._pending if self._key(job) == key][: self._max_batch - len(batch)]
                for job in same:
                    self._pending.remove(job)
                batch += same
                left = until - time.monotonic()
                if len(batch) >= self._max_batch or left <= 0:
                    return batch
                self._changed.wait(left)

    def _loop(self) -> None:
        while True:
            batch = self._take()
            try:
                self._run(batch)
            except BaseException as exc:  # a failed batch fails its jobs, never the worker
                error = exc if isinstance(exc, BackendError) else BackendError(f"{type(exc).__name__}: {exc}")
                for job in batch:
                    job.out.put(error)
