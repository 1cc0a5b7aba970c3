"""Music-encoder pieces without models: contracts, specs, tag merging, request resolution."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from musechat.contracts.features import FeatureMatrix
from musechat.contracts.music import (
    EncodeError,
    MusicEncodeRequest,
    MusicEncodeResult,
    MusicEncoding,
    TagScore,
)
from musechat.encoders.music import (
    SPECS_DIR,
    MusicEncoderSpec,
    RequestError,
    load_spec,
    merge_tags,
    resolve_request,
)

pytestmark = pytest.mark.unit


def test_request_needs_exactly_one_source() -> None:
    assert MusicEncodeRequest(path="/a.mp3").audio_b64 is None
    with pytest.raises(ValidationError, match="exactly one"):
        MusicEncodeRequest()
    with pytest.raises(ValidationError, match="exactly one"):
        MusicEncodeRequest(path="/a.mp3", audio_b64="AA==")


def test_result_is_either_an_encoding_or_an_error() -> None:
    error = EncodeError(code="corrupt", message="bad")
    assert not MusicEncodeResult(ok=False, error=error).ok
    with pytest.raises(ValidationError):
        MusicEncodeResult(ok=True, error=error)
    with pytest.raises(ValidationError):
        MusicEncodeResult(ok=False)


def test_encoding_shape_must_match_its_declared_dims() -> None:
    features = FeatureMatrix.from_array(np.zeros((2, 8), dtype=np.float32))
    common = {"duration_s": 15.0, "tags": [], "feature_model": "x"}
    assert MusicEncoding(features=features, num_segments=2, feature_dim=8, **common).num_segments == 2
    with pytest.raises(ValidationError, match="features shape"):
        MusicEncoding(features=features, num_segments=3, feature_dim=8, **common)


def test_bundled_specs_are_consistent_and_fit_the_feature_budget() -> None:
    names = sorted(p.stem for p in SPECS_DIR.glob("music-*.json"))
    assert names == ["music-ast-base", "music-ast-tiny"]
    for name in names:
        spec = load_spec(name)
        assert spec.feature_dim == spec.ast.hidden_size + 200 * len(spec.musicnn.models)
        worst = spec.segments.max_segments * spec.feature_dim * 2  # float16
        assert worst <= spec.max_feature_bytes == 64 * 1024
    assert load_spec("music-ast-base").feature_dim == 768 + 400
    assert load_spec("music-ast-tiny").ast.model is None  # the embedded random-init default


def test_spec_rejects_inconsistent_dims_and_the_over_budget(tmp_path: Path) -> None:
    raw = json.loads((SPECS_DIR / "music-ast-base.json").read_text())
    with pytest.raises(ValidationError, match="feature_dim"):
        MusicEncoderSpec.model_validate({**raw, "feature_dim": 999})
    big = {**raw, "ast": {**raw["ast"], "hidden_size": 4096}, "feature_dim": 4096 + 400}
    with pytest.raises(ValidationError, match="exceeds max_feature_bytes"):
        MusicEncoderSpec.model_validate(big)
    path = tmp_path / "custom.json"
    path.write_text(json.dumps({**raw, "name": "custom"}))
    assert load_spec(path).name == "custom"
    with pytest.raises(ValueError, match="bundled specs"):
        load_spec("music-ast-huge")


def test_merge_tags_dedupes_across_vocabularies_and_sorts() -> None:
    tags = merge_tags({"MTT": [("guitar", 0.8), ("rock", 0.3)], "MSD": [("rock", 0.6), ("indie", 0.5)]})
    assert tags == [
        TagScore(name="guitar", score=0.8, vocabulary="MTT"),
        TagScore(name="rock", score=0.6, vocabulary="MSD"),
        TagScore(name="indie", score=0.5, vocabulary="MSD"),
    ]


def test_resolve_base64_request() -> None:
    data = b"RIFF....WAVEfmt "
    item = resolve_request(MusicEncodeRequest(audio_b64=base64.b64encode(data).decode(), filename="a.wav"), [], 100)
    assert (item.source, item.name) == (data, "a.wav")
    with pytest.raises(RequestError) as info:
        resolve_request(MusicEncodeRequest(audio_b64="not base64!"), [], 100)
    assert info.value.code == "invalid_request"
    with pytest.raises(RequestError) as info:
        resolve_request(MusicEncodeRequest(audio_b64=base64.b64encode(bytes(300)).decode()), [], 100)
    assert info.value.code == "too_large"


def test_resolve_path_request_stays_inside_the_allowed_roots(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    track = root / "t.mp3"
    track.write_bytes(b"x" * 10)
    assert resolve_request(MusicEncodeRequest(path=str(track)), [root], 100).source == track.resolve()
    escapes = [str(root / ".." / "secret"), "/etc/passwd"]
    (root / "link").symlink_to(tmp_path)
    escapes.append(str(root / "link" / "secret"))
    for path in escapes:
        with pytest.raises(RequestError) as info:
            resolve_request(MusicEncodeRequest(path=path), [root], 100)
        assert info.value.code == "path_not_allowed"
    with pytest.raises(RequestError, match="disabled"):
        resolve_request(MusicEncodeRequest(path=str(track)), [], 100)
    with pytest.raises(RequestError) as info:
        resolve_request(MusicEncodeRequest(path=str(track)), [root], 5)
    assert info.value.code == "too_large"
