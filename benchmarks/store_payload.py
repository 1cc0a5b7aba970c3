"""Bytes per track of the store, before and after moving the per-segment features out of the `tracks`
payload (issue #17, "payload diet"): the per-track figures of docs/sizing.md and docs/vector-store.md.

"old": the `tracks` payload as the indexer wrote it until now: the features inline (base64 float16) and
the facts at the encoder's precision (tag scores 5 decimals, groups 4). "new": the `tracks` payload
without features and with the facts' scores at 3 decimals (the hot collection), and a `track_features`
point per track (the cold collection: read by id only, no vectors, payload on disk).

Two measurements:

- JSON: the payload bytes by part, per bundled music-encoder spec (the widest features each spec makes);
- disk: a real `EdgeStore` with N tracks written each way (`tracks_spec` with its payload indexes, one
  256-d vector per track, `optimize`, close), and the bytes its collection directories hold on disk
  (allocated blocks, like `du`), split into segments and write-ahead log.

The tag scores are real: the mean per-window MusiCNN probabilities of the golden clip (tests/golden/musicnn,
both vocabularies), jittered per track, run through the encoder's own `build_facts`.

    python benchmarks/store_payload.py [--tracks 5000 20000]   # writes docs/benchmarks/store_payload.{json,md}
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from musechat.catalog.facts import compact_facts
from musechat.catalog.indexer import tracks_spec
from musechat.catalog.track_features import track_features_spec
from musechat.contracts.catalog import (
    MUSIC_VECTOR,
    TRACK_FEATURES_COLLECTION,
    TrackFeaturesPayload,
    TrackPayload,
)
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.music import TrackFacts
from musechat.encoders.music import load_spec
from musechat.encoders.music_facts import Tempo, build_facts
from musechat.store import PointRecord
from musechat.store.edge import EdgeStore

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks"
GOLDEN = ROOT / "tests" / "golden" / "musicnn"
SPECS = ("music-ast-tiny", "music-ast-base")
DISK_SPEC = "music-ast-tiny"  # the embedded default music encoder
INDEX_DIM = 256


def golden_probabilities() -> dict[str, dict[str, float]]:
    """vocabulary -> tag -> mean probability over the golden clip's windows (real MusiCNN output)."""
    out = {}
    for vocabulary in ("MTT", "MSD"):
        data = json.loads((GOLDEN / f"{vocabulary}_musicnn.json").read_text())
        mean = np.asarray(data["per_window_probabilities"], dtype=np.float64).mean(axis=0)
        out[vocabulary] = dict(zip(data["labels"], mean.tolist(), strict=True))
    return out


def facts(golden: dict[str, dict[str, float]], rng: np.random.Generator) -> TrackFacts:
    """The encoder's facts for one track: the golden scores, each scaled by a log-normal jitter."""
    jittered = {vocabulary: {tag: float(min(1.0, p * rng.lognormal(0.0, 0.5))) for tag, p in tags.items()}
                for vocabulary, tags in golden.items()}
    return build_facts(jittered, Tempo(bpm=round(float(rng.uniform(60, 180)), 1), confidence=0.8),
                       loudness=-14.2, duration_s=float(rng.uniform(60, 360)))


def old_payload(i: int, features: np.ndarray, track_facts: TrackFacts, spec_name: str) -> dict[str, Any]:
    """The `tracks` payload as written before the split: features inline, facts as measured."""
    payload = new_payload(i, track_facts, spec_name)
    payload["facts"] = track_facts.model_dump(mode="json")
    payload["features"] = FeatureMatrix.from_array(features).model_dump(mode="json")
    return payload


def new_payload(i: int, track_facts: TrackFacts, spec_name: str) -> dict[str, Any]:
    """The `tracks` payload the indexer writes now (what `track_payload` makes of the same encoding)."""
    return TrackPayload(
        track_id=f"trk_{i:016x}", title=f"A Title Of Some Length {i}", artist=f"Some Artist {i % 500}",
        album="An Album", licence="cc-by", duration_s=track_facts.duration_s,
        tags=["guitar", "rock", "male vocals", "fast", "drums", "loud"], vocals=True, genre="rock",
        attributes=["guitar", "drums"], facts=compact_facts(track_facts), tag_scores=[],
        feature_model=f"{spec_name}@abc123", index_model="fusion@0123456789ab", content_sha256=f"{i:064x}",
    ).model_dump(mode="json")


