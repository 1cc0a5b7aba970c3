"""AST (Audio Spectrogram Transformer) features per 10 s segment: the paper's music representation.

No AST weights are reachable from our machines, so the loading path is the real one
(`ASTModel.from_pretrained` on a model id or a mounted directory) and tests, like the embedded default,
use a tiny randomly initialised checkpoint written by `make_tiny_ast`. Its version string says so
(`random-init-tiny-seed<N>`): features from it carry no learned audio knowledge.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musechat.encoders.checkpoints import MODEL_ID_FILE, write_random_checkpoint

if TYPE_CHECKING:
    import torch

AST_SAMPLE_RATE = 16000
TINY_AST_CONFIG: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
}


def ast_feature_extractor(source: str | None = None) -> Any:
    """ASTFeatureExtractor from `source` (a checkpoint's preprocessor_config.json) or the AudioSet default."""
    from transformers import ASTFeatureExtractor

    with warnings.catch_warnings():
        # Without torchaudio the extractor builds its kaldi-style 128-band mel bank in numpy, which warns
        # that the lowest band is empty at 16 kHz / 400-sample windows; torchaudio's bank has it empty too.
        warnings.filterwarnings("ignore", message="At least one mel filter has all zero values")
        if source is not None:
            try:
                return ASTFeatureExtractor.from_pretrained(source)
            except OSError:
                pass  # checkpoints saved without preprocessor_config.json use the standard front end
        return ASTFeatureExtractor(sampling_rate=AST_SAMPLE_RATE)


def tiny_ast_id(seed: int) -> str:
    return f"random-init-tiny-seed{seed}"


def make_tiny_ast(path: str | Path, seed: int = 0) -> Path:
    """Save a deterministic tiny random AST checkpoint (model + feature extractor config) at `path`.

    Same seed, same torch version -> bit-identical weights. The directory is written next to `path`
    and renamed into place, so concurrent workers never read a half-written checkpoint.
    """
    from transformers import ASTConfig, ASTModel

    return write_random_checkpoint(path, seed, tiny_ast_id(seed), lambda: ASTModel(ASTConfig(**TINY_AST_CONFIG)),
                                   lambda tmp: ast_feature_extractor().save_pretrained(tmp))


def state_dict_sha8(model: torch.nn.Module) -> str:
    """First 8 hex digits of a SHA-256 over the weights (names, shapes, bytes): the weights' identity,
    whatever file format or path they came from."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:8]


@dataclass
class AstFeaturizer:
    """Pooled AST output per segment: `featurize([S, samples]) -> [S, hidden_size]`."""

    model: Any  # transformers.ASTModel
    extractor: Any  # transformers.ASTFeatureExtractor
    model_id: str
    sha8: str
    batch_size: int = 8

    @classmethod
    def load(cls, model: str | Path, device: str = "cpu", batch_size: int = 8) -> AstFeaturizer:
        """`model`: a Hugging Face model id (resolved through the local HF cache) or a checkpoint dir."""
        from transformers import ASTModel

        source = str(model)
        try:
            ast: Any = ASTModel.from_pretrained(source)
        except OSError as exc:
            raise ValueError(f"cannot load an AST checkpoint from {source!r}: {exc}") from exc
        extractor = ast_feature_extractor(source)
        cls._check_compatible(ast.config, extractor, source)
        ast.to(device).eval()
        marker = Path(source) / MODEL_ID_FILE
        model_id = marker.read_text().strip() if marker.is_file() else source
        return cls(ast, extractor, model_id, state_dict_sha8(ast), batch_size)

    @staticmethod
    def _check_compatible(config: Any, extractor: Any, source: str) -> None:
        if extractor.sampling_rate != AST_SAMPLE_RATE:
            raise ValueError(f"{source}: feature extractor expects {extractor.sampling_rate} Hz, not 16 kHz")
        if (extractor.num_mel_bins, extractor.max_length) != (config.num_mel_bins, config.max_length):
            raise ValueError(
                f"{source}: feature extractor ({extractor.num_mel_bins} mels x {extractor.max_length} "
                f"frames) does not match the model ({config.num_mel_bins} x {config.max_length})"
            )

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def version(self) -> str:
        return f"{self.model_id}@{self.sha8}"

    def featurize(self, segments: np.ndarray) -> np.ndarray:
        """float32 [S, samples] at 16 kHz -> float32 [S, hidden_size] (AST's pooled CLS+distill token)."""
        import torch

        if segments.ndim != 2 or segments.shape[0] == 0:
            raise ValueError(f"expected [segments, samples], got shape {segments.shape}")
        device = next(self.model.parameters()).device
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, segments.shape[0], self.batch_size):
                batch = [np.asarray(s, dtype=np.float32) for s in segments[start : start + self.batch_size]]
                inputs = self.extractor(batch, sampling_rate=AST_SAMPLE_RATE, return_tensors="pt")
                pooled = self.model(input_values=inputs["input_values"].to(device)).pooler_output
                out.append(pooled.float().cpu().numpy())
        return np.concatenate(out)
