"""The torch MusiCNN port against outputs of the original TensorFlow network.

``tests/golden/musicnn/*.json`` were produced once by ``tools/make_musicnn_golden.py`` in a scratch
TensorFlow venv (see docs/musicnn.md). This test re-synthesises the same clip with that script's
numpy-only ``synth_clip`` and runs the port, with the real weights from PyPI ``musicnn``.
"""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from musechat.encoders.musicnn import (
    N_FRAMES,
    MusiCNNModelName,
    MusiCNNTagger,
    frame_windows,
    log_mel_spectrogram,
    slaney_mel_filterbank,
    top_tags,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "musicnn"
MODELS: tuple[MusiCNNModelName, ...] = ("MTT_musicnn", "MSD_musicnn")
PROB_ATOL = 1e-4


def _golden_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_musicnn_golden", ROOT / "tools" / "make_musicnn_golden.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return _golden_tool()


@pytest.fixture(scope="module")
def clip(tool: ModuleType) -> np.ndarray:
    clip = tool.synth_clip()
    golden = json.loads((GOLDEN / "logmel.json").read_text())
    # the golden is only meaningful for the very same samples
    assert tool.clip_sha256(clip) == golden["clip"]["sha256"], "synth_clip drifted from the golden clip"
    return clip


@pytest.fixture(scope="module")
def taggers() -> dict[str, MusiCNNTagger]:
    return {m: MusiCNNTagger.load(m) for m in MODELS}


def test_mel_filterbank_matches_transformers_slaney_filters() -> None:
    from transformers.audio_utils import mel_filter_bank

    reference = mel_filter_bank(
        num_frequency_bins=257,
        num_mel_filters=96,
        min_frequency=0.0,
        max_frequency=8000.0,
        sampling_rate=16000,
        norm="slaney",
        mel_scale="slaney",
    ).T
    np.testing.assert_allclose(slaney_mel_filterbank(), reference, rtol=0, atol=1e-8)


def test_log_mel_matches_musicnn_librosa_frontend(clip: np.ndarray) -> None:
    golden = json.loads((GOLDEN / "logmel.json").read_text())
    logmel = log_mel_spectrogram(clip)
    assert logmel.shape == (golden["n_frames_total"], 96)
    windows = frame_windows(logmel)
    assert windows.shape == (golden["n_windows"], N_FRAMES, 96)

    frames = golden["window0_frames"]
    expected = np.frombuffer(base64.b64decode(golden["window0_frames_f16_b64"]), dtype="<f2")
    expected = expected.reshape(len(frames), 96).astype(np.float32)
    # float16 values: at most one float16 ulp (≈0.002 near 4) may differ from float32 summation order
    np.testing.assert_allclose(windows[0][frames], expected, rtol=0, atol=2.5e-3)
    w0 = windows[0].astype(np.float64)
    np.testing.assert_allclose(w0.mean(axis=0), golden["window0_band_means"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(w0.mean(axis=1), golden["window0_frame_means"], rtol=0, atol=1e-5)
    assert logmel.astype(np.float64).mean() == pytest.approx(golden["clip_mean"], abs=1e-5)
    assert logmel.astype(np.float64).std() == pytest.approx(golden["clip_std"], abs=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_tags_match_the_tensorflow_network(
    model: MusiCNNModelName, clip: np.ndarray, taggers: dict[str, MusiCNNTagger]
) -> None:
    golden = json.loads((GOLDEN / f"{model}.json").read_text())
    tagger = taggers[model]
    out = tagger.predict(clip)

    assert out.labels == golden["labels"] == tagger.labels
    expected = np.asarray(golden["per_window_probabilities"])
    assert out.per_window.shape == expected.shape == (3, 50)
    np.testing.assert_allclose(out.per_window, expected, rtol=0, atol=PROB_ATOL)
    np.testing.assert_allclose(out.probabilities, expected.mean(axis=0), rtol=0, atol=PROB_ATOL)
    assert [tag for tag, _ in top_tags(out, k=5)] == golden["top5"]

    assert out.embedding.shape == (tagger.embedding_dim,) == (200,)
    np.testing.assert_allclose(out.embedding, golden["penultimate_mean_over_windows"], rtol=0, atol=1e-4)
    pen = tagger.forward_windows(frame_windows(log_mel_spectrogram(clip)))[1].astype(np.float64)
    stats = golden["penultimate_stats"]
    assert pen.mean() == pytest.approx(stats["mean"], abs=1e-5)
    assert pen.std() == pytest.approx(stats["std"], abs=1e-5)
    assert pen.min() == pytest.approx(stats["min"], abs=1e-4)
    assert pen.max() == pytest.approx(stats["max"], abs=1e-4)


def test_batch_equals_single_clips(clip: np.ndarray, taggers: dict[str, MusiCNNTagger]) -> None:
    tagger = taggers["MSD_musicnn"]
    short = clip[: 16000 * 4]  # one window
    batch = tagger.predict_batch([clip, short])
    for waveform, out in zip([clip, short], batch, strict=True):
        single = tagger.predict(waveform)
        assert out.per_window.shape == single.per_window.shape
        np.testing.assert_allclose(out.per_window, single.per_window, rtol=0, atol=1e-5)
        np.testing.assert_allclose(out.embedding, single.embedding, rtol=0, atol=1e-5)
    assert tagger.predict_batch([]) == []


def test_short_clip_is_zero_padded_to_one_window(clip: np.ndarray, taggers: dict[str, MusiCNNTagger]) -> None:
    tagger = taggers["MTT_musicnn"]
    one_second = clip[:16000]
    out = tagger.predict(one_second)
    padded = tagger.predict(np.concatenate([one_second, np.zeros(32000, dtype=np.float32)]))
    assert out.per_window.shape == (1, 50)
    np.testing.assert_allclose(out.per_window, padded.per_window, rtol=0, atol=1e-6)


def test_loud_clip_gets_finite_tags(clip: np.ndarray, taggers: dict[str, MusiCNNTagger]) -> None:
    loud = clip * 4  # peak 0.5: the original's float16 log-mel overflows here and its tags are NaN
    logmel = log_mel_spectrogram(loud)
    # float16 overflows once 10000 * x > 65504, i.e. above log10(65505) ≈ 4.816
    assert (logmel > 4.82).any()
    out = taggers["MTT_musicnn"].predict(loud)
    assert np.all(np.isfinite(out.per_window)) and np.all(np.isfinite(out.embedding))
    # cells below the overflow keep the original's float16 values: the fallback touches nothing else
    below = logmel[logmel < 4.8]
    np.testing.assert_array_equal(below, below.astype(np.float16).astype(np.float32))


@pytest.mark.parametrize(
    ("waveform", "message"),
    [
        (np.zeros((2, 16000), dtype=np.float32), "mono"),
        (np.zeros(0, dtype=np.float32), "empty"),
        (np.zeros(16000, dtype=np.int16), "float samples"),
        (np.full(16000, np.nan, dtype=np.float32), "NaN"),
    ],
)
def test_bad_waveforms_are_rejected(
    waveform: np.ndarray, message: str, taggers: dict[str, MusiCNNTagger]
) -> None:
    with pytest.raises(ValueError, match=message):
        taggers["MTT_musicnn"].predict(waveform)


def test_top_tags_orders_and_thresholds(clip: np.ndarray, taggers: dict[str, MusiCNNTagger]) -> None:
    out = taggers["MSD_musicnn"].predict(clip)
    tags = top_tags(out, k=10)
    probs = [p for _, p in tags]
    assert len(tags) == 10 and probs == sorted(probs, reverse=True)
    cut = probs[3]
    assert top_tags(out, k=10, threshold=cut) == tags[:4]
    with pytest.raises(ValueError, match="k must be"):
        top_tags(out, k=0)


def test_unknown_model_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown MusiCNN model"):
        MusiCNNTagger.load("MTT_vgg")  # type: ignore[arg-type]