def cold_payload(i: int, features: np.ndarray, spec_name: str) -> dict[str, Any]:
    return TrackFeaturesPayload(track_id=f"trk_{i:016x}", features=FeatureMatrix.from_array(features),
                                feature_model=f"{spec_name}@abc123", content_sha256=f"{i:064x}").model_dump(mode="json")


def _json_len(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def json_sizes(spec_name: str, golden: dict[str, dict[str, float]], rng: np.random.Generator,
               samples: int = 200) -> dict[str, Any]:
    """Mean JSON bytes per track of each payload and of its parts, over `samples` tracks."""
    spec = load_spec(spec_name)
    rows: dict[str, list[int]] = {k: [] for k in ("old", "old_features", "old_facts", "new_hot", "new_facts",
                                                  "new_rest", "new_cold")}
    for i in range(samples):
        features = rng.standard_normal((spec.segments.max_segments, spec.feature_dim)).astype(np.float32)
        track_facts = facts(golden, rng)
        old, hot, cold = (old_payload(i, features, track_facts, spec_name), new_payload(i, track_facts, spec_name),
                          cold_payload(i, features, spec_name))
        rows["old"].append(_json_len(old))
        rows["old_features"].append(_json_len(old["features"]))
        rows["old_facts"].append(_json_len(old["facts"]))
        rows["new_hot"].append(_json_len(hot))
        rows["new_facts"].append(_json_len(hot["facts"]))
        rows["new_rest"].append(_json_len(hot) - _json_len(hot["facts"]))
        rows["new_cold"].append(_json_len(cold))
    return {"spec": spec_name, "segments": spec.segments.max_segments, "feature_dim": spec.feature_dim,
            **{k: round(float(np.mean(v))) for k, v in rows.items()}}


def allocated(path: Path) -> int:
    """Bytes the files under `path` occupy on disk (allocated blocks, as `du` counts them)."""
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def collection_bytes(root: Path, name: str) -> dict[str, int]:
    directory = root / "collections" / name
    wal = sum(allocated(p) for p in directory.rglob("wal") if p.is_dir())
    total = allocated(directory)
    return {"total": total, "wal": wal, "segments": total - wal}


def build_store(root: Path, layout: str, tracks: int, golden: dict[str, dict[str, float]], seed: int) -> dict[str, Any]:
    """A real edge store with `tracks` tracks in the old or new layout; bytes per collection."""
    spec = load_spec(DISK_SPEC)
    rng = np.random.default_rng(seed)
    hot_name = "tracks-bench"
    t0 = time.perf_counter()
    with EdgeStore(root) as store:
        store.create_collection(tracks_spec(hot_name))
        if layout == "new":
            store.create_collection(track_features_spec())
        for start in range(0, tracks, 500):
            points, records = [], []
            for i in range(start, min(tracks, start + 500)):
                features = rng.standard_normal((spec.segments.max_segments, spec.feature_dim)).astype(np.float32)
                track_facts = facts(golden, rng)
                vector = rng.standard_normal(INDEX_DIM)
                vector = (vector / np.linalg.norm(vector)).tolist()
                if layout == "old":
                    payload = old_payload(i, features, track_facts, DISK_SPEC)
                else:
                    payload = new_payload(i, track_facts, DISK_SPEC)
                    records.append(PointRecord(id=f"trk_{i:016x}", vectors={},
                                               payload=cold_payload(i, features, DISK_SPEC)))
                points.append(PointRecord(id=f"trk_{i:016x}", vectors={MUSIC_VECTOR: vector}, payload=payload))
            if records:
                store.upsert(TRACK_FEATURES_COLLECTION, records)
            store.upsert(hot_name, points)
        store.optimize(hot_name)
        if layout == "new":
            store.optimize(TRACK_FEATURES_COLLECTION)
        counts = {hot_name: store.count(hot_name)}
        if layout == "new":
            counts[TRACK_FEATURES_COLLECTION] = store.count(TRACK_FEATURES_COLLECTION)
    build_s = time.perf_counter() - t0
    out: dict[str, Any] = {"layout": layout, "tracks": tracks, "build_s": round(build_s, 1)}
    out["hot"] = collection_bytes(root, hot_name)
    out["cold"] = collection_bytes(root, TRACK_FEATURES_COLLECTION) if layout == "new" else None
    assert all(n == tracks for n in counts.values()), counts
    return out


def time_reads(roots: dict[str, Path], tracks: int, seed: int, rounds: int = 2000) -> dict[str, Any]:
    """Per-call time (median, p99, µs) of what a turn reads, on both layouts, alternating call by call so
    both see the same machine: the candidate's features by id (a ranker cache miss: engine call, payload
    validation, base64 decode) and a top-10 search with the payload a steered turn asks for."""
    from musechat.catalog.track_features import legacy_features, read_track_features
    from musechat.ranker.attributes import RERANK_FIELDS
    from musechat.ranker.core import RESPONSE_FIELDS

    rng = np.random.default_rng(seed + 1)
    hot_name = "tracks-bench"
    fields = [*RESPONSE_FIELDS, *RERANK_FIELDS]
    stores = {layout: EdgeStore(root) for layout, root in roots.items()}

    def old_candidate(track_id: str) -> np.ndarray:
        [record] = stores["old"].retrieve(hot_name, [track_id])
        found = legacy_features(track_id, record.payload)
        assert found is not None
        return found.features.to_array()

    def new_candidate(track_id: str) -> np.ndarray:
        return read_track_features(stores["new"], [track_id], tracks_collection=None)[track_id].features.to_array()

    calls = {
        "candidate features": {"old": old_candidate, "new": new_candidate},
        "search top 10 (response + rerank fields)": {
            layout: (lambda query, store=store: store.search(hot_name, MUSIC_VECTOR, query, limit=10,
                                                             with_payload=fields)) for layout, store in stores.items()},
    }
    out: dict[str, Any] = {}
    try:
        for name, by_layout in calls.items():
            times: dict[str, list[float]] = {"old": [], "new": []}
            for k in range(rounds):
                arg: Any = (f"trk_{int(rng.integers(tracks)):016x}" if name == "candidate features"
                            else (rng.standard_normal(INDEX_DIM) / np.sqrt(INDEX_DIM)).tolist())
                for layout in (("old", "new") if k % 2 == 0 else ("new", "old")):
                    t = time.perf_counter()
                    by_layout[layout](arg)
                    times[layout].append(time.perf_counter() - t)
            out[name] = {layout: {"median_us": round(float(np.median(v)) * 1e6, 1),
                                  "p99_us": round(float(np.percentile(v, 99)) * 1e6, 1)} for layout, v in times.items()}
    finally:
        for store in stores.values():
            store.close()
    return out


def per_track(disk: dict[str, Any], part: str, key: str) -> float:
    value = disk[part]
    return 0.0 if value is None else value[key] / disk["tracks"]


def report(json_rows: list[dict[str, Any]], disk: list[dict[str, Any]], reads: list[dict[str, Any]]) -> list[str]:
    lines = ["# Bytes per track: the features out of the hot `tracks` payload", "",
             "`python benchmarks/store_payload.py` (issue #17, payload diet). old: features inline in the `tracks` "
             "payload, facts at the encoder's precision; new: hot `tracks` payload without features, facts' "
             "scores at 3 decimals, plus one cold `track_features` point per track (no vectors, payload on disk). "
             "Tag scores: the golden clip's real MusiCNN output, jittered per track.", "",
             "## JSON payload bytes per track (mean of 200 tracks)", "",
             "| spec | features | old payload B | new hot B | hot ratio | new cold B | old facts | new facts | "
             "hot rest |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in json_rows:
        lines.append(f"| {r['spec']} | {r['segments']} x {r['feature_dim']} | {r['old']:,} | {r['new_hot']:,} | "
                     f"{r['old'] / r['new_hot']:.1f}x | {r['new_cold']:,} | {r['old_facts']:,} | {r['new_facts']:,} "
                     f"| {r['new_rest']:,} |")
    lines += ["", f"## On disk: a real `EdgeStore` ({DISK_SPEC}, one 256-d int8-quantized vector per track, the "
              "`tracks` payload indexes), after `optimize` and close", "",
              "Allocated bytes per track (`du`) of each collection's directory. segments: the stored points "
              "(payloads, vectors, indexes); WAL: the write-ahead log, which holds the recent writes and is "
              "bounded (32 MiB segments, recycled once flushed), so its share per track falls as the catalog "
              "grows.", "",
              "| tracks | layout | hot `tracks` total | hot segments | hot WAL | cold `track_features` total | "
              "cold segments | cold WAL | all collections |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for d in disk:
        cells = [per_track(d, part, key) for part in ("hot", "cold") for key in ("total", "segments", "wal")]
        shown = [f"{c:,.0f}" if (i < 3 or d["cold"] is not None) else "-" for i, c in enumerate(cells)]
        lines.append(f"| {d['tracks']:,} | {d['layout']} | " + " | ".join(shown) + f" | {cells[0] + cells[3]:,.0f} |")
    lines.append("")
    for n in sorted({d["tracks"] for d in disk}):
        old, new = (next(d for d in disk if d["layout"] == k and d["tracks"] == n) for k in ("old", "new"))
        seg_ratio = per_track(old, "hot", "segments") / per_track(new, "hot", "segments")
        hot_ratio = per_track(old, "hot", "total") / per_track(new, "hot", "total")
        all_old = per_track(old, "hot", "total")
        all_new = per_track(new, "hot", "total") + per_track(new, "cold", "total")
        hot_new, hot_old = per_track(new, "hot", "segments"), per_track(old, "hot", "segments")
        lines.append(f"- {n:,} tracks: the hot collection holds {seg_ratio:.1f}x fewer bytes per track in its "
                     f"segments ({hot_new:,.0f} vs {hot_old:,.0f}), {hot_ratio:.1f}x with its WAL; all collections "
                     f"together {all_new:,.0f} vs {all_old:,.0f} B (the features are still stored once, in the "
                     "cold collection: what moved is where).")
    loads = ", ".join(f"{r['tracks']:,} tracks: {r['load_at_start']:.1f}" for r in reads)
    lines += ["", "## What a turn reads, per call (µs; the two layouts alternate call by call, 2,000 calls each)", "",
              "candidate features: a ranker cache miss (engine call by id, payload validation, base64 decode); "
              "old reads the whole `tracks` point, new the `track_features` point. search: top 10 with the "
              "payload fields a steered turn asks for. One thread; the machine's 1-minute load average when the "
              f"timing started ({loads}) says how much the p99s are the machine's rather than the store's.", "",
              "| tracks | read | old median | new median | old p99 | new p99 |", "|---:|---|---:|---:|---:|---:|"]
    for r in reads:
        for name, t in r.items():
            if isinstance(t, dict):
                old, new = t["old"], t["new"]
                lines.append(f"| {r['tracks']:,} | {name} | {old['median_us']:,.0f} | {new['median_us']:,.0f} "
                             f"| {old['p99_us']:,.0f} | {new['p99_us']:,.0f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, nargs="+", default=[5000, 20000], help="tracks in the on-disk stores")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    golden = golden_probabilities()
    rng = np.random.default_rng(args.seed)
    json_rows = [json_sizes(spec_name, golden, rng) for spec_name in SPECS]
    disk: list[dict[str, Any]] = []
    reads: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="store-payload-") as tmp:
        for tracks in args.tracks:
            roots = {layout: Path(tmp) / f"{layout}-{tracks}" for layout in ("old", "new")}
            for layout, root in roots.items():
                disk.append(build_store(root, layout, tracks, golden, args.seed))
                print(json.dumps(disk[-1]), flush=True)
            reads.append({"tracks": tracks, "load_at_start": round(os.getloadavg()[0], 2),
                          **time_reads(roots, tracks, args.seed)})
            print(json.dumps(reads[-1]), flush=True)
            for root in roots.values():
                shutil.rmtree(root)
    lines = report(json_rows, disk, reads)
    print("\n".join(lines), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    results = {"json": json_rows, "disk": disk, "reads": reads}
    (OUT / "store_payload.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "store_payload.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
