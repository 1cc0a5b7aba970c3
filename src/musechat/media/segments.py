"""Cut a track into fixed-length segments: the per-segment sequence the fusion model reads.

Policy (pure, shared by the music encoder and anything that must line up with it):
- Segments are `segment_s` (10 s) long; a track gets S = min(max_segments, max(1, ceil((D - min_tail_s) /
  segment_s))) of them, with start times spread evenly from 0 to D - segment_s.
  * D a multiple of 10 s and ≤ 120 s: exact back-to-back tiling (0, 10, 20, …).
  * D ≤ 120 s otherwise: the whole track is covered; neighbouring segments overlap a little instead of
    padding the tail with silence. A tail shorter than `min_tail_s` (2.5 s) gets no segment of its
    own (so 10.01 s gives one segment, not two near-duplicates) and is dropped.
  * D > 120 s: 12 segments sampled evenly across the whole track (intro, body and outro all count),
    with gaps between them; the last segment ends exactly at the end of the track.
- A track shorter than one segment gets one segment, **loop-padded**: the audio is repeated to fill
  10 s. Zero padding would feed the models seconds of silence, dragging pooled features and tag scores
  toward "quiet/ambient"; a loop keeps the music's statistics. The real duration is recorded
  (`Segment.content_s`, and `MusicEncoding.duration_s`) so consumers know it was padded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from musechat.contracts.features import MAX_SEGMENTS, SEGMENT_SECONDS

DEFAULT_MIN_TAIL_S = 2.5


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float  # start_s + segment length, even when the content is shorter (loop-padded)
    content_s: float  # seconds of real audio in the segment (< segment length only when padded)

    @property
    def padded(self) -> bool:
        return self.content_s < self.end_s - self.start_s


def plan_segments(
    duration_s: float,
    segment_s: float = SEGMENT_SECONDS,
    max_segments: int = MAX_SEGMENTS,
    min_tail_s: float = DEFAULT_MIN_TAIL_S,
) -> list[Segment]:
    """Segment start/end times for a track of `duration_s` seconds (see the module docstring)."""
    if not duration_s > 0 or not math.isfinite(duration_s):
        raise ValueError(f"duration must be a positive number of seconds, got {duration_s!r}")
    if segment_s <= 0 or max_segments < 1 or not 0 <= min_tail_s < segment_s:
        raise ValueError(
            f"bad segment parameters: segment_s={segment_s}, max_segments={max_segments}, min_tail_s={min_tail_s}"
        )
    if duration_s <= segment_s:
        return [Segment(0.0, segment_s, duration_s)]
    count = min(max_segments, max(1, math.ceil((duration_s - min_tail_s) / segment_s)))
    last_start = duration_s - segment_s
    starts = [0.0] if count == 1 else [last_start * i / (count - 1) for i in range(count)]
    return [Segment(start, start + segment_s, segment_s) for start in starts]


def cut_segments(samples: np.ndarray, sample_rate: int, segments: list[Segment]) -> np.ndarray:
    """Slice mono `samples` into a float32 [S, segment_samples] array, loop-padding short content."""
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError(f"expected non-empty mono samples, got shape {samples.shape}")
    out: list[np.ndarray] = []
    for seg in segments:
        length = round((seg.end_s - seg.start_s) * sample_rate)
        start = min(round(seg.start_s * sample_rate), max(0, samples.size - length))
        piece = samples[start : start + length]
        if piece.size < length:
            piece = np.resize(piece, length)  # np.resize repeats the data: the loop padding
        out.append(piece)
    return np.stack(out).astype(np.float32, copy=False)
