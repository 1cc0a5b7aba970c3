"""Setup of the turn-latency benchmark: a tiny fusion checkpoint, N random tracks embedded by its music
tower into both stores (Qdrant Edge and qdrant-client local mode), one ready video. Seeded; reused
from the workdir when its build.json matches."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from turn_latency.params import BUILD_FORMAT, MUSIC_DIM, TEXT_DIM, VIDEO_DIM, VIDEO_ID


def train_tiny_checkpoint(workdir: Path, seed: int) -> Path:
    """The `musechat` variant trained for a few steps on random quartets: the latency of a turn depends on
    the architecture and the input sizes, not on what the weights learned."""
    from musechat.fusion.data import FeatureDims, Quartet, QuartetWriter, TrackMeta
    from musechat.fusion.model import load_config
    from musechat.fusion.train import train_variant

    run_dir = workdir / "fusion-tiny"
    if (run_dir / "model.safetensors").is_file():
        return run_dir
    data_dir = workdir / "quartets-tiny"
    rng = np.random.default_rng(seed)
    meta = TrackMeta(title="t", artist="a", tags=("rock",))
    if not (data_dir / "manifest.json").is_file():
        with QuartetWriter(data_dir, FeatureDims(video=VIDEO_DIM, music=MUSIC_DIM, text=TEXT_DIM)) as writer:
            for i in range(512):
                writer.add(Quartet(
                    quartet_id=f"q{i}", video_id=f"v{i % 64}",
                    video=rng.standard_normal((12, VIDEO_DIM), dtype=np.float32),
                    target_track_id=f"t{i}", target=rng.standard_normal((12, MUSIC_DIM), dtype=np.float32),
                    target_meta=meta, candidate_track_id=f"c{i}",
                    candidate=rng.standard_normal((12, MUSIC_DIM), dtype=np.float32), candidate_meta=meta,
                    user_text="slower, please", text_tokens=rng.standard_normal((8, TEXT_DIM), dtype=np.float32)))
    config = load_config("musechat")
    config = config.model_copy(update={"train": config.train.model_copy(update={"batch_size": 64, "seed": seed})})
    train_variant(config, data_dir, run_dir, steps=20, threads=1, progress=True)
    return run_dir


def _track_batch(rng: np.random.Generator, start: int, n: int,
                 index_model: str) -> tuple[list[Any], list[Any], list[np.ndarray]]:
    """Payload dicts of the `tracks` shape (the first one validated as a TrackPayload), of the
    `track_features` shape (the first one validated as a TrackFeaturesPayload) and the features."""
    import base64

    from musechat.contracts.catalog import TrackFeaturesPayload, TrackPayload, has_vocals
    from musechat.explain.tags import MSD_TAGS, MTT_TAGS

    vocab = [(t, "MTT") for t in MTT_TAGS] + [(t, "MSD") for t in MSD_TAGS if t not in MTT_TAGS]
    licences = ["CC-BY-4.0", "CC0-1.0", "royalty-free", None]
    block = rng.standard_normal((n, 12, MUSIC_DIM), dtype=np.float32).astype("<f2")
    segments = rng.integers(9, 13, size=n)
    n_tags = rng.integers(3, 9, size=n)
    tag_order = np.argsort(rng.random((n, len(vocab))), axis=1)[:, :8]
    tag_scores = np.round(rng.uniform(0.05, 0.95, size=(n, 8)), 4)
    durations = np.round(rng.uniform(30, 360, size=n), 1)
    payloads, feature_payloads, features = [], [], []
    for k in range(n):
        i = start + k
        feats = block[k, : segments[k]]
        scores = sorted(((vocab[j][0], float(sc), vocab[j][1]) for j, sc in
                         zip(tag_order[k, : n_tags[k]], tag_scores[k], strict=False)), key=lambda t: -t[1])
        payloads.append({
            "track_id": f"trk-{i:07d}", "title": f"Bench Track {i}", "artist": f"Artist {i % 5000:04d}",
            "album": f"Album {i % 20000:05d}", "licence": licences[i % len(licences)],
            "duration_s": float(durations[k]), "tags": sorted({t[0] for t in scores}),
            "vocals": has_vocals(t[0] for t in scores),
            "tag_scores": [{"name": t[0], "score": t[1], "vocabulary": t[2]} for t in scores],
            "feature_model": "bench:music-ast-tiny", "index_model": index_model, "content_sha256": None})
        feature_payloads.append({
            "track_id": f"trk-{i:07d}", "feature_model": "bench:music-ast-tiny", "content_sha256": None,
            "features": {"dtype": "float16", "shape": [int(segments[k]), MUSIC_DIM],
                         "data_b64": base64.b64encode(feats.tobytes()).decode()}})
        features.append(feats.astype(np.float32))
    TrackPayload.model_validate(payloads[0])  # the shape the gateway reads back
    TrackFeaturesPayload.model_validate(feature_payloads[0])  # the shape the ranker reads back
    return payloads, feature_payloads, features


def build(workdir: Path, tracks: int, seed: int, checkpoint: Path | None) -> dict[str, Any]:
    """Checkpoint + both stores; returns (and writes) build.json. Reused when it matches."""
    from tqdm import tqdm

    from musechat.catalog.indexer import collection_for, tracks_spec
    from musechat.catalog.track_features import track_features_spec
    from musechat.contracts.api import VideoStatus
    from musechat.contracts.catalog import MUSIC_VECTOR, TRACK_FEATURES_COLLECTION, TRACKS_COLLECTION
    from musechat.contracts.conversation import VideoEncoded
    from musechat.contracts.features import FeatureMatrix
    from musechat.ranker.core import FusionVectorizer
    from musechat.store import PointRecord, VectorStore
    from musechat.store.edge import EdgeStore
    from musechat.store.qdrant import QdrantServerStore
    from musechat.video.registry import VideoRegistry

    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ckpt = checkpoint or train_tiny_checkpoint(workdir, seed)
    train_s = time.perf_counter() - t0
    wanted = {"format": BUILD_FORMAT, "tracks": tracks, "seed": seed, "checkpoint": str(ckpt.resolve())}
    manifest_path = workdir / "build.json"
    if manifest_path.is_file():
        done = json.loads(manifest_path.read_text())
        if {k: done.get(k) for k in wanted} == wanted:
            print(f"reusing the stores in {workdir} ({tracks} tracks)", flush=True)
            return dict(done)
        raise SystemExit(f"{workdir} holds another build ({done}); pick a fresh --workdir")
    import shutil

    import torch
    from qdrant_client import QdrantClient

    torch.set_num_threads(1)
    for name in ("edge", "local"):
        shutil.rmtree(workdir / name, ignore_errors=True)
    vectorizer = FusionVectorizer.load(ckpt)
    collection = collection_for(vectorizer.version)
    # Local mode commits (fsyncs) SQLite once per point: ~30 ms each on this disk, an hour for 100k.
    # Build it on tmpfs where a commit is cheap, then move the finished store to the workdir.
    shm = Path("/dev/shm")
    local_build = Path(tempfile.mkdtemp(prefix="turn-bench-", dir=shm if shm.is_dir() else workdir)) / "local"
    stores: dict[str, VectorStore] = {
        "edge": EdgeStore(workdir / "edge"),
        "local": QdrantServerStore(QdrantClient(path=str(local_build))),
    }
    timings: dict[str, dict[str, float]] = {name: {"upsert_s": 0.0} for name in stores}
    for store in stores.values():
        store.create_collection(tracks_spec(collection))  # payload indexes before the bulk load
        store.create_collection(track_features_spec())
    rng = np.random.default_rng(seed)
    gen_s = embed_s = 0.0
    batch = 1000
    with tqdm(total=tracks, desc="catalog (generate, embed, upsert x2)", unit="track") as bar:
        for start in range(0, tracks, batch):
            n = min(batch, tracks - start)
            t = time.perf_counter()
            payloads, feature_payloads, features = _track_batch(rng, start, n, vectorizer.version)
            gen_s += time.perf_counter() - t
            t = time.perf_counter()
            vectors = vectorizer.embed_many(features)
            embed_s += time.perf_counter() - t
            points = [PointRecord(id=p["track_id"], vectors={MUSIC_VECTOR: v.tolist()}, payload=p)
                      for p, v in zip(payloads, vectors, strict=True)]
            records = [PointRecord(id=p["track_id"], vectors={}, payload=p) for p in feature_payloads]
            for name, store in stores.items():
                t = time.perf_counter()
                store.upsert(TRACK_FEATURES_COLLECTION, records)
                store.upsert(collection, points)
                timings[name]["upsert_s"] += time.perf_counter() - t
            bar.update(n)
    video = rng.standard_normal((12, VIDEO_DIM), dtype=np.float32)
    for name, store in stores.items():
        print(f"{name}: optimize (index build) ...", flush=True)
        t = time.perf_counter()
        store.optimize(collection)
        timings[name]["optimize_s"] = time.perf_counter() - t
        store.set_alias(TRACKS_COLLECTION, collection)
        registry = VideoRegistry(store, VIDEO_DIM)
        registry.ensure_collection()
        registry.record(VideoEncoded(video_id=VIDEO_ID, status=VideoStatus.READY,
                                     features=FeatureMatrix.from_array(video), duration_s=120.0,
                                     feature_model="bench:video_clip_tiny"))
        timings[name]["count"] = store.count(TRACKS_COLLECTION)
        store.close()
    shutil.move(str(local_build), str(workdir / "local"))
    shutil.rmtree(local_build.parent, ignore_errors=True)
    manifest = {**wanted, "collection": collection, "index_model": vectorizer.version,
                "train_s": round(train_s, 1), "generate_s": round(gen_s, 1), "embed_s": round(embed_s, 1),
                "stores": {k: {m: round(v, 1) for m, v in d.items()} for k, d in timings.items()},
                "disk_mb": {name: round(_du(workdir / name) / 2**20) for name in stores}}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
