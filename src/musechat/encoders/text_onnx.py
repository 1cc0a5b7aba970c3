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
from typing import Any

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


def export_onnx(path: str, input_names: list[str], target: Path) -> Path:
    """transformers' module at `path` -> an ONNX graph `input_names` -> `last_hidden_state` [B, L, dim]."""
    import torch
    from transformers import AutoModel

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


def ensure_onnx(path: str, sha8: str, input_names: list[str], cache_dir: Path | None, quantize: bool) -> Path:
    """The cached ONNX model of the weights `sha8` (exported, and quantized, on first use)."""
    folder = model_dir(cache_dir, sha8)
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        log.info("exporting the text model %s to ONNX under %s", sha8, folder)
        export_onnx(path, input_names, fp32)
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
    tokenizer: Any
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
        (`writable_root`: an unwritable one falls back to the system's temporary directory)."""
        from transformers import AutoTokenizer

        model_id, path = resolve_source(spec, model)
        root = writable_root(cache_dir)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            sha8, dim, positions = weights_identity(path, root)
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot load a text model from {path!r}: {exc}") from exc
        if dim != spec.dim:
            raise ValueError(f"{model_id} gives {dim}-d tokens, spec {spec.name} says {spec.dim}")
        tokens = check_max_tokens(spec, max_tokens, positions)
        names: list[str] = [n for n in ("input_ids", "attention_mask", "token_type_ids")
                            if n in tokenizer.model_input_names]
        onnx_path = ensure_onnx(path, sha8, names, root, quantize)
        return cls(session(onnx_path, threads), tokenizer, spec, model_id, sha8, tokens, batch_size,
                   "onnx-int8" if quantize else "onnx", onnx_path)

    @property
    def dim(self) -> int:
        return self.spec.dim

    def encode_arrays(self, texts: list[str]) -> list[TextArrays]:
        """Token features and pooled vectors, `batch_size` texts per run of the graph."""
        names = [i.name for i in self.session.get_inputs()]
        out: list[TextArrays] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            probe = self.tokenizer(batch, truncation=True, max_length=self.max_tokens + 1)["input_ids"]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="np")
            feeds = {name: np.asarray(enc[name], dtype=np.int64) for name in names}
            hidden = np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)  # [B, L, dim]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            if self.spec.normalize:  # torch.nn.functional.normalize: x / max(||x||, 1e-12)
                pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for i, length in enumerate(feeds["attention_mask"].sum(axis=1).tolist()):
                out.append(TextArrays(tokens=hidden[i, :length].copy(), pooled=pooled[i].astype(np.float32),
                                      truncated=len(probe[i]) > length))
        return out
