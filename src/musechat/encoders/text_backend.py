"""One text encoder by backend name: `torch` (`text.TextEncoder`) or `onnx` / `onnx-int8`
(`text_onnx.OnnxTextEncoder`), the same contract either way (docs/text-encoder.md)."""

from __future__ import annotations

from pathlib import Path

from musechat.encoders.text import TEXT_BACKENDS, TextEncoder, TextEncoderSpec, TextEncodings


def load_text_encoder(
    spec: TextEncoderSpec,
    backend: str = "torch",
    model: str | Path | None = None,
    max_tokens: int | None = None,
    device: str = "cpu",
    batch_size: int = 32,
    threads: int = 1,
    cache_dir: Path | None = None,
) -> TextEncodings:
    """The text encoder on `backend`: `torch` (transformers, any device) or `onnx` / `onnx-int8` (ONNX
    Runtime on the CPU, `threads` intra-op threads, the exported model cached under `cache_dir`)."""
    if backend == "torch":
        return TextEncoder.load(spec, model, max_tokens, device, batch_size)
    if backend in ("onnx", "onnx-int8"):
        if device != "cpu":
            raise ValueError(f"the {backend} text backend runs on the CPU only, not {device!r}")
        from musechat.encoders.text_onnx import OnnxTextEncoder

        return OnnxTextEncoder.load(spec, model, max_tokens, batch_size, threads=threads, cache_dir=cache_dir,
                                    quantize=backend == "onnx-int8")
    raise ValueError(f"unknown text backend {backend!r}: use one of {list(TEXT_BACKENDS)}")
