"""Training loop for one fusion variant: seeded, resumable, safetensors checkpoints, tqdm progress."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musechat.fusion.data import QuartetDataset

if TYPE_CHECKING:
    import torch

    from musechat.fusion.model import FusionConfig, FusionModel, TrainConfig

STATE_FILE = "train_state.pt"


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    variant: str
    steps: int
    samples: int
    seconds: float
    cpu_seconds: float  # this process's CPU time: on a shared machine, wall time overstates the cost
    samples_per_s: float
    final_loss: float

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "variant": self.variant,
            "steps": self.steps,
            "samples": self.samples,
            "seconds": round(self.seconds, 2),
            "cpu_seconds": round(self.cpu_seconds, 2),
            "samples_per_s": round(self.samples_per_s, 1),
            "final_loss": round(self.final_loss, 4),
        }


class TensorSet:
    """A quartet dataset held in memory as float16 tensors, with boolean masks built per batch."""

    def __init__(self, ds: QuartetDataset) -> None:
        import torch

        self.n = len(ds)
        self.dims = ds.dims
        self.video = torch.from_numpy(ds.array("video"))
        self.target = torch.from_numpy(ds.array("target"))
        self.candidate = torch.from_numpy(ds.array("candidate"))
        self.text = torch.from_numpy(ds.array("text_tokens"))
        self.lens = {
            k: torch.from_numpy(ds.array(f"{k}_len").astype(np.int64)) for k in ("video", "target", "candidate", "text")
        }
        # Track ids -> integer codes so the loss can tell "the same song" across quartets.
        codes: dict[str, int] = {}
        self.target_keys = torch.tensor([codes.setdefault(r["target_track_id"], len(codes)) for r in ds.records])
        self.candidate_keys = torch.tensor([codes.setdefault(r["candidate_track_id"], len(codes)) for r in ds.records])

    def batch(self, idx: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor]:
        import torch

        out: dict[str, torch.Tensor] = {}
        for key, arr in (
            ("video", self.video),
            ("target", self.target),
            ("candidate", self.candidate),
            ("text", self.text),
        ):
            lens = self.lens[key][idx]
            width = max(int(lens.max()), 1)  # trim padding to the longest row in the batch
            out[key] = arr[idx, :width].to(device=device, dtype=torch.float32)
            out[f"{key}_mask"] = (torch.arange(width)[None, :] < lens[:, None]).to(device)
        # The hard negative is the whole candidate track even when modality dropout hides it from the query.
        out["candidate_track_mask"] = out["candidate_mask"].clone()
        out["target_keys"] = self.target_keys[idx].to(device)
        out["candidate_keys"] = self.candidate_keys[idx].to(device)
        return out


def pick_device(name: str = "auto") -> torch.device:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def apply_modality_dropout(
    batch: dict[str, torch.Tensor], p_turn1: float, p_token: float, gen: torch.Generator
) -> torch.Tensor:
    """Turn some samples into turn-1 samples (no candidate, no words) and drop some word tokens.

    In place on the masks; returns which samples became turn-1 samples ([B] bool). Token dropout keeps
    at least the first token ([CLS]) of a present text, so wording must be read from what remains
    (robustness to unseen paraphrases).
    """
    import torch

    b = batch["video"].shape[0]
    turn1 = torch.rand(b, generator=gen) < p_turn1
    turn1 = turn1.to(batch["video"].device)
    batch["candidate_mask"] &= ~turn1[:, None]
    batch["text_mask"] &= ~turn1[:, None]
    if p_token > 0:
        tm = batch["text_mask"]
        keep = (torch.rand(tm.shape, generator=gen) >= p_token).to(tm.device)
        keep[:, 0] = True
        batch["text_mask"] = tm & keep
    return turn1


@dataclass(frozen=True)
class StepPlan:
    """How many optimizer steps a run takes: whole batches per epoch, the total, the warm-up."""

    steps_per_epoch: int
    total: int
    warmup: int

    @classmethod
    def of(cls, n_quartets: int, tc: TrainConfig, steps: int | None) -> StepPlan:
        """``steps`` overrides ``tc.epochs``; warm-up is ``tc.warmup_frac`` of the total (at least one step)."""
        steps_per_epoch = n_quartets // tc.batch_size
        total = steps if steps is not None else max(1, round(tc.epochs * steps_per_epoch))
        return cls(steps_per_epoch, total, max(1, round(tc.warmup_frac * total)))


def train_variant(
    cfg: FusionConfig,
    data_dir: str | Path,
    run_dir: str | Path,
    *,
    steps: int | None = None,
    resume: bool = False,
    device: str = "auto",
    threads: int | None = 1,
    stop_after: int | None = None,
    progress: bool = True,
    init_checkpoint: str | Path | None = None,
) -> TrainResult:
    """Train ``cfg.variant`` on the quartets in ``data_dir``; writes model.safetensors + config.json.

    ``steps`` overrides ``cfg.train.epochs``; ``stop_after`` ends this invocation after that many steps
    (a time-sliced or preemptible job) with a resumable state. ``init_checkpoint`` starts from that run's
    weights (a retrain on new feedback fine-tunes the live model instead of forgetting it).
    ``threads`` caps torch's CPU threads: on a shared 2-core
    machine one thread per job was ~10x faster than two (no spin-waiting on busy cores).
    """
    import torch
    from tqdm import tqdm

    if threads:
        torch.set_num_threads(threads)
    run = Path(run_dir)
    ds = QuartetDataset(data_dir)
    cfg = with_dataset_dims(cfg, ds)
    tc = cfg.train
    if len(ds) < tc.batch_size:
        raise ValueError(f"{data_dir} holds {len(ds)} quartets, fewer than batch_size {tc.batch_size}")
    data = TensorSet(ds)
    dev = pick_device(device)
    plan = StepPlan.of(len(ds), tc, steps)
    model, opt, sched = _build_model(cfg, plan, dev, init_checkpoint)
    state_path = run / STATE_FILE
    start = 0
    if resume and state_path.is_file():
        start = _resume(state_path, model, opt, sched, cfg.variant, plan.total, dev)

    def save(step: int, loss: float) -> None:
        _save_run(run, model, opt, sched, step=step, total=plan.total, variant=cfg.variant, loss=loss,
                  data_dir=Path(data_dir))

    model.train()
    loss_value = float("nan")
    t0, c0 = time.perf_counter(), time.process_time()
    end = plan.total if stop_after is None else min(plan.total, start + stop_after)
    bar = tqdm(total=plan.total, initial=start, desc=f"train {cfg.variant}", unit="step", disable=not progress)
    for step in range(start, end):
        loss_value = _train_step(model, opt, sched, data, step, plan, tc, dev)
        done = step + 1 - start
        bar.set_postfix(loss=f"{loss_value:.3f}", sps=f"{done * tc.batch_size / (time.perf_counter() - t0):.0f}")
        bar.update(1)
        if (step + 1) % tc.checkpoint_every == 0 and step + 1 < end:
            save(step + 1, loss_value)
    bar.close()
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    model.eval()
    save(end, loss_value)
    samples = (end - start) * tc.batch_size
    result = TrainResult(run, cfg.variant, end, samples, seconds, cpu_seconds, samples / max(seconds, 1e-9), loss_value)
    (run / "train_result.json").write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    return result


def with_dataset_dims(cfg: FusionConfig, ds: QuartetDataset) -> FusionConfig:
    """The config with the input widths of the dataset's manifest (the encoders' specs), never constants."""
    from musechat.fusion.model import InputDims

    dims = InputDims(video=ds.dims.video, music=ds.dims.music, text=ds.dims.text, max_segments=ds.dims.max_segments)
    return cfg.model_copy(update={"dims": dims})


def _build_model(cfg: FusionConfig, plan: StepPlan, dev: torch.device, init_checkpoint: str | Path | None
                 ) -> tuple[FusionModel, torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """Seeded model (from ``init_checkpoint``'s weights when given), AdamW, warm-up + cosine schedule."""
    import torch

    from musechat.fusion.model import FusionModel

    tc = cfg.train
    torch.manual_seed(tc.seed)
    model = FusionModel(cfg).to(dev)
    if init_checkpoint is not None:  # a resumed state overrides it
        from safetensors.torch import load_model

        load_model(model, str(Path(init_checkpoint) / "model.safetensors"), device=str(dev))
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, plan.total, plan.warmup))
    return model, opt, sched


