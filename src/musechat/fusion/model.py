"""MVT-Fusion: a query tower (video + candidate music + words -> 256-d) and a music tower (track -> 256-d).

One implementation, seven variants chosen by ``FusionConfig.variant`` (docs/fusion.md#variants):
``mvp`` video only; ``sum`` pooled projections added; ``self_attn`` self-attention per modality, then
fuse; ``cross_attn`` text <-> candidate cross-attention without self-attention; ``musechat`` the full
triode (text <-> candidate cross-attention, a joint fusion layer over all three modalities, and an MLP
over the per-modality pooled vectors plus the joint summary token); ``no_video`` / ``no_candidate`` the
full triode with one input removed.

Masks are boolean with True = a valid row. A modality is *absent* for a sample when its mask row is all
False (or the tensor is None for the whole batch, e.g. turn 1 without candidate and words): every
modality sequence starts with a learned null token that is always visible, so attention stays defined
and an absent modality reads as "nothing said".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

CONFIG_SCHEMA_VERSION = 2  # 2: the triode without per-modality self-attention (v1 checkpoints do not load)
Variant = Literal["mvp", "sum", "self_attn", "cross_attn", "musechat", "no_video", "no_candidate"]
VARIANTS: tuple[Variant, ...] = ("mvp", "sum", "self_attn", "cross_attn", "musechat", "no_video", "no_candidate")
BASELINES: tuple[Variant, ...] = ("sum", "mvp", "self_attn", "cross_attn", "musechat")
ABLATIONS: tuple[Variant, ...] = ("no_video", "no_candidate")
_USES = {  # which inputs each variant reads: (video, candidate, text)
    "mvp": (True, False, False),
    "sum": (True, True, True),
    "self_attn": (True, True, True),
    "cross_attn": (True, True, True),
    "musechat": (True, True, True),
    "no_video": (False, True, True),
    "no_candidate": (True, False, True),
}


class InputDims(BaseModel):
    """Feature widths, read from the dataset manifest / encoder specs (never constants in code)."""

    model_config = ConfigDict(extra="forbid")
    video: int = Field(gt=0)
    music: int = Field(gt=0)
    text: int = Field(gt=0)
    max_segments: int = Field(default=12, gt=0)


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_size: int = Field(default=256, gt=1)
    epochs: float = Field(default=4.0, gt=0)
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_frac: float = Field(default=0.05, ge=0, lt=1)
    grad_clip: float = Field(default=1.0, gt=0)
    p_turn1: float = Field(default=0.25, ge=0, le=1, description="Modality dropout: drop candidate+words.")
    text_token_dropout: float = Field(default=0.1, ge=0, lt=1)
    seed: int = 0
    checkpoint_every: int = Field(default=200, gt=0)


class FusionConfig(BaseModel):
    """A fusion variant: architecture + training hyper-parameters; ``dims`` is filled from the data."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = CONFIG_SCHEMA_VERSION
    variant: Variant
    dims: InputDims | None = None
    d_model: int = Field(default=128, gt=0)
    out_dim: int = Field(default=256, gt=0)
    n_heads: int = Field(default=4, gt=0)
    ff_mult: int = Field(default=2, gt=0)
    fusion_layers: int = Field(default=1, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    temperature_init: float = Field(default=0.07, gt=0)
    turn1_branch: bool = Field(default=False, description="Triode: a video-only branch of its own (the "
                               "video-only model's self-attention and head) answers turn-1 queries.")
    train: TrainConfig = Field(default_factory=TrainConfig)

    @property
    def uses(self) -> tuple[bool, bool, bool]:
        return _USES[self.variant]

    def require_dims(self) -> InputDims:
        if self.dims is None:
            raise ValueError("FusionConfig.dims is unset: fill it from the dataset manifest before building")
        return self.dims


def load_config(path_or_name: str | Path) -> FusionConfig:
    """A bundled variant config by name (``musechat``, ``mvp``, ...) or a JSON file path."""
    from importlib import resources

    name = str(path_or_name)
    bundled = resources.files("musechat.fusion") / "configs" / f"{name}.json"
    raw = bundled.read_text(encoding="utf-8") if bundled.is_file() else Path(name).read_text(encoding="utf-8")
    data = json.loads(raw)
    version = data.get("schema_version", CONFIG_SCHEMA_VERSION)
    if version != CONFIG_SCHEMA_VERSION:
        raise ValueError(f"fusion config schema_version {version} unsupported (expected {CONFIG_SCHEMA_VERSION})")
    return FusionConfig.model_validate(data)


class _Attention(nn.Module):
    """Pre-norm residual attention + feed-forward block; self-attention when ``context`` is None.

    Plain ``scaled_dot_product_attention`` with a boolean key mask: on CPU it is several times faster
    than ``nn.MultiheadAttention`` with a key-padding mask for these short sequences.
    """

    def __init__(self, d: int, heads: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        if d % heads:
            raise ValueError(f"d_model {d} is not divisible by n_heads {heads}")
        self.heads = heads
        self.norm_q = nn.LayerNorm(d)
        self.norm_kv = nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)
        self.norm_ff = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, d * ff_mult), nn.GELU(), nn.Dropout(dropout), nn.Linear(d * ff_mult, d))
        self.drop = nn.Dropout(dropout)
        self.p_attn = dropout

    def forward(self, x: Tensor, mask: Tensor, context: Tensor | None = None, ctx_mask: Tensor | None = None) -> Tensor:
        b, n, d = x.shape
        h = self.heads
        q_in = self.norm_q(x)
        if context is None:
            kv_in, kv_mask = q_in, mask
        else:
            assert ctx_mask is not None
            kv_in, kv_mask = self.norm_kv(context), ctx_mask
        q = self.q(q_in).view(b, n, h, d // h).transpose(1, 2)
        k, v = self.kv(kv_in).view(b, kv_in.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(
            q, k, v, attn_mask=kv_mask[:, None, None, :], dropout_p=self.p_attn if self.training else 0.0
        )
        x = x + self.drop(self.out(att.transpose(1, 2).reshape(b, n, d)))
        return x + self.drop(self.ff(self.norm_ff(x)))


class _Input(nn.Module):
    """Linear projection of per-row features to d_model, with optional segment positions."""

    def __init__(self, in_dim: int, d: int, max_rows: int | None) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, d)
        self.norm = nn.LayerNorm(d)
        self.pos = nn.Parameter(torch.zeros(max_rows, d)) if max_rows else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm(self.proj(x))
        if self.pos is not None:
            h = h + self.pos[: h.shape[1]]
        return h


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over valid rows ([B, N, D], [B, N] -> [B, D]); an all-invalid row gives zeros."""
    w = mask.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(1) / w.sum(1).clamp(min=1.0)


class MusicTower(nn.Module):
    """Track features [B, S, Da] (+ mask) -> L2-normalised [B, out_dim]."""

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        dims, d = cfg.require_dims(), cfg.d_model
        self.input = _Input(dims.music, d, dims.max_segments)
        # Mean over segments, then an MLP: the catalog is embedded once per track, and a per-segment
        # attention block bought no accuracy on the benchmark for 2x the training cost on CPU.
        self.head = nn.Sequential(
            nn.LayerNorm(d), nn.Linear(d, d * cfg.ff_mult), nn.GELU(), nn.Linear(d * cfg.ff_mult, cfg.out_dim)
        )

    def forward(self, music: Tensor, mask: Tensor) -> Tensor:
        return F.normalize(self.head(masked_mean(self.input(music), mask)), dim=-1)


class QueryTower(nn.Module):
    """Video [B,S,Dv], candidate music [B,S,Da] | None, word tokens [B,L,Dt] | None -> [B, out_dim].

    Turn 1 passes candidate and words as None (or all-False masks); the variant decides which inputs
    it reads at all. ``music_input`` is the music tower's projection, shared so the candidate and the
    catalog live in one feature space.
    """

    def __init__(self, cfg: FusionConfig, music_input: _Input) -> None:
        super().__init__()
        dims, d = cfg.require_dims(), cfg.d_model
        self.variant = cfg.variant
        self.use_video, self.use_candidate, self.use_text = cfg.uses
        blk = (d, cfg.n_heads, cfg.ff_mult, cfg.dropout)
        self.video_in = _Input(dims.video, d, dims.max_segments)
        self.music_in = music_input
        self.text_in = _Input(dims.text, d, None)
        self.null = nn.Parameter(torch.randn(3, d) * 0.02)  # video, candidate, words
        v = self.variant
        triode = v in ("musechat", "no_video", "no_candidate")
        # The triode: text <-> candidate cross-attention, then one joint layer over all three modalities,
        # read through the pooled-and-mixed output path. Per-modality self-attention ahead of it made
        # training unstable at the shared learning rate (R@1 50.7-58.5 over 3 seeds; 61.6 and 65.1 without
        # it; docs/fusion.md), and the joint layer already attends within each modality.
        per_modality = v == "self_attn"
        self.self_video = _Attention(*blk) if (per_modality and self.use_video) or v == "mvp" else None
        self.self_cand = _Attention(*blk) if per_modality and self.use_candidate else None
        self.self_text = _Attention(*blk) if per_modality and self.use_text else None
        cross = v == "cross_attn" or (triode and self.use_candidate and self.use_text)
        self.cand_from_text = _Attention(*blk) if cross else None
        self.text_from_cand = _Attention(*blk) if cross else None
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02) if triode else None
        self.type_emb = nn.Parameter(torch.randn(4, d) * 0.02) if triode else None
        self.fusion = nn.ModuleList(_Attention(*blk) for _ in range(cfg.fusion_layers)) if triode else None
        self.mix: nn.Module | None = None
        if v == "sum":  # the paper's Sum-Fusion: add the projected vectors, then one shared MLP
            self.mix = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
        elif v in ("self_attn", "cross_attn"):  # fuse the per-modality summaries by concatenation
            self.mix = nn.Sequential(nn.Linear(sum(cfg.uses) * d, d), nn.GELU(), nn.Linear(d, d))
        elif triode:
            # The per-modality summaries and the joint summary token, concatenated, through an MLP as wide
            # as its input: a d-wide hidden layer was a bottleneck for combining the style (video) with the
            # attributes (candidate + words); R@1 36.3 -> 39.1 on the benchmark.
            w = (sum(cfg.uses) + 1) * d
            self.mix = nn.Sequential(nn.Linear(w, w), nn.GELU(), nn.Linear(w, d))
        self.head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, cfg.out_dim))
        # Turn 1 (video alone) through the triode's joint layer was well below the video-only model (R@1
        # 12 vs 20 on val); a branch of the video-only model's shape, trained on the turn-1 samples of
        # modality dropout and sharing the music tower, matches it (docs/fusion.md).
        self.turn1_video = _Attention(*blk) if triode and cfg.turn1_branch and self.use_video else None
        self.turn1_head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, cfg.out_dim)) if self.turn1_video else None

    def _seq(self, which: int, h: Tensor | None, mask: Tensor | None, batch: int, ref: Tensor) -> tuple[Tensor, Tensor]:
        """Prepend the modality's null token; an absent modality is the null token alone."""
        null = self.null[which].expand(batch, 1, -1)
        one = torch.ones(batch, 1, dtype=torch.bool, device=ref.device)
        if h is None or mask is None:
            return null, one
        return torch.cat([null, h], 1), torch.cat([one, mask], 1)

    def forward(
        self,
        video: Tensor,
        video_mask: Tensor,
        candidate: Tensor | None = None,
        candidate_mask: Tensor | None = None,
        text: Tensor | None = None,
        text_mask: Tensor | None = None,
    ) -> Tensor:
        b = video.shape[0]
        vh = self.video_in(video) if self.use_video else None
        ch = self.music_in(candidate) if (self.use_candidate and candidate is not None) else None
        th, text_rows = None, text_mask
        if self.use_text and text is not None and text_mask is not None:
            # A sentence token (mean of the encoder's token features, i.e. the sentence embedding the
            # text model was trained for) ahead of the tokens: paraphrases land close to each other there.
            sentence = masked_mean(text, text_mask)[:, None]
            th = self.text_in(torch.cat([sentence, text], 1))
            text_rows = torch.cat([text_mask.any(1, keepdim=True), text_mask], 1)
        vs, vm = self._seq(0, vh, video_mask if vh is not None else None, b, video)
        cs, cm = self._seq(1, ch, candidate_mask if ch is not None else None, b, video)
        ts, tm = self._seq(2, th, text_rows if th is not None else None, b, video)
        video_seq = vs
        if self.self_video is not None:
            vs = self.self_video(vs, vm)
        if self.self_cand is not None:
            cs = self.self_cand(cs, cm)
        if self.self_text is not None:
            ts = self.self_text(ts, tm)
        if self.cand_from_text is not None and self.text_from_cand is not None:
            cs, ts = self.cand_from_text(cs, cm, ts, tm), self.text_from_cand(ts, tm, cs, cm)
        pools = [masked_mean(s, m) for s, m, used in zip((vs, cs, ts), (vm, cm, tm), self._uses(), strict=True) if used]
        if self.fusion is not None:
            assert self.cls is not None and self.type_emb is not None and self.mix is not None
            parts = [self.cls.expand(b, 1, -1) + self.type_emb[0]]
            masks = [torch.ones(b, 1, dtype=torch.bool, device=video.device)]
            for k, (seq, m, used) in enumerate(zip((vs, cs, ts), (vm, cm, tm), self._uses(), strict=True)):
                if used:
                    parts.append(seq + self.type_emb[k + 1])
                    masks.append(m)
            x, xm = torch.cat(parts, 1), torch.cat(masks, 1)
            for layer in self.fusion:
                x = layer(x, xm)
            pooled = self.mix(torch.cat([*pools, x[:, 0]], -1))
        else:
            assert self.mix is not None or self.variant == "mvp"
            if self.variant == "mvp":
                pooled = pools[0]
            elif self.variant == "sum":
                assert self.mix is not None
                pooled = self.mix(torch.stack(pools).sum(0))
            else:
                assert self.mix is not None
                pooled = self.mix(torch.cat(pools, -1))
        q = self.head(pooled)
        if self.turn1_video is not None and self.turn1_head is not None:
            seen = torch.zeros(b, dtype=torch.bool, device=video.device)  # candidate or words present
            for rows in (cm[:, 1:] if ch is not None else None, tm[:, 1:] if th is not None else None):
                if rows is not None:
                    seen |= rows.any(1)
            q1 = self.turn1_head(masked_mean(self.turn1_video(video_seq, vm), vm))
            q = torch.where(seen[:, None], q, q1)
        return F.normalize(q, dim=-1)

    def _uses(self) -> tuple[bool, bool, bool]:
        return (self.use_video, self.use_candidate, self.use_text)


class FusionModel(nn.Module):
    """Both towers and the learnable InfoNCE temperature (stored as log of the logit scale)."""

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        self.config = cfg
        self.music = MusicTower(cfg)
        self.query = QueryTower(cfg, self.music.input)
        self.logit_scale = nn.Parameter(torch.tensor(1.0 / cfg.temperature_init).log())

    def encode_query(
        self,
        video: Tensor,
        video_mask: Tensor,
        candidate: Tensor | None = None,
        candidate_mask: Tensor | None = None,
        text_tokens: Tensor | None = None,
        text_mask: Tensor | None = None,
    ) -> Tensor:
        return self.query(video, video_mask, candidate, candidate_mask, text_tokens, text_mask)

    def encode_music(self, music: Tensor, mask: Tensor) -> Tensor:
        return self.music(music, mask)


def save_checkpoint(model: FusionModel, run_dir: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """``run_dir/model.safetensors`` + ``run_dir/config.json`` (versioned); returns the weights path."""
    from safetensors.torch import save_model

    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "model.safetensors"
    save_model(
        model, str(weights), metadata={"schema_version": str(CONFIG_SCHEMA_VERSION), "variant": model.config.variant}
    )
    payload = model.config.model_dump(mode="json")
    if extra:
        payload["_run"] = extra
    (out / "config.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return weights


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[FusionModel, FusionConfig]:
    """Load a run directory or its ``model.safetensors`` (config.json beside it); model in eval mode."""
    from safetensors.torch import load_model

    p = Path(path)
    run_dir = p if p.is_dir() else p.parent
    weights = p if p.is_file() else run_dir / "model.safetensors"
    cfg_path = run_dir / "config.json"
    if not weights.is_file() or not cfg_path.is_file():
        raise FileNotFoundError(f"{path}: expected model.safetensors and config.json in {run_dir}")
    raw = json.loads(cfg_path.read_text(encoding="utf-8"))
    raw.pop("_run", None)
    version = raw.get("schema_version")
    if version != CONFIG_SCHEMA_VERSION:
        raise ValueError(f"{cfg_path}: schema_version {version!r} unsupported (expected {CONFIG_SCHEMA_VERSION})")
    cfg = FusionConfig.model_validate(raw)
    model = FusionModel(cfg)
    load_model(model, str(weights), device=str(device))
    return model.to(device).eval(), cfg
