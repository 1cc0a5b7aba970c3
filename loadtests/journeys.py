"""Request bodies and journey names for the load test, built from the public API contracts.

Pure and import-light (pydantic models only), so the gate logic and its tests need no Locust.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

from musechat.contracts.api import (
    Feedback,
    StartConversation,
    TrackBatch,
    TrackSubmission,
    TurnRequest,
)
from musechat.contracts.catalog import TrackMetadata

# Journey name -> the Locust tags that select it (`--exclude-tag catalog` skips catalog ingestion).
JOURNEY_TAGS: dict[str, frozenset[str]] = {
    "catalog_ingestion": frozenset({"catalog"}),
    "video_submission": frozenset({"video"}),
    "conversation": frozenset({"conversation"}),
    "conversation_explained": frozenset({"conversation", "explain"}),
}
# Locust request type under which whole journeys are recorded next to the single HTTP requests.
JOURNEY_REQUEST_TYPE = "JOURNEY"

# What users say after a pick: the MuseChat-style refinements (the gateway also parses hard constraints
# such as "no vocals" or "under a minute" out of them).
TURN_TEXTS = (
    "I'd like more guitar and a male voice",
    "slower, and no vocals please",
    "something more upbeat with drums",
    "make it calmer, piano would be nice",
    "less electronic, more acoustic",
    "a female singer, but keep the energy",
    "darker mood, under a minute",
    "more like indie rock",
    "too sad, something happier",
    "keep the tempo but drop the synth",
)


def selected_journeys(tags: set[str] | None, exclude_tags: set[str] | None) -> set[str]:
    """The journeys Locust runs under `--tags`/`--exclude-tags` (same rule as Locust's: any tag matches)."""
    chosen = set()
    for journey, journey_tags in JOURNEY_TAGS.items():
        if tags and not journey_tags & tags:
            continue
        if exclude_tags and journey_tags & exclude_tags:
            continue
        chosen.add(journey)
    return chosen


def track_batch(rng: random.Random, size: int, audio_path: str) -> TrackBatch:
    """`size` fresh tracks (unique ids, so every batch is real ingestion work) pointing at `audio_path`."""
    tracks = []
    for _ in range(size):
        track_id = f"lt-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
        tracks.append(TrackSubmission(
            track=TrackMetadata(track_id=track_id, title=f"Load test {track_id[-6:]}",
                                artist=rng.choice(("Weston Skaggs", "The Loaders", "Locust Ensemble")),
                                licence="royalty-free"),
            audio_path=audio_path,
        ))
    return TrackBatch(tracks=tracks)


def start_body(video_id: str, explain: bool, limit: int = 5) -> StartConversation:
    return StartConversation(video_id=video_id, explain=explain, limit=limit)


def turn_body(rng: random.Random, state: str, explain: bool, limit: int = 5) -> TurnRequest:
    return TurnRequest(text=rng.choice(TURN_TEXTS), state=state, explain=explain, limit=limit)


def feedback_body(track_id: str, state: str, accept: bool) -> Feedback:
    return Feedback(track_id=track_id, verdict="accept" if accept else "reject", state=state)


def write_test_video(path: Path, seconds: float, fps: int = 10, size: int = 96) -> Path:
    """A small H.264 MP4 with moving colour bars: a real video the gateway and the encoder can decode."""
    import av  # heavy; only the load generator's start-up needs it
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        ramp = np.linspace(0, 255, size, dtype=np.float32)
        for index in range(max(1, round(seconds * fps))):
            shift = (index * 7) % size
            red = np.roll(ramp, shift)[None, :].repeat(size, axis=0)
            frame = np.stack([red, red.T, np.full_like(red, (index * 11) % 256)], axis=-1).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
