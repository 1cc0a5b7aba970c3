"""The video encoder's pure core: a video file -> CLIP vision features per 10 s segment -> `VideoEncoding`.

Pipeline per video (see docs/video-encoder.md):
1. decode only the video stream at 5 fps into at most 12 windows of 10 s (`musechat.media.video`),
   frames resized and centre-cropped to the CLIP input size; typed errors for bad inputs;
2. CLIP vision tower + projection per frame (`CLIPVisionModelWithProjection.image_embeds`), each frame
   embedding L2-normalised (CLIP's own similarity space);
3. per segment, the mean of its frames' normalised embeddings -> [S, D], stored float16.

A batch shares forward passes across all frames of all its videos; one bad file yields an error result
for that item only.

No CLIP weights are reachable from our machines, so the loading path is the real one
(`from_pretrained` on a model id or a mounted directory) and tests, like the embedded default, use a
tiny randomly initialised checkpoint written by `make_tiny_clip`. Its model id says so
(`random-init-tiny-clip-seed<N>`): features from it carry no learned visual knowledge.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from musechat.contracts.features import FeatureMatrix
from musechat.contracts.video import (
    VideoEncodeError,
    VideoEncodeRequest,
    VideoEncodeResult,
    VideoEncoding,
)
from musechat.encoders.ast import state_dict_sha8
from musechat.encoders.checkpoints import MODEL_ID_FILE, write_random_checkpoint
from musechat.encoders.sources import RequestError, resolve_source
from musechat.media.errors import MediaError
from musechat.media.video import DEFAULT_MAX_BYTES, DEFAULT_MAX_DURATION_S, DecodedVideo, decode_video

log = logging.getLogger(__name__)

SPECS_DIR = Path(__file__).parent / "specs"
DEFAULT_SPEC = "video_clip_tiny"
# CLIP's published pixel statistics (OpenAI CLIP preprocessing).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# ------------------------------------------------------------------ spec (models are data)
class SamplingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    fps: float = Field(gt=0)
    segment_seconds: float = Field(gt=0)
    max_segments: int = Field(ge=1)


class ClipSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str | None = Field(description="HF model id or checkpoint dir; null = embedded tiny random CLIP.")
    tiny_seed: int | None = None
    random_config: dict[str, Any] = Field(
        description="CLIPVisionConfig fields for a random-init model: the embedded default, benchmarks."
    )
    pooling: str = "mean_of_l2_normalized_image_embeds"

    @model_validator(mode="after")
    def _source(self) -> ClipSpec:
        if self.model is None and self.tiny_seed is None:
            raise ValueError("clip: set `model` or, for the embedded random-init CLIP, `tiny_seed`")
        return self


class VideoEncoderSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    schema_version: int = 1
    kind: str = "video"
    description: str
    sampling: SamplingSpec
    clip: ClipSpec
    feature_dim: int = Field(ge=1)
    dtype: str = "float16"


def load_spec(name_or_path: str | Path = DEFAULT_SPEC) -> VideoEncoderSpec:
    """A bundled spec by name (`video_clip_tiny`, `video_clip_vit_b32`) or a JSON file path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SPECS_DIR / f"{name_or_path}.json"
    if not path.is_file():
        known = sorted(p.stem for p in SPECS_DIR.glob("video_*.json"))
        raise ValueError(f"no video encoder spec {str(name_or_path)!r}; bundled specs: {known}")
    return VideoEncoderSpec.model_validate_json(path.read_text())


# ------------------------------------------------------------------ checkpoints
def tiny_clip_id(seed: int) -> str:
    return f"random-init-tiny-clip-seed{seed}"


def make_random_clip(path: str | Path, config: dict[str, Any], seed: int, model_id: str) -> Path:
    """Save a deterministic random-init CLIP vision checkpoint (model + image processor config) at `path`.

    Same seed, same torch version -> bit-identical weights. Written next to `path` and renamed into
    place, so concurrent workers never read a half-written checkpoint.
    """
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    def save_processor(tmp: Path) -> None:
        size = int(config.get("image_size", 224))
        _processor_class()(
            size={"shortest_edge": size},
            crop_size={"height": size, "width": size},
            image_mean=list(CLIP_MEAN),
            image_std=list(CLIP_STD),
        ).save_pretrained(tmp)

    return write_random_checkpoint(path, seed, model_id,
                                   lambda: CLIPVisionModelWithProjection(CLIPVisionConfig(**config)), save_processor)


def make_tiny_clip(path: str | Path, seed: int = 0) -> Path:
    """The embedded default and test checkpoint: the `video_clip_tiny` spec's config, random weights."""
    return make_random_clip(path, load_spec("video_clip_tiny").clip.random_config, seed, tiny_clip_id(seed))


