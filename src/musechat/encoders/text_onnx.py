"""The text encoder on ONNX Runtime: the same weights as `TextEncoder`, exported once to ONNX.

Why: a new sentence costs all-MiniLM-L6-v2 ~7-9 ms of CPU through torch on one thread, most of it
framework overhead around small matrices; ONNX Runtime runs the same graph in a fraction of that
(docs/benchmarks/turn_latency.md). Same contract as the torch backend (`encode_arrays`, `encode`), same
tokenizer, same pooling (masked mean, L2-normalised), so the fusion model sees the features it was
trained on (tests/integration/text_encoder/test_onnx_conformance.py holds fp32 to 1e-4).

The export happens at first use: transformers' module (a fresh instance with eager attention) goes through
`torch.onnx.export` (the TorchScript exporter, no network), dynamic batch and sequence axes, into
`<cache_dir>/text-onnx/<model sha8>/model.onnx`; `onnx-int8` adds `model-int8.onnx` (ONNX Runtime's
dynamic quantization: int8 weights, activations quantized per call). Each file is written under a
temporary name and renamed into place, so processes that start together never read a half-written
model: the last rename wins, and every candidate is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from musechat.encoders.text import (
    TextArrays,
    TextBackend,
    TextEncoderSpec,
    TextEncodings,
    check_max_tokens,
    resolve_source,
)

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1  # bump when the exported graph changes (inputs, opset, exporter options)
OPSET = 17


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/musechat` (default `~/.cache/musechat`), where the embedded models are written too."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "musechat"


def model_dir(cache_dir: Path | None, sha8: str) -> Path:
    return (cache_dir or default_cache_dir()) / "text-onnx" / f"{sha8}-v{EXPORT_FORMAT}"


def _atomic_write(target: Path, write: Callable[[Path], object]) -> Path:
    """`write(tmp)` then rename `tmp` to `target` (same directory, so the rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target


def export_onnx(path: str, target: Path) -> Path:
    """transformers' module at `path` -> an ONNX graph (the tokenizer's inputs) -> `last_hidden_state` [B, L, dim]."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    known = AutoTokenizer.from_pretrained(path).model_input_names
    input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in known]

    # A fresh instance: the exporter's tracing leaves the module it traced computing other numbers.
    net = AutoModel.from_pretrained(path, attn_implementation="eager").eval()

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.net(**dict(zip(input_names, inputs, strict=True))).last_hidden_state

    # A padded batch of two, so the traced graph is the general one (mask applied, lengths differ).
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.long)
    sample = {"input_ids": ids, "attention_mask": (ids != 0).long(), "token_type_ids": torch.zeros_like(ids)}
    axes = {0: "batch", 1: "sequence"}

    def write(tmp: Path) -> None:
        # The tracer's warnings are about branches that are constant for this graph (no cache, no causal mask).
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHidden(), tuple(sample[name] for name in input_names), str(tmp),
                input_names=input_names, output_names=["last_hidden_state"],
                dynamic_axes={name: axes for name in [*input_names, "last_hidden_state"]},
                opset_version=OPSET, do_constant_folding=True, dynamo=False,
            )

    return _atomic_write(target, write)


def quantize_int8(source: Path, target: Path) -> Path:
    """Dynamic int8 quantization (weights int8 per output channel, activations per call) of an fp32 ONNX
    model; per channel keeps the pooled vectors nearer the fp32 ones (mean cosine 0.989 vs 0.949 per tensor)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    return _atomic_write(target, lambda tmp: quantize_dynamic(str(source), str(tmp), per_channel=True,
                                                              weight_type=QuantType.QInt8))


def ensure_onnx(path: str, sha8: str, cache_dir: Path | None, quantize: bool) -> Path:
    """The cached ONNX model of the weights `sha8` (exported, and quantized, on first use)."""
    folder = model_dir(cache_dir, sha8)
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        log.info("exporting the text model %s to ONNX under %s", sha8, folder)
        export_onnx(path, fp32)
    if not quantize:
        return fp32
    int8 = folder / "model-int8.onnx"
    if not int8.is_file():
        log.info("quantizing the text model %s to int8 under %s", sha8, folder)
        quantize_int8(fp32, int8)
    return int8


def _weights_sha8(path: str) -> tuple[str, int, int]:
    """(sha8 of the weights as `TextEncoder` reports it, hidden size, positions), from transformers' module."""
    from transformers import AutoModel

    from musechat.encoders.ast import state_dict_sha8

    net: Any = AutoModel.from_pretrained(path)
    return state_dict_sha8(net), int(net.config.hidden_size), int(net.config.max_position_embeddings)


def _source_key(path: str) -> str | None:
    """The identity of a checkpoint directory's files (names, sizes, modification times), or None for a hub
    id: what the sha8 memo is keyed by."""
    folder = Path(path)
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".safetensors", ".bin", ".json"))
    if not any(p.suffix in (".safetensors", ".bin") for p in files):
        return None
    digest = hashlib.sha256(str(folder.resolve()).encode())
    for p in files:
        stat = p.stat()
        digest.update(f"{p.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def weights_identity(path: str, root: Path) -> tuple[str, int, int]:
    """`_weights_sha8`, remembered under `root` per checkpoint directory: once the model is exported, a
    start loads neither the torch weights nor (for the sha8) anything but a small JSON file."""
    key = _source_key(path)
    memo = root / "text-onnx" / "sources" / f"{key}.json" if key else None
    if memo is not None and memo.is_file():
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(memo.read_text())
            return str(data["sha8"]), int(data["dim"]), int(data["positions"])
    sha8, dim, positions = _weights_sha8(path)
    if memo is not None:
        record = json.dumps({"sha8": sha8, "dim": dim, "positions": positions, "source": path})
        with contextlib.suppress(OSError):
            _atomic_write(memo, lambda tmp: tmp.write_text(record))
    return sha8, dim, positions


def writable_root(cache_dir: Path | None) -> Path:
    """`cache_dir` (default `default_cache_dir()`), or the system's temporary directory when it cannot be
    written (a read-only home in a container)."""
    root = cache_dir or default_cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        if os.access(root, os.W_OK):
            return root
    except OSError:
        pass
    fallback = Path(tempfile.gettempdir()) / "musechat-models"
    log.warning("cannot write the ONNX text model under %s; using %s", root, fallback)
    return fallback


class Tokenizer(Protocol):
    def batch(self, texts: list[str], max_tokens: int) -> tuple[dict[str, np.ndarray], list[bool]]:
        """(input_ids, attention_mask, token_type_ids as int64 [B, L] padded to the longest, and which texts
        were cut at `max_tokens` tokens, [CLS] and [SEP] included)."""
        ...


class FastTokenizer:
    """The checkpoint's `tokenizer.json` through the `tokenizers` library alone: what transformers' fast
    tokenizer runs inside, without importing transformers (and with it torch, ~220 MB of the text process).
    Truncation and padding are set here as transformers sets them per call (the file's own are ignored);
    tests/integration/text_encoder/test_onnx_conformance.py holds it to transformers' ids."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer as Backend

        def fresh() -> Any:
            tok = Backend.from_file(str(folder / "tokenizer.json"))
            tok.no_padding()
            return tok

        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text()) if config_file.is_file() else {}
        pad = config.get("pad_token", "[PAD]")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        self._fresh = fresh
        self._by_limit: dict[int, Any] = {}
        self.pad_id = int(fresh().token_to_id(pad) or 0) if pad else 0

    def _at(self, max_length: int) -> Any:
        if max_length not in self._by_limit:  # one configured backend per limit: nothing changes per call
            tok = self._fresh()
            tok.enable_truncation(max_length=max_length)
            self._by_limit[max_length] = tok
        return self._by_limit[max_length]

    def batch(self, texts: list[str], max_tokens: int) -> tuple[dict[str, np.ndarray], list[bool]]:
        # One token over the limit is enough to tell which texts get cut; those are encoded again at the limit.
        encodings = self._at(max_tokens + 1).encode_batch(texts)
        truncated = [len(e.ids) > max_tokens for e in encodings]
        if any(truncated):
            cut = iter(self._at(max_tokens).encode_batch([t for t, c in zip(texts, truncated, strict=True) if c]))
            encodings = [next(cut) if c else e for e, c in zip(encodings, truncated, strict=True)]
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(texts), width), self.pad_id, dtype=np.int64)
        types = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            types[i, : len(e.ids)] = e.type_ids
            mask[i, : len(e.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}, truncated


class HfTokenizer:
    """transformers' tokenizer, for a checkpoint without a `tokenizer.json` (or a hub id)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def batch(self, texts: list[str], max_tokens: int) -> tuple[dict[str, np.ndarray], list[bool]]:
        probe = self.tokenizer(texts, truncation=True, max_length=max_tokens + 1)["input_ids"]
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="np")
        feeds = {name: np.asarray(value, dtype=np.int64) for name, value in enc.items()}
        lengths = feeds["attention_mask"].sum(axis=1)
        return feeds, [len(p) > int(n) for p, n in zip(probe, lengths, strict=True)]


