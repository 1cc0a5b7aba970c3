"""Produce the MusiCNN golden outputs from the ORIGINAL TensorFlow network (run once, by hand).

The torch port in ``musechat.encoders.musicnn`` is checked against these files by
``tests/integration/test_musicnn_golden.py``. TensorFlow is not a project dependency: run this in a
scratch virtualenv outside the repository (≈2.6 GB)::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu tf-keras librosa soundfile
    /tmp/tfvenv/bin/pip install --no-deps musicnn
    TF_USE_LEGACY_KERAS=1 nice -n 10 /tmp/tfvenv/bin/python tools/make_musicnn_golden.py

It synthesises a deterministic clip (:func:`synth_clip`, numpy only, so no audio file is committed),
writes it to a temporary float WAV and runs musicnn's own ``extractor.extractor`` and
``extractor.batch_data`` on it, i.e. librosa's log-mel and the TF1 graph restored from the checkpoint
(the penultimate features come from the same graph run directly, see :func:`_run_graph`).
The test imports :func:`synth_clip` from this file, which is why TensorFlow is imported only in main().
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
CLIP_SECONDS = 10.0  # 626 frames -> three 187-frame windows
SEED = 20191104
# -18 dBFS: the original's float16 log-mel overflows to inf (and its tags to NaN) once a mel power
# exceeds 6.55; this clip peaks at ≈2.8, loud enough to use most of the finite range
PEAK = 0.125
MODELS = ("MTT_musicnn", "MSD_musicnn")
# log-mel frames stored verbatim (float16): the zero-padded edge, then every 16th frame of window 0
LOGMEL_FRAMES = (0, 1, 2, *range(16, 187, 16), 186)
GOLDEN_DIR = Path(__file__).resolve().parent.parent / "tests" / "golden" / "musicnn"


def synth_clip(seed: int = SEED, seconds: float = CLIP_SECONDS, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A reproducible 'music-like' mono clip: a plucked melody with harmonics, a bass line, a kick
    and hi-hat noise bursts at 120 bpm. float32, peak ``PEAK``."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    out = np.zeros(n)
    beat = 0.5  # seconds
    scale = 220.0 * 2 ** (np.array([0, 2, 3, 5, 7, 8, 10, 12]) / 12)  # A natural minor
    for i in range(int(seconds / (beat / 2))):  # eighth-note melody
        start = int(i * beat / 2 * sr)
        seg = slice(start, min(n, start + int(0.4 * sr)))
        tt = t[seg] - t[start]
        f0 = scale[rng.integers(len(scale))] * (2 if rng.random() < 0.3 else 1)
        env = np.exp(-tt * 6.0)
        for h, a in enumerate((1.0, 0.5, 0.3, 0.15), start=1):
            out[seg] += 0.12 * a * env * np.sin(2 * np.pi * f0 * h * tt + rng.uniform(0, 2 * np.pi))
    for i in range(int(seconds / beat)):
        start = int(i * beat * sr)
        seg = slice(start, min(n, start + int(beat * sr)))
        tt = t[seg] - t[start]
        bass = scale[[0, 0, 5, 3][(i // 2) % 4]] / 4
        out[seg] += 0.2 * np.sin(2 * np.pi * bass * tt) * np.exp(-tt * 2.0)
        kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 12)
        out[seg] += 0.35 * kick
        hat = slice(start + int(beat / 2 * sr), min(n, start + int(beat / 2 * sr) + int(0.05 * sr)))
        noise = rng.standard_normal(len(out[hat]))
        out[hat] += 0.08 * np.diff(noise, prepend=0.0) * np.exp(-np.arange(len(noise)) / (0.01 * sr))
    out += 0.003 * rng.standard_normal(n)  # a little broadband floor so no band is exactly silent
    return (PEAK * out / np.max(np.abs(out))).astype(np.float32)


def clip_sha256(clip: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(clip, dtype="<f4").tobytes()).hexdigest()


def _f16_b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f2").tobytes()).decode("ascii")


def _rounded(a: np.ndarray, digits: int = 7) -> list:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def _run_graph(model: str, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """musicnn's graph and checkpoint restore, as in ``extractor.extractor``, on all windows at once.

    Needed for the penultimate features: ``extractor.extractor`` returns window 0's ``penultimate``
    for every window (its loop concatenates the stale first-batch array), while its tags are right.
    """
    import tensorflow as tf
    from musicnn import configuration, models

    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, batch.shape[1], configuration.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        outputs = models.define_model(x, is_training, model, 50)
        y, penultimate = outputs[0], outputs[-1]
        normalized_y = tf.nn.sigmoid(y)
    with tf.compat.v1.Session() as sess:
        tf.compat.v1.train.Saver().restore(sess, str(Path(models.__file__).parent / model) + "/")
        probs, pen = sess.run([normalized_y, penultimate], feed_dict={x: batch, is_training: False})
    return np.asarray(probs), np.asarray(pen, dtype=np.float64)


def main() -> int:
    import librosa
    import soundfile as sf
    from musicnn import configuration, extractor

    clip = synth_clip()
    n_frames = (
        librosa.time_to_frames(
            3, sr=configuration.SR, n_fft=configuration.FFT_SIZE, hop_length=configuration.FFT_HOP
        )
        + 1
    )
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "clip.wav"
        sf.write(wav, clip, SAMPLE_RATE, subtype="FLOAT")  # float WAV: librosa.load returns it bit-exact
        batch, spectrogram = extractor.batch_data(str(wav), n_frames, n_frames)
        window0 = batch[0]  # float16 [187, 96]
        logmel = {
            "clip": {
                "seconds": CLIP_SECONDS,
                "sample_rate": SAMPLE_RATE,
                "seed": SEED,
                "sha256": clip_sha256(clip),
            },
            "versions": {"librosa": librosa.__version__, "numpy": np.__version__},
            "n_frames_total": int(spectrogram.shape[0]),
            "n_windows": int(batch.shape[0]),
            "window0_frames": list(LOGMEL_FRAMES),
            "window0_frames_f16_b64": _f16_b64(window0[list(LOGMEL_FRAMES)]),
            "window0_band_means": _rounded(window0.astype(np.float64).mean(axis=0), 6),
            "window0_frame_means": _rounded(window0.astype(np.float64).mean(axis=1), 6),
            "clip_mean": float(spectrogram.astype(np.float64).mean()),
            "clip_std": float(spectrogram.astype(np.float64).std()),
        }
        (GOLDEN_DIR / "logmel.json").write_text(json.dumps(logmel, indent=1) + "\n")

        import tensorflow as tf

        for model in MODELS:
            taggram, labels = extractor.extractor(
                str(wav), model=model, input_length=3, input_overlap=False, extract_features=False
            )
            probs, pen = _run_graph(model, batch)
            # same graph, same weights: our batched run must reproduce musicnn's own tagging loop
            np.testing.assert_allclose(probs, taggram, atol=1e-6)
            mean_prob = taggram.mean(axis=0)
            top5 = [labels[i] for i in np.argsort(-mean_prob, kind="stable")[:5]]
            golden = {
                "model": model,
                "tensorflow": tf.__version__,
                "clip_sha256": clip_sha256(clip),
                "labels": list(labels),
                "per_window_probabilities": _rounded(taggram, 7),
                "top5": top5,
                "penultimate_mean_over_windows": _rounded(pen.mean(axis=0), 6),
                "penultimate_stats": {
                    "mean": float(pen.mean()),
                    "std": float(pen.std()),
                    "min": float(pen.min()),
                    "max": float(pen.max()),
                },
            }
            (GOLDEN_DIR / f"{model}.json").write_text(json.dumps(golden, indent=1) + "\n")
            print(model, "top5:", top5, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
