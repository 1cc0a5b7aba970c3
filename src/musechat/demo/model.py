"""Train (or load) the fusion model of the demo world from what the pipeline produced."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from musechat.demo.training import build_quartets, track_features_from_store
from musechat.demo.world import DemoWorld
from musechat.store import VectorStore

DEMO_TRAIN_STEPS = 400


def encode_world_videos(world: DemoWorld, spec: str = "video_clip_tiny",
                        progress: bool = True) -> dict[str, np.ndarray]:
    from musechat.encoders.clip_video import VideoEncoder, load_spec

    encoder = VideoEncoder.load(load_spec(spec))
    return {video.video_id: encoder.encode(world.video_path(video)).features.to_array()
            for video in tqdm(world.videos, desc="encode world videos", unit="video", disable=not progress)}


def train_demo_model(world: DemoWorld, store: VectorStore, workdir: Path, steps: int = DEMO_TRAIN_STEPS,
                     progress: bool = True) -> Path:
    """Checkpoint dir of the `musechat` variant trained on the world's quartets; reused while the tracks,
    the step count, the config and the model code are unchanged."""
    from musechat.encoders.text import TextEncoder, load_spec
    from musechat.fusion import model as fusion_model
    from musechat.fusion.model import load_config
    from musechat.fusion.train import train_variant

    tracks = track_features_from_store(store)
    data_key = json.dumps(sorted(tracks), separators=(",", ":")).encode()
    # A checkpoint is reused only for the same tracks, budget, config and architecture code.
    fingerprint = hashlib.sha256(b"|".join([
        data_key, str(steps).encode(), load_config("musechat").model_dump_json().encode(),
        Path(fusion_model.__file__).read_bytes(),
    ])).hexdigest()[:12]
    run_dir = workdir / "fusion" / f"musechat-{fingerprint}"
    if (run_dir / "model.safetensors").is_file():
        return run_dir
    videos = encode_world_videos(world, progress=progress)
    data_dir = workdir / "fusion" / f"quartets-{hashlib.sha256(data_key).hexdigest()[:12]}"
    if not (data_dir / "manifest.json").is_file():
        build_quartets(world, videos, tracks, TextEncoder.load(load_spec()), data_dir)
    config = load_config("musechat")
    config = config.model_copy(update={"train": config.train.model_copy(update={"batch_size": 128})})
    train_variant(config, data_dir, run_dir, steps=steps, progress=progress)
    return run_dir
