"""decode_video: segment plan, 5 fps sampling on real files, and error classification of bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musechat.contracts.features import MAX_SEGMENTS
from musechat.media.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaNotFoundError,
    MediaTooLongError,
    UnsupportedFormatError,
)
from musechat.media.video import (
    NotAVideoError,
    NoVideoStreamError,
    Segment,
    TruncatedVideoError,
    UnsupportedVideoError,
    VideoTooLargeError,
    decode_video,
    plan_segments,
)
from tests.fixtures_video import (
    make_audio_only,
    make_counter_video,
    make_video,
    read_counter,
    truncate_copy,
    write_not_a_video,
    write_png,
)

pytestmark = pytest.mark.unit

SMALL = 16  # decoded frame size: the tests check timing and errors, not pixels at CLIP resolution


# ---------------------------------------------------------------- segment plan (pure)


def test_short_video_gets_one_partial_segment() -> None:
    assert plan_segments(0.3) == [Segment(0.0, 0.3)]


def test_consecutive_windows_with_partial_tail() -> None:
    assert plan_segments(25.0) == [Segment(0, 10), Segment(10, 20), Segment(20, 25)]


def test_tail_shorter_than_a_second_is_dropped() -> None:
    assert plan_segments(20.5) == [Segment(0, 10), Segment(10, 20)]
    assert len(plan_segments(120.4)) == MAX_SEGMENTS
    assert plan_segments(120.4)[-1] == Segment(110, 120)


def test_long_video_windows_spread_evenly_over_the_whole_video() -> None:
    windows = plan_segments(600.0)
    assert len(windows) == MAX_SEGMENTS
    assert windows[0] == Segment(0.0, 10.0)
    assert windows[-1].end_s == pytest.approx(600.0)
    starts = np.array([w.start_s for w in windows])
    np.testing.assert_allclose(np.diff(starts), (600.0 - 10.0) / 11)
    assert all(w.end_s - w.start_s == pytest.approx(10.0) for w in windows)


def test_just_over_two_minutes_switches_to_spread_windows() -> None:
    windows = plan_segments(121.5)
    assert len(windows) == MAX_SEGMENTS
    assert windows[-1].end_s == pytest.approx(121.5)


def test_non_positive_duration_is_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        plan_segments(0.0)


def test_sample_times_are_fps_spaced_inside_the_window() -> None:
    assert len(Segment(0, 10).sample_times(5.0)) == 50
    times = Segment(20, 22.5).sample_times(5.0)
    assert times[0] == 20 and len(times) == 13 and times[-1] < 22.5


# ---------------------------------------------------------------- sampling on real files


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".webm"])
def test_each_accepted_container_decodes_to_masked_segments(tmp_path: Path, suffix: str) -> None:
    path = make_video(tmp_path / f"clip{suffix}", duration_s=12.6, style="energetic", fps=5, size=(48, 32))
    video = decode_video(path, frame_size=SMALL)
    assert video.num_segments == 2
    assert [len(s) for s in video.segments] == [50, 13]
    assert video.segments[0].shape[1:] == (SMALL, SMALL, 3) and video.segments[0].dtype == np.uint8
    assert video.mask == [True, True] + [False] * (MAX_SEGMENTS - 2)
    assert video.duration_s == pytest.approx(12.6, abs=0.05)


@pytest.mark.parametrize(("source_fps", "expected"), [(10.0, [0, 2, 4, 6, 8]), (3.0, [0, 0, 1, 1, 2])])
def test_samples_the_frame_on_screen_every_fifth_of_a_second(
    tmp_path: Path, source_fps: float, expected: list[int]
) -> None:
    path = make_counter_video(tmp_path / "counter.mkv", n_frames=40, fps=source_fps)
    video = decode_video(path, frame_size=SMALL)
    indices = [read_counter(f) for f in video.segments[0]]
    assert indices[:5] == expected
    # On screen at t = k / 5 is source frame floor(t * source_fps).
    assert indices == [int(k / 5 * source_fps + 1e-9) for k in range(len(indices))]


def test_long_video_seeks_to_spread_windows(tmp_path: Path) -> None:
    path = make_counter_video(tmp_path / "long.mp4", n_frames=300, fps=1.0)  # 300 s at 1 fps
    video = decode_video(path, frame_size=SMALL)
    assert video.num_segments == MAX_SEGMENTS
    for window, frames in zip(video.windows, video.segments, strict=True):
        # Each sample shows the 1 fps frame on screen at that instant, even after a keyframe seek.
        got = [read_counter(f) for f in frames]
        assert got == [int(t) for t in window.sample_times(5.0)]


def test_resize_keeps_the_centre_of_a_wide_frame(tmp_path: Path) -> None:
    path = make_video(tmp_path / "wide.mp4", duration_s=1.0, style="calm", fps=5, size=(96, 32))
    video = decode_video(path, frame_size=SMALL)
    assert video.segments[0].shape == (5, SMALL, SMALL, 3)


def test_the_videos_audio_track_changes_nothing(tmp_path: Path) -> None:
    # Lossless video (FFV1): two encodes of one picture are bit-identical, which x264's are not always.
    silent = make_video(tmp_path / "a.mkv", duration_s=3.0, style="sunny", fps=5, size=(48, 32), codec="ffv1")
    loud = make_video(tmp_path / "b.mkv", duration_s=3.0, style="sunny", fps=5, size=(48, 32), codec="ffv1",
                      with_audio=True)
    a, b = decode_video(silent, frame_size=SMALL), decode_video(loud, frame_size=SMALL)
    np.testing.assert_array_equal(a.segments[0], b.segments[0])


# ---------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError, match="does not exist"):
        decode_video(tmp_path / "nope.mp4")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(EmptyMediaError, match="0 bytes") as err:
        decode_video(tmp_path / "empty.mp4")
    assert err.value.code == "empty_file"


def test_text_file_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(NotAVideoError, match="text file") as err:
        decode_video(write_not_a_video(tmp_path / "notes.mp4"))
    assert err.value.code == "unsupported_format"


def test_image_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(NotAVideoError, match="PNG image"):
        decode_video(write_png(tmp_path / "still.png"))


def test_random_bytes_are_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "noise.webm"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 8192, dtype=np.uint8).tobytes())
    with pytest.raises(NotAVideoError, match="not a video"):
        decode_video(path)


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_mp4_cut_before_its_index_is_truncated(tmp_path: Path, suffix: str) -> None:
    full = make_video(tmp_path / f"full{suffix}", duration_s=3.0, fps=5, size=(48, 32))
    with pytest.raises(TruncatedVideoError, match="truncated or damaged") as err:
        decode_video(truncate_copy(full, tmp_path / f"cut{suffix}"))
    assert err.value.code == "corrupt"


@pytest.mark.parametrize("suffix", [".mkv", ".webm"])
def test_matroska_cut_short_is_truncated(tmp_path: Path, suffix: str) -> None:
    full = make_video(tmp_path / f"full{suffix}", duration_s=12.0, style="energetic", fps=5, size=(48, 32))
    with pytest.raises(TruncatedVideoError, match=r"frames stop at \d"):
        decode_video(truncate_copy(full, tmp_path / f"cut{suffix}"), frame_size=SMALL)


def test_audio_only_container_has_no_video_stream(tmp_path: Path) -> None:
    with pytest.raises(NoVideoStreamError, match="no video stream") as err:
        decode_video(make_audio_only(tmp_path / "song.mp4"))
    assert err.value.code == "no_video_stream"


def test_other_containers_are_unsupported(tmp_path: Path) -> None:
    path = make_video(tmp_path / "old.avi", duration_s=1.0, fps=5, size=(48, 32))
    with pytest.raises(UnsupportedVideoError, match=r"'avi'.*MP4, MOV, WebM or MKV") as err:
        decode_video(path)
    assert isinstance(err.value, UnsupportedFormatError)


def test_too_long(tmp_path: Path) -> None:
    path = make_video(tmp_path / "long.mp4", duration_s=6.0, fps=2, size=(48, 32))
    with pytest.raises(MediaTooLongError, match=r"6\.0 s, longer than the 5 s limit"):
        decode_video(path, max_duration_s=5.0)


def test_too_large(tmp_path: Path) -> None:
    path = make_video(tmp_path / "big.mp4", duration_s=1.0, fps=5, size=(48, 32))
    with pytest.raises(VideoTooLargeError, match="larger than") as err:
        decode_video(path, max_bytes=100)
    assert err.value.code == "too_large"


def test_errors_name_the_input_by_its_label(tmp_path: Path) -> None:
    full = make_video(tmp_path / "full.mp4", duration_s=2.0, fps=5, size=(48, 32))
    with pytest.raises(MediaError) as err:
        decode_video(truncate_copy(full, tmp_path / "tmp123"), name="holiday.mp4")
    assert isinstance(err.value, CorruptMediaError)
    assert err.value.message.startswith("holiday.mp4 looks like MP4/MOV")
