"""Bytes of a realistic `tracks` payload (the `TrackPayload` JSON the indexer writes), by part, per bundled
music-encoder spec: the per-track payload figures of docs/sizing.md. "before" is the payload with the
top-level `tag_scores` list the indexer wrote until the payload diet; "after" leaves it empty as the
indexer now does when facts are present (the scores stay in `facts.tag_scores`).

    python benchmarks/store_payload.py   # writes docs/benchmarks/store_payload.{json,md}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from musechat.contracts.catalog import TrackPayload
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.music import TagScore, TrackFacts
from musechat.encoders.music import load_spec

GROUPS = ("piano", "strings", "vocals", "female_vocals", "electronic", "calm", "guitar", "drums", "rock", "jazz",
          "classical", "ambient")


def payload(spec_name: str, rng: np.random.Generator) -> TrackPayload:
    """A full-size payload: 50 + 50 tag scores, facts over both vocabularies, the spec's widest features."""
    spec = load_spec(spec_name)
    tags = [("MTT", f"mtt_tag_{i}") for i in range(50)] + [("MSD", f"msd_tag_{i}") for i in range(50)]
    facts = TrackFacts(
        tempo_bpm=120.5, tempo_confidence=0.8, loudness_db=-14.2, duration_s=180.0, vocals_probability=0.3,
        tag_scores={f"{vocab.lower()}:{name}": float(rng.random()) for vocab, name in tags},
        groups={g: float(rng.random()) for g in GROUPS})
    features = rng.standard_normal((spec.segments.max_segments, spec.feature_dim)).astype(np.float32)
    return TrackPayload(
        track_id="trk_0123456789abcdef", title="A Title Of Some Length", artist="Some Artist", album="An Album",
        licence="cc-by", duration_s=180.0, tags=["guitar", "rock", "male vocals", "fast", "drums", "loud"],
        vocals=True, genre="rock", attributes=["guitar", "drums"], facts=facts,
        tag_scores=[TagScore(name=name, score=float(rng.random()), vocabulary=vocab) for vocab, name in tags],
        features=FeatureMatrix.from_array(features), feature_model=f"{spec_name}@abc123",
        index_model="fusion@0123456789ab", content_sha256="0" * 64)


OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"


def sizes(text: str) -> dict[str, int]:
    data = json.loads(text)
    parts = {key: len(json.dumps(data[key], separators=(",", ":"))) for key in ("features", "tag_scores", "facts")}
    return {"total": len(text), **parts, "rest": len(text) - sum(parts.values())}


def main() -> None:
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for spec_name in ("music-ast-tiny", "music-ast-base"):
        before = payload(spec_name, rng)
        after = before.model_copy(update={"tag_scores": []})
        rows.append({"spec": spec_name, "before": sizes(before.model_dump_json()),
                     "after": sizes(after.model_dump_json())})
    lines = ["# Payload bytes per track (JSON), before vs after dropping the duplicate `tag_scores`", "",
             "`python benchmarks/store_payload.py`", "",
             "| spec | before B | after B | ratio | features | tag_scores before | facts | rest |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        b, a = row["before"], row["after"]
        lines.append(f"| {row['spec']} | {b['total']:,} | {a['total']:,} | {b['total'] / a['total']:.2f}x | "
                     f"{a['features']:,} | {b['tag_scores']:,} | {a['facts']:,} | {a['rest']:,} |")
        print(lines[-1], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "store_payload.json").write_text(json.dumps(rows, indent=2) + "\n")
    (OUT / "store_payload.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
