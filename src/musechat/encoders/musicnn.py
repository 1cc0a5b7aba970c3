"""MusiCNN music auto-tagger (Pons & Serra, 2019) in torch, with the original pretrained weights.

The weights are the TF1 checkpoints shipped in PyPI ``musicnn`` (install it with ``--no-deps``); they
are read with :mod:`musechat.encoders.tf_checkpoint`, so TensorFlow is never needed. The network and
the audio front-end reproduce ``musicnn/models.py`` (``build_musicnn``) and
``musicnn/extractor.py`` (``batch_data``) step by step; ``tests/integration/test_musicnn_golden.py``
checks the port against outputs of the original TF network (see ``docs/musicnn.md``).

Pipeline for one clip (mono float32 at 16 kHz):

1. log-mel: librosa-style STFT (n_fft 512, hop 256, periodic Hann, centred with zero padding), power
   spectrogram, 96 Slaney mel bands up to 8 kHz, cast to float16 and ``log10(10000 * x + 1)`` in
   float16, exactly as musicnn's extractor does — except that cells where the original overflows to
   +inf (loud input; the original then returns NaN tags) are computed in float32;
2. cut into non-overlapping 187-frame windows (3 s), dropping the incomplete tail like musicnn; a clip
   shorter than 3 s is zero-padded to 3 s so that it yields one window;
3. the network per window: 50 sigmoid tag probabilities and the 200-d penultimate features
   (``bn_dense``, what musicnn's extractor calls ``penultimate``);
4. the clip's tags are the mean over windows; its embedding is the mean penultimate vector.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from musechat.encoders.tf_checkpoint import read_checkpoint

if TYPE_CHECKING:
    import torch

__all__ = [
    "FFT_HOP",
    "FFT_SIZE",
    "N_FRAMES",
    "N_MELS",
    "SAMPLE_RATE",
    "MusiCNNModelName",
    "MusiCNNTagger",
    "TaggerOutput",
    "frame_windows",
    "log_mel_spectrogram",
    "musicnn_checkpoint_dir",
    "slaney_mel_filterbank",
    "top_tags",
]

MusiCNNModelName = Literal["MTT_musicnn", "MSD_musicnn"]

# musicnn/configuration.py
SAMPLE_RATE = 16000
FFT_HOP = 256
FFT_SIZE = 512
N_MELS = 96
# librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1, as musicnn's extractor computes it
N_FRAMES = 187
WINDOW_SECONDS = 3.0

# architecture constants of build_musicnn(num_filt_frontend=1.6, num_filt_midend=64, num_units_backend=200)
_TIMBRAL_FILTERS = int(1.6 * 128)  # 204
_TEMPORAL_FILTERS = int(1.6 * 32)  # 51
_TIMBRAL_KERNELS = ((7, int(0.4 * N_MELS)), (7, int(0.7 * N_MELS)))  # (7, 38), (7, 67)
_TEMPORAL_KERNELS = (128, 64, 32)
_FRONTEND_DIM = 2 * _TIMBRAL_FILTERS + 3 * _TEMPORAL_FILTERS  # 561
_MIDEND_FILTERS = 64
_BACKEND_UNITS = 200
_NUM_CLASSES = 50
_TF_BN_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization default (torch's default is 1e-5)


# ================================================================ front-end (numpy, no librosa)
def slaney_mel_filterbank(
    sr: int = SAMPLE_RATE,
    n_fft: int = FFT_SIZE,
    n_mels: int = N_MELS,
    fmin: float = 0.0,
    fmax: float | None = None,
) -> np.ndarray:
    """``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)`` (Slaney scale and norm), float32.

    Shape ``[n_mels, 1 + n_fft // 2]``. Follows librosa's arithmetic (float64 internally, float32
    result) so the filters are bit-identical or within one float32 ulp.
    """
    fmax = sr / 2.0 if fmax is None else fmax

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        f_sp = 200.0 / 3
        mels = f / f_sp
        min_log_hz = 1000.0
        min_log_mel = min_log_hz / f_sp
        logstep = np.log(6.4) / 27.0
        return np.where(
            f >= min_log_hz, min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep, mels
        )

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        f_sp = 200.0 / 3
        freqs = f_sp * m
        min_log_hz = 1000.0
        min_log_mel = min_log_hz / f_sp
        logstep = np.log(6.4) / 27.0
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)

    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_lo, mel_hi = (
        hz_to_mel(np.asarray(fmin, dtype=np.float64)),
        hz_to_mel(np.asarray(fmax, dtype=np.float64)),
    )
    mel_f = mel_to_hz(np.linspace(mel_lo, mel_hi, n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


_MEL_BASIS = slaney_mel_filterbank()
# scipy.signal.get_window("hann", 512, fftbins=True), computed the way scipy does (general_cosine)
_HANN = 0.5 + 0.5 * np.cos(np.linspace(-np.pi, np.pi, FFT_SIZE + 1))[:FFT_SIZE]


def _check_waveform(waveform: np.ndarray) -> np.ndarray:
    wav = np.asarray(waveform)
    if wav.ndim != 1:
        raise ValueError(f"expected a mono waveform of shape [samples], got shape {wav.shape}")
    if wav.size == 0:
        raise ValueError("empty waveform")
    if not np.issubdtype(wav.dtype, np.floating):
        raise ValueError(f"expected float samples in [-1, 1] at 16 kHz, got dtype {wav.dtype}")
    wav = wav.astype(np.float32, copy=False)
    if not np.all(np.isfinite(wav)):
        raise ValueError("waveform contains NaN or infinite samples")
    return wav


def log_mel_spectrogram(waveform: np.ndarray) -> np.ndarray:
    """musicnn's input representation of a 16 kHz mono clip: ``[frames, 96]`` float32.

    Equals ``log10(10000 * librosa.feature.melspectrogram(y, sr=16000, n_fft=512, hop_length=256,
    n_mels=96).T.astype(float16) + 1)`` computed in float16 (librosa >= 0.10, whose centred STFT pads
    with zeros), except for cells where that float16 arithmetic overflows (see below). Frames:
    ``1 + len(waveform) // 256``.
    """
    y = _check_waveform(waveform)
    pad = FFT_SIZE // 2
    padded = np.pad(y, (pad, pad), mode="constant")
    n_frames = 1 + (len(padded) - FFT_SIZE) // FFT_HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, FFT_SIZE)[::FFT_HOP][:n_frames]  # [T, 512]
    # librosa windows in float64, runs the float64 FFT and stores complex64: mirror each cast
    spec = np.fft.rfft(frames * _HANN, axis=-1).astype(np.complex64)
    power = np.abs(spec) ** 2  # float32 [T, 257]
    mel = power @ _MEL_BASIS.T  # float32 [T, 96]
    # musicnn casts the mel power to float16 and numpy keeps float16 through the log compression, so
    # we do the same to get its exact inputs. Where 10000*x overflows float16 (mel power > 6.55, e.g. a
    # 440 Hz sine at amplitude 0.5) the original feeds +inf to the network and every tag becomes NaN;
    # only those cells are computed in float32 instead (a monotone continuation, values > 4.816).
    mel16 = mel.astype(np.float16)
    with np.errstate(over="ignore"):
        logmel = np.log10(np.float16(10000) * mel16 + np.float16(1)).astype(np.float32)
    overflow = ~np.isfinite(logmel)
    logmel[overflow] = np.log10(np.float32(10000) * mel[overflow] + np.float32(1))
    return logmel


def frame_windows(logmel: np.ndarray, n_frames: int = N_FRAMES) -> np.ndarray:
    """Non-overlapping ``[W, n_frames, 96]`` windows; the incomplete tail is dropped (musicnn's batching)."""
    if logmel.ndim != 2 or logmel.shape[0] < n_frames:
        raise ValueError(f"need a [frames >= {n_frames}, mels] spectrogram, got shape {logmel.shape}")
    starts = range(0, logmel.shape[0] - n_frames + 1, n_frames)
    return np.stack([logmel[s : s + n_frames] for s in starts])


def _clip_windows(waveform: np.ndarray) -> np.ndarray:
    wav = _check_waveform(waveform)
    min_samples = int(WINDOW_SECONDS * SAMPLE_RATE)
    if len(wav) < min_samples:  # documented: shorter clips are zero-padded to one 3 s window
        wav = np.pad(wav, (0, min_samples - len(wav)))
    return frame_windows(log_mel_spectrogram(wav))


# ================================================================ network (torch)
def _build_network() -> torch.nn.Module:
    import torch
    import torch.nn.functional as F
    from torch import nn

    def bn2d(c: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(c, eps=_TF_BN_EPSILON)

    def bn1d(c: int) -> nn.BatchNorm1d:
        return nn.BatchNorm1d(c, eps=_TF_BN_EPSILON)

    class MusiCNN(nn.Module):
        """``build_musicnn`` in NCHW: channels = filters, H = time, W = mel bands."""

        def __init__(self) -> None:
            super().__init__()
            self.input_bn = bn2d(1)
            self.timbral = nn.ModuleList(nn.Conv2d(1, _TIMBRAL_FILTERS, k) for k in _TIMBRAL_KERNELS)
            self.timbral_bn = nn.ModuleList(bn2d(_TIMBRAL_FILTERS) for _ in _TIMBRAL_KERNELS)
            self.temporal = nn.ModuleList(nn.Conv2d(1, _TEMPORAL_FILTERS, (k, 1)) for k in _TEMPORAL_KERNELS)
            self.temporal_bn = nn.ModuleList(bn2d(_TEMPORAL_FILTERS) for _ in _TEMPORAL_KERNELS)
            # the mid-end convs span the whole feature axis, i.e. they are 1-d convs over time
            self.midend = nn.ModuleList(
                [
                    nn.Conv1d(_FRONTEND_DIM, _MIDEND_FILTERS, 7, padding=3),
                    nn.Conv1d(_MIDEND_FILTERS, _MIDEND_FILTERS, 7, padding=3),
                    nn.Conv1d(_MIDEND_FILTERS, _MIDEND_FILTERS, 7, padding=3),
                ]
            )
            self.midend_bn = nn.ModuleList(bn1d(_MIDEND_FILTERS) for _ in range(3))
            pooled_dim = 2 * (_FRONTEND_DIM + 3 * _MIDEND_FILTERS)  # 1506
            self.pool_bn = bn1d(pooled_dim)
            self.dense = nn.Linear(pooled_dim, _BACKEND_UNITS)
            self.dense_bn = bn1d(_BACKEND_UNITS)
            self.out = nn.Linear(_BACKEND_UNITS, _NUM_CLASSES)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """``[B, 187, 96]`` log-mel -> (logits ``[B, 50]``, penultimate ``[B, 200]``)."""
            x = self.input_bn(x.unsqueeze(1))  # [B, 1, T, F]
            front = []
            x_pad7 = F.pad(x, (0, 0, 3, 3))  # pad time only: frequency is max-pooled away anyway
            for conv, bn in zip(self.timbral, self.timbral_bn, strict=True):
                front.append(bn(F.relu(conv(x_pad7))).amax(dim=3))
            for k, conv, bn in zip(_TEMPORAL_KERNELS, self.temporal, self.temporal_bn, strict=True):
                # TF "same" with an even kernel pads one more row after than before
                before = (k - 1) // 2
                front.append(bn(F.relu(conv(F.pad(x, (0, 0, before, k - 1 - before))))).amax(dim=3))
            frontend = torch.cat(front, dim=1)  # [B, 561, T]

            m1 = self.midend_bn[0](F.relu(self.midend[0](frontend)))
            m2 = self.midend_bn[1](F.relu(self.midend[1](m1))) + m1
            m3 = self.midend_bn[2](F.relu(self.midend[2](m2))) + m2
            feats = torch.cat([frontend, m1, m2, m3], dim=1)  # [B, 753, T]

            # TF concatenates [max, mean] on a trailing axis then flattens: features interleave
            pooled = torch.stack([feats.amax(dim=2), feats.mean(dim=2)], dim=2).flatten(1)
            penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
            return self.out(penultimate), penultimate

    return MusiCNN()


def _bn_tensors(ckpt: dict[str, np.ndarray], scope: str) -> dict[str, np.ndarray]:
    return {
        "weight": ckpt[f"{scope}/gamma"],
        "bias": ckpt[f"{scope}/beta"],
        "running_mean": ckpt[f"{scope}/moving_mean"],
        "running_var": ckpt[f"{scope}/moving_variance"],
    }


def _state_dict_from_checkpoint(ckpt: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map TF variable names (creation order in ``build_musicnn``) to the torch module's parameters.

    TF conv kernels are HWIO (time, freq, in, out) -> torch OIHW; dense kernels are [in, out] -> [out, in].
    """
    sd: dict[str, np.ndarray] = {}

    def put_bn(prefix: str, scope: str) -> None:
        for k, v in _bn_tensors(ckpt, scope).items():
            sd[f"{prefix}.{k}"] = v

    def conv2d(scope: str) -> tuple[np.ndarray, np.ndarray]:
        return ckpt[f"{scope}/kernel"].transpose(3, 2, 0, 1), ckpt[f"{scope}/bias"]

    put_bn("input_bn", "batch_normalization")
    tf_index = 0  # conv2d, conv2d_1, ... / batch_normalization_1, ... in the order models.py creates them
    for group, count in (("timbral", 2), ("temporal", 3)):
        for i in range(count):
            scope = "conv2d" if tf_index == 0 else f"conv2d_{tf_index}"
            sd[f"{group}.{i}.weight"], sd[f"{group}.{i}.bias"] = conv2d(scope)
            put_bn(f"{group}_bn.{i}", f"batch_normalization_{tf_index + 1}")
            tf_index += 1
    for i in range(3):
        scope = f"conv2d_{tf_index}"
        # [7, C_in, 1, 64]: the kernel spans all features (the conv "width"), leaving a 1-d conv over time
        sd[f"midend.{i}.weight"] = ckpt[f"{scope}/kernel"][:, :, 0, :].transpose(2, 1, 0)
        sd[f"midend.{i}.bias"] = ckpt[f"{scope}/bias"]
        put_bn(f"midend_bn.{i}", f"batch_normalization_{tf_index + 1}")
        tf_index += 1
    put_bn("pool_bn", "batch_normalization_9")
    sd["dense.weight"], sd["dense.bias"] = ckpt["dense/kernel"].T, ckpt["dense/bias"]
    put_bn("dense_bn", "batch_normalization_10")
    sd["out.weight"], sd["out.bias"] = ckpt["dense_1/kernel"].T, ckpt["dense_1/bias"]
    return sd


def musicnn_checkpoint_dir(model: MusiCNNModelName) -> Path:
    """Directory of the checkpoint inside the installed ``musicnn`` wheel (found without importing it,
    since ``musicnn.extractor`` imports TensorFlow)."""
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("MusiCNN weights need PyPI `musicnn`: pip install --no-deps musicnn")
    path = Path(next(iter(spec.submodule_search_locations))) / model
    if not (path / ".index").is_file():
        raise FileNotFoundError(f"no {model} checkpoint in the musicnn package at {path}")
    return path


def _labels(model: MusiCNNModelName) -> list[str]:
    # musicnn/configuration.py is plain Python (no TensorFlow import): single source of the vocabularies
    from musicnn import configuration

    return list(configuration.MTT_LABELS if model.startswith("MTT") else configuration.MSD_LABELS)


# ================================================================ public API
@dataclass(frozen=True)
class TaggerOutput:
    """Tags of one clip."""

    labels: list[str]
    probabilities: np.ndarray  # [50] mean over the clip's 3 s windows
    per_window: np.ndarray  # [W, 50]
    embedding: np.ndarray  # [200] mean over windows of the penultimate layer ("penultimate" in musicnn)


class MusiCNNTagger:
    """Pretrained MusiCNN (MTT or MSD vocabulary) on torch. Build with :meth:`load`."""

    def __init__(
        self,
        network: torch.nn.Module,
        labels: list[str],
        device: torch.device,
        model_name: MusiCNNModelName,
        max_windows_per_batch: int,
    ) -> None:
        self._network = network
        self.labels = labels
        self.device = device
        self.model_name = model_name
        self.embedding_dim = _BACKEND_UNITS
        self.max_windows_per_batch = max_windows_per_batch

    @classmethod
    def load(
        cls,
        model: MusiCNNModelName = "MSD_musicnn",
        device: str = "cpu",
        *,
        checkpoint_dir: Path | None = None,
        max_windows_per_batch: int = 16,
    ) -> MusiCNNTagger:
        """Load pretrained weights (from the ``musicnn`` wheel unless ``checkpoint_dir`` is given).

        ``max_windows_per_batch`` bounds memory: one window's activations take ≈40 MB.
        """
        import torch

        if model not in get_args(MusiCNNModelName):
            raise ValueError(f"unknown MusiCNN model {model!r}; choose one of {get_args(MusiCNNModelName)}")
        if max_windows_per_batch < 1:
            raise ValueError("max_windows_per_batch must be >= 1")
        ckpt = read_checkpoint(
            checkpoint_dir if checkpoint_dir is not None else musicnn_checkpoint_dir(model)
        )
        network = _build_network()
        state = {
            k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _state_dict_from_checkpoint(ckpt).items()
        }
        # TF keeps no batch counter; everything else must come from the checkpoint (strict load)
        for key in network.state_dict():
            if key.endswith("num_batches_tracked"):
                state[key] = torch.tensor(0)
        network.load_state_dict(state)
        dev = torch.device(device)
        network.to(dev).eval()
        return cls(network, _labels(model), dev, model, max_windows_per_batch)

    def forward_windows(
        self, windows: np.ndarray, *, progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """The network on log-mel windows ``[W, 187, 96]``.

        Returns (tag probabilities ``[W, 50]``, penultimate features ``[W, 200]``).
        """
        import torch
        from tqdm import tqdm

        if windows.ndim != 3 or windows.shape[1:] != (N_FRAMES, N_MELS):
            raise ValueError(f"expected windows of shape [W, {N_FRAMES}, {N_MELS}], got {windows.shape}")
        probs, pens = [], []
        with torch.inference_mode():
            starts = range(0, len(windows), self.max_windows_per_batch)
            for start in tqdm(starts, desc="musicnn", disable=not progress):
                chunk = torch.from_numpy(
                    np.ascontiguousarray(windows[start : start + self.max_windows_per_batch])
                )
                logits, pen = self._network(chunk.to(self.device, torch.float32))
                probs.append(torch.sigmoid(logits).cpu().numpy())
                pens.append(pen.cpu().numpy())
        return np.concatenate(probs), np.concatenate(pens)

    def predict(self, waveform_16k: np.ndarray) -> TaggerOutput:
        """Tag one mono float clip sampled at 16 kHz."""
        return self.predict_batch([waveform_16k])[0]

    def predict_batch(self, waveforms: Sequence[np.ndarray], *, progress: bool = False) -> list[TaggerOutput]:
        """Tag several clips; their windows share network batches."""
        from tqdm import tqdm

        per_clip = [_clip_windows(w) for w in tqdm(waveforms, desc="log-mel", disable=not progress)]
        if not per_clip:
            return []
        probs, pens = self.forward_windows(np.concatenate(per_clip), progress=progress)
        outputs = []
        start = 0
        for windows in per_clip:
            p, e = probs[start : start + len(windows)], pens[start : start + len(windows)]
            start += len(windows)
            outputs.append(TaggerOutput(list(self.labels), p.mean(axis=0), p, e.mean(axis=0)))
        return outputs


def top_tags(output: TaggerOutput, k: int = 5, threshold: float | None = None) -> list[tuple[str, float]]:
    """The ``k`` most probable tags (highest first), keeping only those ``>= threshold`` if given."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    order = np.argsort(-output.probabilities, kind="stable")[:k]
    tags = [(output.labels[i], float(output.probabilities[i])) for i in order]
    return tags if threshold is None else [(t, p) for t, p in tags if p >= threshold]
