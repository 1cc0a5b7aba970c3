"""Bytes of a realistic `tracks` payload (the `TrackPayload` JSON the indexer writes), by part, per bundled
music-encoder spec: the per-track payload figures of docs/sizing.md.

    python benchmarks/store_payload.py
"""

from __future__ import annotations

import json

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


def main() -> None:
    rng = np.random.default_rng(0)
    for spec_name in ("music-ast-tiny", "music-ast-base"):
        text = payload(spec_name, rng).model_dump_json()
        data = json.loads(text)
        parts = {key: len(json.dumps(data[key], separators=(",", ":"))) for key in ("features", "tag_scores", "facts")}
        rest = len(text) - sum(parts.values())
        print(f"{spec_name}: {len(text):,} B of JSON per track = features {parts['features']:,} + tag_scores "
              f"{parts['tag_scores']:,} + facts {parts['facts']:,} + the rest {rest:,}")


if __name__ == "__main__":
    main()
