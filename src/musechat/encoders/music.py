"""The music encoder's pure core: audio -> per-segment features + MusiCNN tags -> `MusicEncoding`.

Pipeline per track (see docs/music-encoder.md):
1. decode to 16 kHz mono (`musechat.media.audio`), typed errors for bad inputs;
2. segments: 10 s, at most 12, spread over the track (`musechat.media.segments`);
3. AST pooled output per segment [S, Da] (tiny random AST by default: see `ast.py`);
4. MusiCNN (MSD and MTT, real pretrained weights) over the *whole* track, one pass per model on a shared
   log-mel: the mean of all 3 s windows gives the track's tags; the mean penultimate (200-d) of the
   windows inside each segment gives that segment's MusiCNN features;
5. features = concat(AST, MSD, MTT) per segment, stored float16 (≤ 64 KB, checked at load and per track).

A batch shares AST forward passes across all its tracks' segments; one bad file yields an error
result for that item only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from musechat.contracts.features import FeatureMatrix
from musechat.contracts.music import (
    EncodeError,
    EncodeErrorCode,
    MusicEncodeRequest,
    MusicEncodeResult,
    MusicEncoding,
    TagScore,
    TrackFacts,
)
from musechat.encoders.ast import AstFeaturizer, make_tiny_ast, tiny_ast_id
from musechat.encoders.sources import RequestError, resolve_source
from musechat.media.audio import (
    DEFAULT_MAX_DURATION_S,
    DEFAULT_MIN_DURATION_S,
    DEFAULT_SILENCE_PEAK,
    DecodedAudio,
    decode_audio,
)
from musechat.media.errors import MediaError, NotMusicError
from musechat.media.segments import Segment, cut_segments, plan_segments

log = logging.getLogger(__name__)

SPECS_DIR = Path(__file__).parent / "specs"
DEFAULT_SPEC = "music-ast-tiny"
FEATURE_MODEL_VERSION = "v1"
MusiCNNName = Literal["MSD_musicnn", "MTT_musicnn"]


# ------------------------------------------------------------------ spec (models are data)
class SegmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    seconds: float = Field(gt=0)
    max_segments: int = Field(ge=1)
    min_tail_s: float = Field(ge=0)
    short_track_padding: Literal["loop"] = "loop"


class AstSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str | None = Field(description="HF model id or checkpoint dir; null = embedded tiny random AST.")
    tiny_seed: int | None = None
    hidden_size: int = Field(ge=1)
    pooling: Literal["pooler_output"] = "pooler_output"

    @model_validator(mode="after")
    def _source(self) -> AstSpec:
        if self.model is None and self.tiny_seed is None:
            raise ValueError("ast: set `model` or, for the embedded random-init AST, `tiny_seed`")
        return self


class MusicnnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    models: list[MusiCNNName] = Field(min_length=1)
    embedding_dim: int = Field(ge=1)


class TagSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    top_k_per_vocabulary: int = Field(ge=1, le=50)
    min_score: float = Field(ge=0, le=1)


class MusicEncoderSpec(BaseModel):
    """A music encoder's JSON spec (encoders/specs/*.json); the fusion model reads input dims from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    schema_version: Literal[1]
    kind: Literal["music"]
    description: str
    sample_rate: Literal[16000]
    segments: SegmentSpec
    ast: AstSpec
    musicnn: MusicnnSpec
    tags: TagSpec
    feature_layout: list[str]
    feature_dim: int
    dtype: Literal["float16"]
    max_feature_bytes: int

    @model_validator(mode="after")
    def _consistent(self) -> MusicEncoderSpec:
        layout = ["ast", *self.musicnn.models]
        if self.feature_layout != layout:
            raise ValueError(f"feature_layout must be {layout}, got {self.feature_layout}")
        dim = self.ast.hidden_size + len(self.musicnn.models) * self.musicnn.embedding_dim
        if self.feature_dim != dim:
            raise ValueError(f"feature_dim {self.feature_dim} != ast + musicnn dims = {dim}")
        worst = self.segments.max_segments * self.feature_dim * 2
        if worst > self.max_feature_bytes:
            raise ValueError(
                f"{self.segments.max_segments} x {self.feature_dim} float16 = {worst} B "
                f"exceeds max_feature_bytes {self.max_feature_bytes}"
            )
        return self


