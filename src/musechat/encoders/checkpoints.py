"""Writing a deterministic random-init checkpoint once, atomically: the embedded tiny encoders' weights.

Why one helper: the tiny AST and the tiny/random CLIP are built on first use by whichever process needs
them (a service replica, a worker, a test) and several may race for the same directory. The checkpoint
is written into a temporary directory beside `path` and renamed into place, so no reader ever sees a
half-written checkpoint, and a loser of the race keeps the winner's identical copy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODEL_ID_FILE = "MUSECHAT_MODEL_ID"


def write_random_checkpoint(path: str | Path, seed: int, model_id: str, build_model: Callable[[], Any],
                            save_preprocessor: Callable[[Path], None]) -> Path:
    """`build_model()` under torch seed `seed` (the global RNG state is restored after), saved with
    `save_pretrained` and its preprocessor config (`save_preprocessor(dir)`) at `path`, unless a
    checkpoint is already there. Same seed, same torch version -> bit-identical weights."""
    import torch

    path = Path(path)
    if (path / "config.json").is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model()
        model.config.name_or_path = model_id
        model.save_pretrained(tmp)
        save_preprocessor(tmp)
        (tmp / MODEL_ID_FILE).write_text(model_id + "\n")
        try:
            os.rename(tmp, path)
        except OSError:
            # another process won the race; its checkpoint is identical
            if not (path / "config.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return path
