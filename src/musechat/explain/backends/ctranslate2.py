"""CTranslate2 backend: the same SmolLM2 + LoRA, run by CTranslate2's C++ decoder on CPU.

Each adapter is merged into a float32 copy of the base (peft `merge_and_unload`) and converted once with
CTranslate2's `TransformersConverter` (int8 or float32 weights, `compute_type`); the converted model is
cached under `cache_dir`, keyed by the content hashes of the base checkpoint and the adapter, and written
atomically (a temporary directory renamed into place, under a file lock), so concurrent starts never read
half a model. `adapter=None` is the base model, converted the same way.

Prompts are the local backend's token ids (the same chat template and text), so outputs are comparable.
Concurrent requests for the same adapter are decoded together in one `generate_batch` call (the local
backend's micro-batcher, with one worker per core: batches decode side by side, one thread each); a
per-step callback streams each request's text as its tokens come and ends a
request at its `max_tokens`, its deadline or a stop token. The soft music token needs prompt embeddings,
which CTranslate2's generator does not take: music features are refused with a BackendError (the local
and vLLM backends keep them). Measured: docs/benchmarks/explainer_latency.md.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any, Literal

from musechat.explain.backends.base import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    GenerationRequest,
    PhraseTokens,
)
from musechat.explain.backends.microbatch import BatchJob, MicroBatchedBackend, MicroBatcher
from musechat.explain.embeddings import render_prompt, token_ids
from musechat.explain.prompt import ExplainPrompt

ComputeType = Literal["int8", "float32"]
COMPUTE_TYPES: tuple[str, ...] = ("int8", "float32")
_FORMAT = 1  # bump when the conversion recipe changes: a new cache key
_ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")
NO_MUSIC = ("the ctranslate2 backend does not support the music token (CTranslate2's generator takes no prompt "
            "embeddings); use the local or vLLM backend, or turn use_music off")  # fmt: skip


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/musechat/explainer-ct2` (default `~/.cache/...`), beside the text model's ONNX cache;
    the directories are keyed by content, so every workdir (demo, tests) shares one conversion."""
    from musechat.encoders.text_onnx import default_cache_dir as musechat_cache

    return musechat_cache() / "explainer-ct2"


