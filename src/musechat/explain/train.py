"""Adapter training: LoRA (peft) on the base LLM plus the music projector, on
(music features, metadata, words) → explanation examples.

The output directory is what vLLM's `--lora-modules name=DIR` loads (adapter_config.json +
adapter_model.safetensors), with the projector beside it (projector.safetensors + projector.json),
which vLLM ignores and the explainer reads to build the soft token.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from musechat.explain.data import ExplanationExample
from musechat.explain.embeddings import embed_prompt, token_ids
from musechat.explain.projector import ProjectorConfig, build_projector, project, save_projector
from musechat.explain.prompt import ExplainPrompt, build_prompt

TRAINING_INFO = "musechat_training.json"


@dataclass(frozen=True)
class TrainConfig:
    base_model: Path
    out_dir: Path
    steps: int = 60
    batch_size: int = 2
    lr: float = 3e-4
    projector_lr: float = 1e-3
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    # LoRA only on these decoder layers (None: all). Top layers only make a step ≈2x cheaper: the frozen
    # layers below need no backward pass — but then the music token cannot be trained (it enters at layer 0).
    lora_layers: tuple[int, ...] | None = None
    music_tokens: int = 1
    music_dropout: float = 0.5  # share of examples trained without the soft token: one adapter, both modes
    max_target_tokens: int = 96
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"  # "bfloat16" for a 7B base on a GPU
    threads: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1, got {self.steps}, {self.batch_size}")
        if not 0.0 <= self.music_dropout <= 1.0:
            raise ValueError(f"music_dropout must be in [0, 1], got {self.music_dropout}")


@dataclass
class TrainReport:
    out_dir: str
    steps: int
    examples: int
    seconds: float
    first_loss: float
    last_loss: float
    losses: list[float] = field(default_factory=list)


def training_prompt(ex: ExplanationExample, music: bool) -> ExplainPrompt:
    """The served prompt less its given start: the reference is the whole answer, opener included, so the
    adapter learns to write openers like the ones a served prompt gives, and to continue after them."""
    served = build_prompt(ex.track, ex.user_words, ex.history, music=music, previous=ex.previous, video=ex.video)
    return replace(served, answer_prefix="")


def _batch(
    examples: Sequence[ExplanationExample],
    with_music: Sequence[bool],
    tokenizer: Any,
    embed: Any,
    projector: Any,
    pcfg: ProjectorConfig,
    cfg: TrainConfig,
) -> tuple[Any, Any, Any]:
    """inputs_embeds [B, T, H], attention mask [B, T], labels [B, T] (-100 except on the answer)."""
    import torch

    rows: list[Any] = []
    labels: list[list[int]] = []
    eos = tokenizer.eos_token_id
    for ex, music_on in zip(examples, with_music, strict=True):
        prompt = training_prompt(ex, music_on)
        music = project(projector, pcfg, ex.music_features) if music_on else None
        prefix = embed_prompt(tokenizer, embed, prompt, music)
        answer = [*token_ids(tokenizer, ex.reference.strip())[:cfg.max_target_tokens], eos]
        answer_emb = embed(torch.tensor(answer))
        rows.append(torch.cat([prefix, answer_emb.to(prefix.dtype)], dim=0))
        labels.append([-100] * prefix.shape[0] + answer)
    width = max(r.shape[0] for r in rows)
    hidden = rows[0].shape[1]
    x = torch.zeros(len(rows), width, hidden, dtype=rows[0].dtype)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    y = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, (r, lab) in enumerate(zip(rows, labels, strict=True)):
        x[i, : r.shape[0]] = r
        mask[i, : r.shape[0]] = 1
        y[i, : len(lab)] = torch.tensor(lab)
    return x, mask, y


def _answer_loss(peft_model: Any, x: Any, mask: Any, y: Any) -> Any:
    """Next-token cross-entropy on the answer positions only. The vocabulary projection (≈20% of a
    small model's compute) runs just there instead of over the whole prompt."""
    import torch

    base = peft_model.get_base_model()  # LoRA layers live inside it
    hidden = base.model(inputs_embeds=x, attention_mask=mask).last_hidden_state
    targets = y[:, 1:]
    keep = targets != -100
    logits = base.lm_head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def train_adapter(examples: Sequence[ExplanationExample], cfg: TrainConfig) -> TrainReport:
    import torch
    from peft import LoraConfig, get_peft_model
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not examples:
        raise ValueError("no training examples")
    if any(not e.reference.strip() for e in examples):
        raise ValueError("every training example needs a reference explanation")
    dims = {e.music_features.shape[1] for e in examples}
    if len(dims) != 1:
        raise ValueError(f"music features of mixed widths: {sorted(dims)}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    dtype = getattr(torch, cfg.dtype)

    tokenizer = AutoTokenizer.from_pretrained(str(cfg.base_model))
    model: Any = AutoModelForCausalLM.from_pretrained(str(cfg.base_model), dtype=dtype)
    model = model.to(cfg.device)
    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.target_modules),
        layers_to_transform=None if cfg.lora_layers is None else list(cfg.lora_layers),
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, lora)
    embed = peft_model.get_input_embeddings()
    emb_std = float(embed.weight.detach().float().std())
    pcfg = ProjectorConfig(in_dim=dims.pop(), hidden_size=int(model.config.hidden_size), num_tokens=cfg.music_tokens)
    projector = build_projector(pcfg, target_std=emb_std).to(cfg.device, dtype)
    optim = torch.optim.AdamW(
        [
            {"params": [p for p in peft_model.parameters() if p.requires_grad], "lr": cfg.lr},
            {"params": list(projector.parameters()), "lr": cfg.projector_lr},
        ],
        weight_decay=0.0,
    )
    warmup = max(1, cfg.steps // 10)

    def lr_factor(step: int) -> float:  # linear warm-up, cosine decay
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, cfg.steps - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_factor)
    peft_model.train()
    order: list[int] = []
    losses: list[float] = []
    started = time.monotonic()
    bar = tqdm(range(cfg.steps), desc="explainer train", disable=not cfg.progress)
    for _ in bar:
        if len(order) < cfg.batch_size:
            fresh = list(range(len(examples)))
            rng.shuffle(fresh)
            order.extend(fresh)
        idx, order = order[: cfg.batch_size], order[cfg.batch_size :]
        batch = [examples[i] for i in idx]
        music_on = [rng.random() >= cfg.music_dropout for _ in batch]
        x, mask, y = _batch(batch, music_on, tokenizer, embed, projector, pcfg, cfg)
        loss = _answer_loss(peft_model, x.to(cfg.device), mask.to(cfg.device), y.to(cfg.device))
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in optim.param_groups for p in g["params"]], 1.0)
        optim.step()
        sched.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    bar.close()

    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out_dir))
    save_projector(projector, pcfg, out_dir)
    report = TrainReport(
        out_dir=str(out_dir),
        steps=cfg.steps,
        examples=len(examples),
        seconds=round(time.monotonic() - started, 1),
        first_loss=round(losses[0], 4),
        last_loss=round(sum(losses[-10:]) / len(losses[-10:]), 4),
        losses=[round(v, 4) for v in losses],
    )
    info = {"config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
            "report": {k: v for k, v in asdict(report).items() if k != "losses"}}  # fmt: skip
    (out_dir / TRAINING_INFO).write_text(json.dumps(info, indent=2) + "\n")
    return report