def load_spec(name_or_path: str | Path = DEFAULT_SPEC) -> MusicEncoderSpec:
    """A bundled spec by name (`music-ast-tiny`, `music-ast-base`) or a JSON file path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SPECS_DIR / f"{name_or_path}.json"
    if not path.is_file():
        known = sorted(p.stem for p in SPECS_DIR.glob("*.json"))
        raise ValueError(f"no music encoder spec {str(name_or_path)!r}; bundled specs: {known}")
    return MusicEncoderSpec.model_validate_json(path.read_text())


# ------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class AudioInput:
    source: str | Path | bytes
    name: str | None = None


@dataclass(frozen=True)
class DecodeLimits:
    max_duration_s: float = DEFAULT_MAX_DURATION_S
    min_duration_s: float = DEFAULT_MIN_DURATION_S
    silence_peak: float | None = DEFAULT_SILENCE_PEAK
    # Short clips without musical evidence (sound effects) are refused as `not_music`. Off by default:
    # the generated demo world and the tests' tones are seconds-long synthetic clips that are not
    # music to the tagger either; `musechat serve` and the catalog worker setting turn it on.
    refuse_not_music: bool = False


def resolve_request(request: MusicEncodeRequest, allowed_roots: Sequence[Path], max_bytes: int) -> AudioInput:
    """Turn a request into an `AudioInput` (see `musechat.encoders.sources`)."""
    source, name = resolve_source(encoded=request.audio_b64, field="audio_b64", path=request.path,
                                  filename=request.filename, allowed_roots=allowed_roots, max_bytes=max_bytes,
                                  what="audio")
    return AudioInput(source, name)


# ------------------------------------------------------------------ the encoder
@dataclass
class _Prepared:
    decoded: DecodedAudio
    segments: list[Segment]
    waves: np.ndarray  # [S, segment samples]
    decoded_label: str = "the audio"


def merge_tags(per_vocabulary: dict[Literal["MTT", "MSD"], list[tuple[str, float]]]) -> list[TagScore]:
    """One list, highest score first; a name in both vocabularies (e.g. 'rock') is kept once, with the
    higher score and that vocabulary, so explanations never repeat a tag."""
    best: dict[str, TagScore] = {}
    for vocabulary, tags in per_vocabulary.items():
        for name, score in tags:
            if name not in best or score > best[name].score:
                best[name] = TagScore(name=name, score=min(1.0, max(0.0, score)), vocabulary=vocabulary)
    return sorted(best.values(), key=lambda t: (-t.score, t.name))


class MusicEncoder:
    """Build with :meth:`load`; `encode` one input or `encode_batch` many (per-item results)."""

    def __init__(
        self, spec: MusicEncoderSpec, ast: AstFeaturizer, taggers: Mapping[str, Any], limits: DecodeLimits
    ) -> None:
        if ast.hidden_size != spec.ast.hidden_size:
            raise ValueError(
                f"AST checkpoint {ast.model_id} has hidden size {ast.hidden_size}; spec "
                f"{spec.name} expects {spec.ast.hidden_size}"
            )
        for name, tagger in taggers.items():
            if tagger.embedding_dim != spec.musicnn.embedding_dim:
                raise ValueError(f"{name} embedding dim {tagger.embedding_dim} != spec's {spec.musicnn.embedding_dim}")
        self.spec = spec
        self.ast = ast
        self.taggers = taggers
        self.limits = limits

    @classmethod
    def load(
        cls,
        spec: str | Path | MusicEncoderSpec = DEFAULT_SPEC,
        ast_model: str | Path | None = None,
        cache_dir: str | Path | None = None,
        device: str = "cpu",
        limits: DecodeLimits | None = None,
        ast_batch_size: int = 8,
    ) -> MusicEncoder:
        """`ast_model` overrides the spec's AST source (e.g. a mounted checkpoint). With neither, the
        spec's seeded tiny random AST is written once under `cache_dir` (default ~/.cache/musechat) and
        loaded with `from_pretrained`."""
        from musechat.encoders.musicnn import MusiCNNTagger

        spec = spec if isinstance(spec, MusicEncoderSpec) else load_spec(spec)
        source = ast_model if ast_model is not None else spec.ast.model
        if source is None:
            assert spec.ast.tiny_seed is not None  # the spec validator requires one of the two
            root = Path(cache_dir) if cache_dir is not None else Path.home() / ".cache" / "musechat"
            source = make_tiny_ast(root / tiny_ast_id(spec.ast.tiny_seed), spec.ast.tiny_seed)
        ast = AstFeaturizer.load(source, device=device, batch_size=ast_batch_size)
        taggers: dict[str, Any] = {name: MusiCNNTagger.load(name, device=device) for name in spec.musicnn.models}
        return cls(spec, ast, taggers, limits or DecodeLimits())

    @property
    def feature_dim(self) -> int:
        return self.spec.feature_dim

    @property
    def feature_model(self) -> str:
        musicnn = "+".join(m.split("_")[0].lower() for m in self.spec.musicnn.models)
        return f"ast={self.ast.version};musicnn={musicnn};spec={self.spec.name};{FEATURE_MODEL_VERSION}"

    def encode(self, source: str | Path | bytes, name: str | None = None) -> MusicEncoding:
        """Encode one input; raises `MediaError` for bad input."""
        prepared = self._prepare(AudioInput(source, name))
        return self._finish(prepared, self.ast.featurize(prepared.waves))

    def encode_batch(
        self, inputs: Sequence[AudioInput | RequestError], progress: bool = False
    ) -> list[MusicEncodeResult]:
        """Per-item results in input order. `RequestError` items (requests that failed to resolve) pass
        through as error results, so a batch of requests maps one-to-one onto its results."""
        from tqdm import tqdm

        results: list[MusicEncodeResult | None] = [None] * len(inputs)
        ready: list[tuple[int, _Prepared]] = []
        for i, item in enumerate(tqdm(inputs, desc="decode", disable=not progress)):
            if isinstance(item, RequestError):
                results[i] = _failure(item.code, item.message)
                continue
            try:
                ready.append((i, self._prepare(item)))
            except MediaError as exc:
                results[i] = _failure(exc.code, exc.message)
        if ready:
            try:
                ast_all = self.ast.featurize(np.concatenate([p.waves for _, p in ready]))
            except Exception as exc:  # one shared forward pass: if it breaks, every item reports it
                log.exception("AST forward pass failed for a batch of %d", len(ready))
                for i, _ in ready:
                    results[i] = _failure("internal", f"AST feature extraction failed: {exc}")
            else:
                offset = 0
                for i, prepared in tqdm(ready, desc="encode", disable=not progress):
                    count = len(prepared.segments)
                    try:
                        encoding = self._finish(prepared, ast_all[offset : offset + count])
                        results[i] = MusicEncodeResult(ok=True, encoding=encoding)
                    except MediaError as exc:  # a verdict on the content (not_music), not a failure
                        results[i] = _failure(exc.code, exc.message)
                    except Exception as exc:
                        log.exception("encoding item %d failed", i)
                        results[i] = _failure("internal", f"encoding failed: {exc}")
                    offset += count
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]

    def encode_requests(
        self, requests: Sequence[MusicEncodeRequest], allowed_roots: Sequence[Path], max_bytes: int
    ) -> list[MusicEncodeResult]:
        """The service's batch API in one call: resolve each request, then `encode_batch`."""
        inputs: list[AudioInput | RequestError] = []
        for request in requests:
            try:
                inputs.append(resolve_request(request, allowed_roots, max_bytes))
            except RequestError as exc:
                inputs.append(exc)
        return self.encode_batch(inputs)

    # -------------------------------------------------------------- internals
    def _prepare(self, item: AudioInput) -> _Prepared:
        seg = self.spec.segments
        decoded = decode_audio(
            item.source,
            target_sr=self.spec.sample_rate,
            max_duration_s=self.limits.max_duration_s,
            min_duration_s=self.limits.min_duration_s,
            silence_peak=self.limits.silence_peak,
            name=item.name,
        )
        label = item.name or (str(item.source) if not isinstance(item.source, bytes) else "the uploaded audio")
        if self.limits.refuse_not_music:
            from musechat.encoders import music_facts

            if decoded.duration_s < music_facts.ALWAYS_EFFECT_BELOW_S:  # decided before any model runs
                raise NotMusicError(f"{label} lasts {decoded.duration_s:.1f} s: a sound effect or a blip, "
                                    "not a music track")
        segments = plan_segments(decoded.duration_s, seg.seconds, seg.max_segments, seg.min_tail_s)
        return _Prepared(decoded, segments, cut_segments(decoded.samples, decoded.sample_rate, segments), label)

    def _musicnn(
        self, prepared: _Prepared
    ) -> tuple[np.ndarray, list[TagScore], dict[str, dict[str, float]]]:
        """Per-segment MusiCNN features [S, models x 200] and the track's merged tags, from one pass per
        model over the whole track's 3 s windows (log-mel shared by both models), and every tag's mean
        probability per vocabulary (the facts keep them all)."""
        from musechat.encoders import musicnn

        # A track shorter than one segment goes in loop-padded, like its AST segment, so it fills whole
        # MusiCNN windows instead of being zero-padded.
        wave = prepared.waves[0] if prepared.segments[0].padded else prepared.decoded.samples
        windows = musicnn.frame_windows(musicnn.log_mel_spectrogram(wave))
        window_s = musicnn.N_FRAMES * musicnn.FFT_HOP / musicnn.SAMPLE_RATE
        mids = (np.arange(len(windows)) + 0.5) * window_s
        members = []
        for segment in prepared.segments:
            inside = np.flatnonzero((mids >= segment.start_s) & (mids < segment.end_s))
            # windows are < 3 s and segments 10 s, so `inside` is never empty; the nearest window is the
            # principled answer should a spec ever make segments shorter than windows
            centre = (segment.start_s + segment.end_s) / 2
            members.append(inside if inside.size else np.array([int(np.argmin(np.abs(mids - centre)))]))
        per_model: list[np.ndarray] = []
        tags: dict[Literal["MTT", "MSD"], list[tuple[str, float]]] = {}
        every: dict[str, dict[str, float]] = {}
        for name, tagger in self.taggers.items():
            probs, pens = tagger.forward_windows(windows)
            per_model.append(np.stack([pens[idx].mean(axis=0) for idx in members]))
            output = musicnn.TaggerOutput(list(tagger.labels), probs.mean(axis=0), probs, pens.mean(axis=0))
            vocabulary: Literal["MTT", "MSD"] = "MTT" if name.startswith("MTT") else "MSD"
            tags[vocabulary] = musicnn.top_tags(output, self.spec.tags.top_k_per_vocabulary, self.spec.tags.min_score)
            every[vocabulary] = {label: float(p) for label, p in zip(output.labels, output.probabilities, strict=True)}
        return np.concatenate(per_model, axis=1), merge_tags(tags), every

    def _finish(self, prepared: _Prepared, ast_features: np.ndarray) -> MusicEncoding:
        musicnn_features, tags, every = self._musicnn(prepared)
        facts = self._facts(prepared.decoded, every)
        if self.limits.refuse_not_music:
            from musechat.encoders import music_facts

            pitch = None
            if music_facts.ALWAYS_EFFECT_BELOW_S <= facts.duration_s < music_facts.NOT_MUSIC_MAX_S:
                pitch = music_facts.pitch_profile(prepared.decoded.samples, prepared.decoded.sample_rate)
            reason = music_facts.not_music_reason(facts, pitch)
            if reason is not None:
                raise NotMusicError(f"{prepared.decoded_label} {reason}")
        features = np.concatenate([ast_features, musicnn_features], axis=1)
        if not np.all(np.isfinite(features.astype(np.float16))):
            raise ValueError("features are not finite in float16")
        matrix = FeatureMatrix.from_array(features)
        if matrix.nbytes > self.spec.max_feature_bytes or matrix.shape[1] != self.feature_dim:
            raise ValueError(f"features {matrix.shape} ({matrix.nbytes} B) break the spec {self.spec.name}")
        return MusicEncoding(
            features=matrix,
            num_segments=len(prepared.segments),
            duration_s=prepared.decoded.duration_s,
            tags=tags,
            feature_model=self.feature_model,
            feature_dim=self.feature_dim,
            facts=facts,
            embedded_tags=prepared.decoded.metadata,
        )

    def _facts(self, decoded: DecodedAudio, every: dict[str, dict[str, float]]) -> TrackFacts:
        """Tempo, loudness and the calibrated tag groups of one track (see `music_facts`)."""
        from musechat.encoders import music_facts

        tempo = music_facts.measure_tempo(decoded.samples, decoded.sample_rate)
        loudness = music_facts.loudness_db(decoded.samples, decoded.sample_rate)
        return music_facts.build_facts(every, tempo, loudness, decoded.duration_s)


def _failure(code: EncodeErrorCode, message: str) -> MusicEncodeResult:
    return MusicEncodeResult(ok=False, error=EncodeError(code=code, message=message))