def _hash_files(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for f in sorted(files):
        digest.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def base_model_hash(base_model: Path) -> str:
    """Content hash of a Hugging Face checkpoint directory (weights, config, tokenizer files)."""
    files = [f for f in Path(base_model).iterdir() if f.is_file() and not f.name.startswith(".")]
    if not files:
        raise FileNotFoundError(f"{base_model} holds no files")
    return _hash_files(files)


def adapter_hash(adapter: Path) -> str:
    """Content hash of a LoRA adapter's config and weights (not its projector or training notes)."""
    files = [Path(adapter) / n for n in _ADAPTER_FILES if (Path(adapter) / n).is_file()]
    if not files:
        raise FileNotFoundError(f"{adapter} is not a LoRA adapter directory (no adapter_config.json)")
    return _hash_files(files)


def converted_dir(cache_dir: Path, base_hash: str, adapter_sha: str | None, compute_type: str) -> Path:
    import ctranslate2

    adapter_part = adapter_sha[:16] if adapter_sha else "base"
    return Path(cache_dir) / f"{base_hash[:16]}-{adapter_part}-{compute_type}-ct2v{ctranslate2.__version__}-f{_FORMAT}"


def convert(base_model: Path, adapter: Path | None, target: Path, compute_type: str) -> Path:
    """The CTranslate2 model of `base_model` (+ `adapter` merged in), written atomically to `target`;
    an existing `target` is returned as is."""
    import fcntl

    target = Path(target)
    if (target / "model.bin").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one converter per model at a time; the others wait and reuse it
        if (target / "model.bin").is_file():
            return target
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".merged-") as merged:
                source = Path(base_model) if adapter is None else _merge(base_model, adapter, Path(merged))
                _convert(source, tmp, compute_type)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _merge(base_model: Path, adapter: Path, out: Path) -> Path:
    """The base with the LoRA folded into its weights (float32), saved as a Hugging Face checkpoint."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.save_pretrained(str(out))
    AutoTokenizer.from_pretrained(str(base_model)).save_pretrained(str(out))
    return out


def _convert(source: Path, out: Path, compute_type: str) -> None:
    from ctranslate2.converters import TransformersConverter

    TransformersConverter(str(source)).convert(str(out), quantization=compute_type, force=True)


class Ct2Backend(MicroBatchedBackend):
    name = "ctranslate2"

    def __init__(self, base_model: Path, *, adapters: dict[str, Path] | None = None,
                 compute_type: str = "int8", cache_dir: Path | None = None, threads: int | None = None,
                 max_batch: int = 8, batch_wait_s: float = 0.01, workers: int | None = None) -> None:  # fmt: skip
        """`threads`: cores to use (default: all, at most 4); `workers`: batch workers of one thread each
        (CTranslate2 `inter_threads`, `intra_threads=1`), at least `threads`, default max(threads, 4). On the
        shared 2-core box one thread decodes a 64-token answer in 0.94 s and two intra-op threads take 2.1 s,
        so batches decode side by side, one thread each. More workers than cores: a batch holds one ban list
        (grounded decoding), so concurrent users rarely share one, and with 2 workers the third and fourth
        user's first token waited for a whole answer (4 users: first-token p50 0.54 s with 2 workers, 0.19-0.23 s
        with 4, whole p50 0.86-0.88 s vs 0.91-0.99 s, same throughput; docs/explainer.md)."""
        from transformers import AutoTokenizer

        if compute_type not in COMPUTE_TYPES:
            raise ValueError(f"compute_type {compute_type!r} is not one of {COMPUTE_TYPES}")
        if not (Path(base_model) / "config.json").is_file():
            raise FileNotFoundError(f"base model directory {base_model} has no config.json")
        self.base_model = Path(base_model)
        self.compute_type = compute_type
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cores = threads or max(1, min(os.cpu_count() or 1, 4))
        self._workers = max(cores, workers if workers is not None else 4)
        self.tokenizer = AutoTokenizer.from_pretrained(str(base_model))
        stops = {self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids("<|im_end|>")}
        self._stop_ids: list[int] = sorted(int(t) for t in stops if isinstance(t, int) and t >= 0)
        self._base_hash = base_model_hash(self.base_model)
        self._lock = threading.Lock()  # guards `_generators` (a batch keeps the generator it started with)
        self._generators: dict[str | None, Any] = {None: self._load(None)}
        self._adapters: list[str] = []
        for name, path in (adapters or {}).items():
            self.load_adapter(name, path)
        self._max_batch = max_batch
        self._running = 0  # generate_batch calls in flight
        self._closed = False
        self._idle = threading.Condition()
        self._phrase_tokens = PhraseTokens(self.tokenizer)
        # One `suppress_sequences` per generate_batch call: a batch holds jobs of one adapter and one ban list.
        self._batcher = MicroBatcher(self._run_batch, max_batch, batch_wait_s, workers=self._workers,
                                 key=lambda job: (job.request.adapter, job.request.prompt.banned))
        atexit.register(_close_at_exit, weakref.ref(self))

    def close(self, wait_s: float = 60.0) -> None:
        """Refuses new batches and waits for the running ones. Called at interpreter exit: a worker still
        inside `generate_batch` then (a request ends in the step callback, before the call returns) would
        take the GIL back from C++ while Python finalizes, and the process aborts ("terminate called
        without an active exception")."""
        with self._idle:
            self._closed = True
            self._idle.wait_for(lambda: self._running == 0, timeout=wait_s)

    def _load(self, adapter: Path | None) -> Any:
        import ctranslate2

        sha = None if adapter is None else adapter_hash(adapter)
        target = converted_dir(self.cache_dir, self._base_hash, sha, self.compute_type)
        convert(self.base_model, adapter, target, self.compute_type)
        return ctranslate2.Generator(str(target), device="cpu", compute_type=self.compute_type,
                                     inter_threads=self._workers, intra_threads=1)  # fmt: skip

    def adapters(self) -> list[str]:
        with self._lock:
            return list(self._adapters)

    def load_adapter(self, name: str, path: Path) -> None:
        """Merges and converts the adapter (once per content; cached), then serves it under `name`
        (a name already loaded is replaced: requests in flight finish on the old model)."""
        path = Path(path)
        if not (path / "adapter_config.json").is_file():
            raise FileNotFoundError(f"{path} is not a LoRA adapter directory (no adapter_config.json)")
        generator = self._load(path)
        with self._lock:
            self._generators[name] = generator
            if name not in self._adapters:
                self._adapters.append(name)

    def _generator(self, adapter: str | None) -> Any:
        with self._lock:
            if adapter is not None and adapter not in self._adapters:
                raise BackendError(f"unknown adapter {adapter!r}; loaded: {self._adapters or 'none'}")
            return self._generators[adapter]

    def _check(self, request: GenerationRequest) -> None:
        if request.music_features is not None:
            raise BackendError(NO_MUSIC)
        self._generator(request.adapter)

    def prompt_tokens(self, prompt: ExplainPrompt) -> list[str]:
        """The prompt as the local backend tokenizes it (same chat template and text), as token strings."""
        ids = token_ids(self.tokenizer, render_prompt(self.tokenizer, prompt))
        return list(self.tokenizer.convert_ids_to_tokens(ids))

    # ---------------------------------------------------------------- batched greedy decoding
    def _run_batch(self, jobs: list[BatchJob]) -> None:
        """Greedy decoding of same-adapter jobs in one `generate_batch` call; the step callback streams
        each row's text and stops a row at its max_tokens, deadline or stop token (returning True stops
        that row only)."""
        generator = self._generator(jobs[0].request.adapter)
        tokens = [self.prompt_tokens(job.request.prompt) for job in jobs]
        suppress = [list(self.tokenizer.convert_ids_to_tokens(list(seq)))
                    for seq in self._phrase_tokens.sequences(jobs[0].request.prompt.banned)] or None
        generated: list[list[int]] = [[] for _ in jobs]
        emitted = ["" for _ in jobs]
        live = [True] * len(jobs)
        stops = set(self._stop_ids)

        def end(i: int, item: str | BaseException | None = None) -> bool:
            live[i] = False
            jobs[i].out.put(item)
            return True

        def on_step(step: Any) -> bool:
            i = step.batch_id
            if not live[i]:
                return True
            try:
                job = jobs[i]
                if step.token_id in stops or len(generated[i]) >= job.request.max_tokens:
                    return end(i)
                generated[i].append(step.token_id)
                # Decode the whole tail each step: a multi-byte character may span several tokens.
                text = str(self.tokenizer.decode(generated[i], skip_special_tokens=True))
                if len(text) > len(emitted[i]) and not text.endswith("\ufffd"):
                    job.out.put(text[len(emitted[i]):])
                    emitted[i] = text
                if time.monotonic() > job.deadline:
                    return end(i, BackendTimeout(f"ctranslate2 generation exceeded {job.request.timeout:.1f}s"))
                if len(generated[i]) >= job.request.max_tokens or step.is_last:
                    return end(i)
                return False
            except BaseException as exc:  # never raise into the C++ decoder: fail this row only
                return end(i, BackendError(f"{type(exc).__name__}: {exc}"))

        with self._idle:
            if self._closed:
                raise BackendUnavailable("the ctranslate2 backend is closed")
            self._running += 1
        try:  # a failed call raises into the batcher, which fails the batch's jobs
            generator.generate_batch(tokens, max_length=max(j.request.max_tokens for j in jobs), sampling_topk=1,
                                     beam_size=1, include_prompt_in_result=False, end_token=self._stop_ids,
                                     suppress_sequences=suppress, callback=on_step)  # fmt: skip
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()
        for i in range(len(jobs)):
            if live[i]:
                end(i)


def _close_at_exit(ref: weakref.ref[Ct2Backend]) -> None:
    backend = ref()
    if backend is not None:
        backend.close()


__all__ = ["COMPUTE_TYPES", "NO_MUSIC", "ComputeType", "Ct2Backend", "adapter_hash",
           "base_model_hash", "convert", "converted_dir", "default_cache_dir"]  # fmt: skip
