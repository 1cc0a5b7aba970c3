"""The music embedding as a soft token: a linear projector from the track's music features into the
LLM's input-embedding space (the paper's linear projection into Vicuna's token space).

Features [segments, D] are mean-pooled to [D], layer-normalised (feature scales differ across encoders),
then mapped to `num_tokens` vectors of the LLM's hidden size.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

PROJECTOR_WEIGHTS = "projector.safetensors"
PROJECTOR_CONFIG = "projector.json"
PROJECTOR_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ProjectorConfig:
    in_dim: int
    hidden_size: int
    num_tokens: int = 1
    version: int = PROJECTOR_FORMAT_VERSION

    def __post_init__(self) -> None:
        if min(self.in_dim, self.hidden_size, self.num_tokens) < 1:
            raise ValueError(f"projector dimensions must be positive: {self}")


def build_projector(cfg: ProjectorConfig, target_std: float | None = None) -> torch.nn.Module:
    """LayerNorm + Linear. `target_std` (the std of the LLM's embedding rows) scales the initial output
    so the soft token starts at the magnitude of a real token instead of drowning the prompt."""
    import torch

    proj = torch.nn.Sequential(
        torch.nn.LayerNorm(cfg.in_dim), torch.nn.Linear(cfg.in_dim, cfg.num_tokens * cfg.hidden_size)
    )
    if target_std is not None:
        linear = proj[1]
        assert isinstance(linear, torch.nn.Linear)
        torch.nn.init.normal_(linear.weight, std=target_std / cfg.in_dim**0.5)
        torch.nn.init.zeros_(linear.bias)
    return proj


def project(projector: torch.nn.Module, cfg: ProjectorConfig, features: np.ndarray | torch.Tensor) -> torch.Tensor:
    """[segments, D] music features → [num_tokens, hidden] soft-token embeddings."""
    import torch

    x = torch.as_tensor(np.asarray(features, dtype=np.float32) if isinstance(features, np.ndarray) else features)
    if x.ndim != 2 or x.shape[1] != cfg.in_dim:
        raise ValueError(f"music features must be [segments, {cfg.in_dim}], got {tuple(x.shape)}")
    weight = next(projector.parameters())
    pooled = x.to(weight.dtype).mean(dim=0)
    return projector(pooled).reshape(cfg.num_tokens, cfg.hidden_size)


def save_projector(projector: torch.nn.Module, cfg: ProjectorConfig, directory: Path) -> None:
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().contiguous() for k, v in projector.state_dict().items()}
    save_file(state, str(directory / PROJECTOR_WEIGHTS))
    (directory / PROJECTOR_CONFIG).write_text(json.dumps(asdict(cfg), indent=2) + "\n")


def has_projector(directory: Path) -> bool:
    return (directory / PROJECTOR_WEIGHTS).is_file() and (directory / PROJECTOR_CONFIG).is_file()


def load_projector(directory: Path) -> tuple[torch.nn.Module, ProjectorConfig]:
    from safetensors.torch import load_file

    raw = json.loads((directory / PROJECTOR_CONFIG).read_text())
    if raw.get("version") != PROJECTOR_FORMAT_VERSION:
        raise ValueError(
            f"{directory / PROJECTOR_CONFIG}: projector format version {raw.get('version')} is not "
            f"{PROJECTOR_FORMAT_VERSION}"
        )
    cfg = ProjectorConfig(**raw)
    projector = build_projector(cfg)
    projector.load_state_dict(load_file(str(directory / PROJECTOR_WEIGHTS)))
    projector.eval()
    return projector, cfg