def load_tokenizer(path: str) -> Tokenizer:
    folder = Path(path)
    if (folder / "tokenizer.json").is_file():
        return FastTokenizer(folder)
    from transformers import AutoTokenizer

    return HfTokenizer(AutoTokenizer.from_pretrained(path))


def session(model_path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


@dataclass
class OnnxTextEncoder(TextEncodings):
    """The `onnx` / `onnx-int8` backends: ONNX Runtime on the CPU, the torch backend's tokenizer and pooling."""

    session: Any  # onnxruntime.InferenceSession
    tokenizer: Tokenizer
    spec: TextEncoderSpec
    model_id: str
    sha8: str
    max_tokens: int
    batch_size: int = 32
    backend: TextBackend = "onnx"
    model_path: Path | None = None

    @classmethod
    def load(
        cls,
        spec: TextEncoderSpec,
        model: str | Path | None = None,
        max_tokens: int | None = None,
        batch_size: int = 32,
        threads: int = 1,
        cache_dir: Path | None = None,
        quantize: bool = False,
    ) -> OnnxTextEncoder:
        """As `TextEncoder.load`; the ONNX model is exported (and quantized) into `cache_dir` on first use
        (`writable_root`: an unwritable one falls back to the system's temporary directory). Once it is
        there, a start reads the model, the tokenizer and a small JSON file: no torch, no transformers."""
        model_id, path = resolve_source(spec, model)
        root = writable_root(cache_dir)
        try:
            sha8, dim, positions = weights_identity(path, root)
            tokenizer = load_tokenizer(path)
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot load a text model from {path!r}: {exc}") from exc
        if dim != spec.dim:
            raise ValueError(f"{model_id} gives {dim}-d tokens, spec {spec.name} says {spec.dim}")
        tokens = check_max_tokens(spec, max_tokens, positions)
        onnx_path = ensure_onnx(path, sha8, root, quantize)
        return cls(session(onnx_path, threads), tokenizer, spec, model_id, sha8, tokens, batch_size,
                   "onnx-int8" if quantize else "onnx", onnx_path)

    def encode_arrays(self, texts: list[str]) -> list[TextArrays]:
        """Token features and pooled vectors, `batch_size` texts per run of the graph."""
        names = [i.name for i in self.session.get_inputs()]
        out: list[TextArrays] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            tokenized, truncated = self.tokenizer.batch(batch, self.max_tokens)
            feeds = {name: tokenized[name] for name in names}
            hidden = np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)  # [B, L, dim]
            attention = tokenized["attention_mask"]
            mask = attention[..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            if self.spec.normalize:  # torch.nn.functional.normalize: x / max(||x||, 1e-12)
                pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for i, length in enumerate(attention.sum(axis=1).tolist()):
                out.append(TextArrays(tokens=hidden[i, :length].copy(), pooled=pooled[i].astype(np.float32),
                                      truncated=truncated[i]))
        return out