def _resume(state_path: Path, model: FusionModel, opt: torch.optim.Optimizer,
            sched: torch.optim.lr_scheduler.LambdaLR, variant: str, total: int, dev: torch.device) -> int:
    """Load a saved training state into model, optimizer and schedule; the step to continue from."""
    import torch

    state = torch.load(state_path, map_location=dev, weights_only=True)
    if state["variant"] != variant or state["total"] != total:
        raise ValueError(f"{state_path} belongs to another run ({state['variant']}, {state['total']} steps)")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    return int(state["step"])


def _save_run(run: Path, model: FusionModel, opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LambdaLR,
              *, step: int, total: int, variant: str, loss: float, data_dir: Path) -> None:
    """The resumable state (train_state.pt) and the servable checkpoint (model.safetensors + config.json)."""
    import torch

    from musechat.fusion.model import save_checkpoint

    run.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "step": step,
            "total": total,
            "variant": variant,
        },
        run / STATE_FILE,
    )
    extra = {"step": step, "total_steps": total, "loss": loss, "data": str(data_dir.resolve())}
    save_checkpoint(model, run, extra=extra)


def _train_step(model: FusionModel, opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LambdaLR,
                data: TensorSet, step: int, plan: StepPlan, tc: TrainConfig, dev: torch.device) -> float:
    """One optimizer step on the batch of ``step``; its loss.

    The order of an epoch and the dropout draws of a step depend only on (seed, step): resuming from a
    checkpoint replays exactly the batches an uninterrupted run would have seen.
    """
    import torch

    from musechat.fusion.losses import info_nce

    epoch, pos = divmod(step, plan.steps_per_epoch)
    order = torch.randperm(data.n, generator=torch.Generator().manual_seed(tc.seed * 100_003 + epoch))
    idx = order[pos * tc.batch_size : (pos + 1) * tc.batch_size]
    gen = torch.Generator().manual_seed(tc.seed * 1_000_003 + step)
    torch.manual_seed(tc.seed * 1_000_033 + step)
    batch = data.batch(idx, dev)
    turn1 = apply_modality_dropout(batch, tc.p_turn1, tc.text_token_dropout, gen)
    q = model.encode_query(
        batch["video"],
        batch["video_mask"],
        batch["candidate"],
        batch["candidate_mask"],
        batch["text"],
        batch["text_mask"],
    )
    t_emb = model.encode_music(batch["target"], batch["target_mask"])
    c_emb = model.encode_music(batch["candidate"], batch["candidate_track_mask"])
    loss = info_nce(q, t_emb, c_emb, model.logit_scale, batch["target_keys"], batch["candidate_keys"], turn1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
    opt.step()
    sched.step()
    return float(loss.detach())
