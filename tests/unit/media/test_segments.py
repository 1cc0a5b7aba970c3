"""Segmentation policy: 10 s segments, at most 12, spread over the track, short tracks loop-padded."""

from __future__ import annotations

import numpy as np
import pytest

from musechat.media.segments import Segment, cut_segments, plan_segments

pytestmark = pytest.mark.unit


def starts(duration: float) -> list[float]:
    return [round(s.start_s, 6) for s in plan_segments(duration)]


def test_exact_multiples_tile_back_to_back() -> None:
    assert starts(10.0) == [0.0]
    assert starts(30.0) == [0.0, 10.0, 20.0]
    assert starts(120.0) == [float(10 * i) for i in range(12)]
    assert all(not s.padded for s in plan_segments(120.0))


def test_short_track_is_one_padded_segment_with_its_real_duration() -> None:
    (seg,) = plan_segments(4.2)
    assert (seg.start_s, seg.end_s, seg.content_s, seg.padded) == (0.0, 10.0, 4.2, True)


def test_small_tail_is_dropped_and_large_tail_gets_an_overlapping_segment() -> None:
    assert starts(10.01) == [0.0]  # not two near-duplicate segments
    assert starts(12.5) == [0.0]  # tail of exactly min_tail_s: dropped
    assert starts(12.6) == [0.0, 2.6]  # the second segment ends at the end of the track
    assert starts(25.0) == [0.0, 7.5, 15.0]
    for seg in plan_segments(25.0):
        assert seg.end_s - seg.start_s == 10.0 and seg.end_s <= 25.0


def test_long_track_gets_twelve_segments_spread_to_the_end() -> None:
    segs = plan_segments(600.0)
    assert len(segs) == 12
    assert segs[0].start_s == 0.0 and segs[-1].end_s == pytest.approx(600.0)
    gaps = np.diff([s.start_s for s in segs])
    assert np.allclose(gaps, gaps[0]) and gaps[0] > 10.0


@pytest.mark.parametrize("duration", [0.0, -1.0, float("nan"), float("inf")])
def test_rejects_non_positive_or_non_finite_durations(duration: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        plan_segments(duration)


def test_rejects_inconsistent_parameters() -> None:
    with pytest.raises(ValueError, match="bad segment parameters"):
        plan_segments(30.0, segment_s=10.0, min_tail_s=10.0)
    with pytest.raises(ValueError, match="bad segment parameters"):
        plan_segments(30.0, max_segments=0)


def test_custom_segment_parameters() -> None:
    assert len(plan_segments(100.0, segment_s=5.0, max_segments=4)) == 4


def test_cut_loop_pads_short_audio() -> None:
    sr = 100
    samples = np.arange(250, dtype=np.float32)  # 2.5 s
    waves = cut_segments(samples, sr, plan_segments(2.5))
    assert waves.shape == (1, 1000)
    # the loop: the audio repeats from its start rather than leaving silence
    assert np.array_equal(waves[0, :250], samples) and np.array_equal(waves[0, 250:500], samples)


def test_cut_takes_the_planned_slices() -> None:
    sr = 10
    samples = np.arange(250, dtype=np.float32)  # 25 s
    waves = cut_segments(samples, sr, plan_segments(25.0))
    assert waves.shape == (3, 100)
    assert [w[0] for w in waves] == [0.0, 75.0, 150.0]
    assert waves[-1, -1] == samples[-1]


def test_cut_fills_a_segment_longer_than_the_audio() -> None:
    waves = cut_segments(np.ones(95, dtype=np.float32), 10, [Segment(0.0, 10.0, 10.0)])
    assert waves.shape == (1, 100) and np.all(waves == 1.0)


def test_cut_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="mono"):
        cut_segments(np.zeros((2, 10), dtype=np.float32), 10, plan_segments(1.0))
    with pytest.raises(ValueError, match="mono"):
        cut_segments(np.zeros(0, dtype=np.float32), 10, plan_segments(1.0))