# ------------------------------------------------------------------------------ the default adapter
DEFAULT_ADAPTER_NAME = "explainer"
# The recipe of the adapter the demo and `serve` use by default: facts-format examples (datasets.
# facts_examples), LoRA r=8 on q/k/v/o of the top 10 of 30 layers, no music token (its projector would need
# the backward pass through all 30 layers: ≈2x the cost per step). 150 steps of 4 examples; format 3: match
# praise only where the request is not unmet, the tempo comparison stated in the prompt; format 4: the
# references never copy the previous pick's tempo; measured cost in
# docs/explainer.md ("Default adapter"). Changing the recipe changes the cache key, so a cached adapter is
# never one of another recipe.
DEFAULT_RECIPE: dict[str, Any] = {"examples": 800, "data_seed": 0, "steps": 150, "batch_size": 4, "lr": 1e-3,
                                  "projector_lr": 1e-3, "seed": 0, "format": 4, "lora_layers": [20, 30],
                                  "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
                                  "music_dropout": 1.0}  # fmt: skip
_DONE = "musechat_default_adapter.json"


def default_adapter_dir(root: Path) -> Path:
    import hashlib

    key = hashlib.sha256(json.dumps(DEFAULT_RECIPE, sort_keys=True).encode()).hexdigest()[:10]
    return Path(root) / "adapters" / f"explainer-default-{key}"


def default_adapter_ready(root: Path) -> bool:
    return (default_adapter_dir(root) / _DONE).is_file()


def ensure_default_adapter(base_model: Path, root: Path, *, threads: int | None = None,
                           progress: bool = True) -> Path:
    """The default adapter under `root`, trained once with DEFAULT_RECIPE and cached (a marker file is
    written last, so an interrupted run is redone; a lock file keeps two processes from training at once).

    Measured on the shared 2-core CPU: see docs/explainer.md ("Default adapter")."""
    import fcntl

    from musechat.explain.datasets import facts_examples

    out = default_adapter_dir(root)
    if (out / _DONE).is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / _DONE).is_file():
            return out
        r = DEFAULT_RECIPE
        examples = facts_examples(r["examples"], seed=r["data_seed"])
        cfg = TrainConfig(base_model=Path(base_model), out_dir=out, steps=r["steps"], batch_size=r["batch_size"],
                          lr=r["lr"], projector_lr=r["projector_lr"], seed=r["seed"], threads=threads,
                          lora_layers=tuple(range(*r["lora_layers"])), target_modules=tuple(r["target_modules"]),
                          music_dropout=r["music_dropout"], progress=progress)  # fmt: skip
        if progress:
            print(f"training the default explainer adapter once ({r['steps']} steps; cached in {out})", flush=True)
        report = train_adapter(examples, cfg)
        (out / _DONE).write_text(json.dumps({"recipe": r, "seconds": report.seconds,
                                             "first_loss": report.first_loss, "last_loss": report.last_loss}))
    return out
