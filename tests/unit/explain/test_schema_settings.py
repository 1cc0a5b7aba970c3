from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from musechat.contracts.features import FeatureMatrix
from musechat.explain.explainer import Explanation
from musechat.explain.schema import ExplainBody, to_out, to_request
from musechat.explain.settings import ExplainerSettings

pytestmark = pytest.mark.unit


def test_body_maps_to_a_core_request() -> None:
    feats = np.arange(12, dtype=np.float32).reshape(3, 4)
    body = ExplainBody.model_validate(
        {
            "track": {"title": "Deliverer", "artist": "Weston Skaggs", "tags": ["rock"]},
            "user_words": "more guitar",
            "history": [{"role": "assistant", "text": "I suggest X by Y."}],
            "music_features": FeatureMatrix.from_array(feats).model_dump(),
            "other_titles": ["X"],
        }
    )
    req = to_request(body)
    assert req.track.title == "Deliverer" and req.track.tags == ("rock",)
    assert req.history[0].role == "assistant" and req.other_titles == ("X",)
    assert req.music_features is not None and np.array_equal(req.music_features, feats)


@pytest.mark.parametrize(
    "bad",
    [
        {"track": {"title": "", "artist": "a"}},
        {"track": {"title": "t", "artist": "a"}, "history": [{"role": "system", "text": "x"}]},
        {"track": {"title": "t", "artist": "a"}, "user_words": "x" * 2001},
        {"track": {"title": "t", "artist": "a"}, "surprise": 1},
    ],
)
def test_bad_bodies_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ExplainBody.model_validate(bad)


def test_result_maps_to_the_response() -> None:
    out = to_out(Explanation(text=None, grounded=False, reason="no explanation: down", attempts=1, latency_s=0.25))
    assert out.text is None and out.reason == "no explanation: down" and out.latency_ms == 250.0


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MUSECHAT_EXPLAINER_VLLM_URL", "http://vllm:8000")
    monkeypatch.setenv("MUSECHAT_EXPLAINER_ADAPTERS", '{"explainer": "/adapters/explainer"}')
    monkeypatch.setenv("MUSECHAT_EXPLAINER_DEFAULT_ADAPTER", "explainer")
    s = ExplainerSettings()
    assert s.vllm_url == "http://vllm:8000" and s.adapters == {"explainer": Path("/adapters/explainer")}


def test_settings_reject_an_unknown_default_adapter_for_the_local_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSECHAT_EXPLAINER_DEFAULT_ADAPTER", "nope")
    with pytest.raises(ValidationError, match="default_adapter"):
        ExplainerSettings()


def test_settings_reject_a_missing_titles_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MUSECHAT_EXPLAINER_CATALOG_TITLES_FILE", str(tmp_path / "missing.txt"))
    with pytest.raises(ValidationError, match="catalog_titles_file"):
        ExplainerSettings()


def test_settings_choose_the_ctranslate2_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MUSECHAT_EXPLAINER_BACKEND", "ctranslate2")
    monkeypatch.setenv("MUSECHAT_EXPLAINER_CT2_COMPUTE_TYPE", "float32")
    monkeypatch.setenv("MUSECHAT_EXPLAINER_CT2_CACHE_DIR", str(tmp_path))
    s = ExplainerSettings()
    assert (s.backend, s.ct2_compute_type, s.ct2_cache_dir) == ("ctranslate2", "float32", tmp_path)


def test_the_embedded_default_is_ctranslate2_unless_the_music_token_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (ExplainerSettings().backend, ExplainerSettings().ct2_compute_type) == ("ctranslate2", "int8")
    monkeypatch.setenv("MUSECHAT_EXPLAINER_USE_MUSIC", "true")
    assert ExplainerSettings().backend == "local"


def test_settings_reject_the_music_token_on_ctranslate2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSECHAT_EXPLAINER_BACKEND", "ctranslate2")
    monkeypatch.setenv("MUSECHAT_EXPLAINER_USE_MUSIC", "true")
    with pytest.raises(ValidationError, match="use_music"):
        ExplainerSettings()
    monkeypatch.setenv("MUSECHAT_EXPLAINER_VLLM_URL", "http://vllm:8000")  # vLLM serves it: the setting is moot
    assert ExplainerSettings().use_music


def test_settings_reject_an_unknown_backend_or_compute_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSECHAT_EXPLAINER_BACKEND", "onnx")
    with pytest.raises(ValidationError, match="backend"):
        ExplainerSettings()
    monkeypatch.setenv("MUSECHAT_EXPLAINER_BACKEND", "ctranslate2")
    monkeypatch.setenv("MUSECHAT_EXPLAINER_CT2_COMPUTE_TYPE", "int4")
    with pytest.raises(ValidationError, match="ct2_compute_type"):
        ExplainerSettings()