def _processor_class() -> Any:
    try:
        # transformers 5: the PIL/numpy backend; the default class wants torchvision, which we cannot
        # install beside torch 2.13.0+cpu.
        from transformers import CLIPImageProcessorPil

        return CLIPImageProcessorPil
    except ImportError:  # transformers 4: CLIPImageProcessor is already the PIL/numpy one
        from transformers import CLIPImageProcessor

        return CLIPImageProcessor


# ------------------------------------------------------------------ frame features
@dataclass
class ClipFrameEncoder:
    """Frames -> L2-normalised CLIP image embeddings, `batch_size` frames per forward pass."""

    model: Any  # transformers.CLIPVisionModelWithProjection
    processor: Any  # CLIPImageProcessor(Pil)
    model_id: str
    sha8: str
    batch_size: int = 64

    @classmethod
    def load(cls, model: str | Path, device: str = "cpu", batch_size: int = 64) -> ClipFrameEncoder:
        """`model`: a Hugging Face model id (resolved through the local HF cache) or a checkpoint dir."""
        from transformers import CLIPVisionModelWithProjection

        source = str(model)
        try:
            clip: Any = CLIPVisionModelWithProjection.from_pretrained(source)
        except OSError as exc:
            raise ValueError(f"cannot load a CLIP vision checkpoint from {source!r}: {exc}") from exc
        try:
            processor = _processor_class().from_pretrained(source)
        except OSError as exc:
            raise ValueError(f"{source!r} has no image processor config (preprocessor_config.json)") from exc
        clip.to(device).eval()
        marker = Path(source) / MODEL_ID_FILE
        model_id = marker.read_text().strip() if marker.is_file() else source
        return cls(clip, processor, model_id, state_dict_sha8(clip), batch_size)

    @property
    def frame_size(self) -> int:
        """The square input size the processor crops to; frames are decoded straight to it."""
        crop = self.processor.crop_size
        return int(crop["height"])

    @property
    def dim(self) -> int:
        return int(self.model.config.projection_dim)

    @property
    def version(self) -> str:
        return f"clip-vision={self.model_id}@{self.sha8}"

    def embed(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """uint8 [N, frame_size, frame_size, 3] -> float32 [N, dim], each row of unit length.

        `frames` may also be a sequence of such arrays (segments of several videos): batches are drawn
        across them without first copying them into one array.
        """
        import torch

        chunks = [frames] if isinstance(frames, np.ndarray) else list(frames)
        for chunk in chunks:
            if chunk.ndim != 4 or chunk.shape[-1] != 3:
                raise ValueError(f"expected frames [N, H, W, 3], got shape {chunk.shape}")
        if sum(len(c) for c in chunks) == 0:
            raise ValueError("no frames to embed")
        device = next(self.model.parameters()).device
        frame_views = (frame for chunk in chunks for frame in chunk)
        out: list[np.ndarray] = []
        with torch.inference_mode():
            while batch := list(itertools.islice(frame_views, self.batch_size)):
                # Frames arrive resized and cropped by the decoder (bicubic, short side, centre), so
                # only rescaling and normalisation remain.
                pixels = self.processor(images=batch, do_resize=False, do_center_crop=False, return_tensors="pt")[
                    "pixel_values"
                ]
                emb = self.model(pixel_values=pixels.to(device)).image_embeds
                out.append(torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy())
        return np.concatenate(out)


def pool_segments(frame_embeddings: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """[sum(counts), D] normalised frame embeddings -> [len(counts), D] per-segment means."""
    if sum(counts) != len(frame_embeddings) or any(c <= 0 for c in counts):
        raise ValueError(f"segment frame counts {list(counts)} do not partition {len(frame_embeddings)} frames")
    bounds = np.cumsum([0, *counts])
    return np.stack([frame_embeddings[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])


# ------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class VideoInput:
    source: str | Path | bytes
    name: str | None = None


@dataclass(frozen=True)
class DecodeLimits:
    max_duration_s: float = DEFAULT_MAX_DURATION_S
    max_bytes: int = DEFAULT_MAX_BYTES


def resolve_request(request: VideoEncodeRequest, allowed_roots: Sequence[Path], max_bytes: int) -> VideoInput:
    """Turn a request into a `VideoInput` (see `musechat.encoders.sources`)."""
    source, name = resolve_source(encoded=request.video_b64, field="video_b64", path=request.path,
                                  filename=request.filename, allowed_roots=allowed_roots, max_bytes=max_bytes,
                                  what="video")
    return VideoInput(source, name)


# ------------------------------------------------------------------ the encoder
@dataclass
class VideoEncoder:
    """Spec + frame encoder + limits: `encode` one file, `encode_batch` many with shared forward passes."""

    spec: VideoEncoderSpec
    frames: ClipFrameEncoder
    limits: DecodeLimits = field(default_factory=DecodeLimits)

    @classmethod
    def load(
        cls,
        spec: VideoEncoderSpec,
        model: str | Path | None = None,
        cache_dir: Path | None = None,
        device: str = "cpu",
        batch_size: int = 64,
        limits: DecodeLimits | None = None,
    ) -> VideoEncoder:
        """`model` overrides the spec's model; with neither, the spec's tiny random CLIP is written
        (once) under `cache_dir` and loaded."""
        source = model or spec.clip.model
        if source is None:
            assert spec.clip.tiny_seed is not None  # the spec validator guarantees a source
            seed = spec.clip.tiny_seed
            root = cache_dir or Path(tempfile.gettempdir()) / "musechat-models"
            source = make_random_clip(root / tiny_clip_id(seed), spec.clip.random_config, seed, tiny_clip_id(seed))
        frames = ClipFrameEncoder.load(source, device=device, batch_size=batch_size)
        if frames.dim != spec.feature_dim:
            raise ValueError(
                f"{frames.version} gives {frames.dim}-d features, spec {spec.name} says {spec.feature_dim}"
            )
        return cls(spec, frames, limits or DecodeLimits())

    @property
    def feature_dim(self) -> int:
        return self.frames.dim

    @property
    def feature_model(self) -> str:
        return self.frames.version

    def decode(self, item: VideoInput) -> DecodedVideo:
        s = self.spec.sampling
        kwargs: dict[str, Any] = {
            "fps": s.fps,
            "frame_size": self.frames.frame_size,
            "max_duration_s": self.limits.max_duration_s,
            "max_bytes": self.limits.max_bytes,
            "segment_s": s.segment_seconds,
            "max_segments": s.max_segments,
        }
        if not isinstance(item.source, bytes):
            return decode_video(item.source, name=item.name, **kwargs)
        with tempfile.TemporaryDirectory(prefix="musechat-video-") as tmp:
            path = Path(tmp) / "upload"
            path.write_bytes(item.source)
            return decode_video(path, name=item.name, **kwargs)

    def encode(self, source: str | Path | bytes, name: str | None = None) -> VideoEncoding:
        """One video; raises `MediaError` for a bad input."""
        return self.encode_decoded([self.decode(VideoInput(source, name))])[0]

    def encode_decoded(self, videos: Sequence[DecodedVideo]) -> list[VideoEncoding]:
        """Every frame of every video through CLIP in shared batches, then pooled per segment."""
        segments = [seg for v in videos for seg in v.segments]
        pooled = pool_segments(self.frames.embed(segments), [len(seg) for seg in segments])
        out: list[VideoEncoding] = []
        row = 0
        for v in videos:
            feats = pooled[row : row + v.num_segments]
            row += v.num_segments
            out.append(
                VideoEncoding(
                    features=FeatureMatrix.from_array(feats),
                    num_segments=v.num_segments,
                    segment_starts_s=[round(w.start_s, 3) for w in v.windows],
                    duration_s=v.duration_s,
                    num_frames=v.num_frames,
                    feature_model=self.feature_model,
                    feature_dim=self.feature_dim,
                )
            )
        return out

    def encode_batch(self, inputs: Sequence[VideoInput | RequestError]) -> list[VideoEncodeResult]:
        """One result per input, in order; bad inputs become error results, the rest share CLIP batches."""
        results: list[VideoEncodeResult | None] = [None] * len(inputs)
        decoded: list[tuple[int, DecodedVideo]] = []
        for i, item in enumerate(inputs):
            if isinstance(item, RequestError):
                results[i] = _failure(item.code, item.message)
                continue
            try:
                decoded.append((i, self.decode(item)))
            except MediaError as exc:
                results[i] = _failure(exc.code, exc.message)
        if decoded:
            try:
                encodings = self.encode_decoded([v for _, v in decoded])
            except Exception as exc:  # one model failure fails this batch's items, not the service
                log.exception("video encoding failed")
                for i, _ in decoded:
                    results[i] = _failure("internal", f"encoding failed: {exc}")
            else:
                for (i, _), encoding in zip(decoded, encodings, strict=True):
                    results[i] = VideoEncodeResult(ok=True, encoding=encoding)
        return [r for r in results if r is not None]

    def encode_requests(
        self, requests: Sequence[VideoEncodeRequest], allowed_roots: Sequence[Path]
    ) -> list[VideoEncodeResult]:
        """The service's batch API in one call: resolve each request, then `encode_batch`."""
        inputs: list[VideoInput | RequestError] = []
        for request in requests:
            try:
                inputs.append(resolve_request(request, allowed_roots, self.limits.max_bytes))
            except RequestError as exc:
                inputs.append(exc)
        return self.encode_batch(inputs)


def _failure(code: str, message: str) -> VideoEncodeResult:
    return VideoEncodeResult(ok=False, error=VideoEncodeError.model_validate({"code": code, "message": message}))
