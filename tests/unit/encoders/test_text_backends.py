"""Choosing the text backend: the gateway setting, the factory, the ONNX export cache and the ONNX
backend's pooling (with a stand-in session: the real weights are tests/integration/text_encoder's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from musechat.encoders import text_backend, text_onnx
from musechat.encoders.text import TEXT_BACKENDS, load_spec
from musechat.encoders.text_backend import load_text_encoder
from musechat.encoders.text_onnx import OnnxTextEncoder
from musechat.gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit


def _settings(**kw: Any) -> GatewaySettings:
    return GatewaySettings(api_keys_file=Path("/nonexistent/keys.jsonl"), state_secret="s" * 32,
                           ranker_url="http://127.0.0.1:9", **kw)


def test_gateway_setting_defaults_to_onnx_int8_and_reads_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _settings().text_backend == "onnx-int8"
    assert _settings().text_model_cache_dir is None
    monkeypatch.setenv("MUSECHAT_GATEWAY_TEXT_BACKEND", "torch")
    monkeypatch.setenv("MUSECHAT_GATEWAY_TEXT_MODEL_CACHE_DIR", "/models/cache")
    settings = _settings()
    assert settings.text_backend == "torch" and settings.text_model_cache_dir == Path("/models/cache")
    monkeypatch.setenv("MUSECHAT_GATEWAY_TEXT_BACKEND", "tensorrt")
    with pytest.raises(ValidationError, match="text_backend"):
        _settings()
    assert set(GatewaySettings.model_fields["text_backend"].annotation.__args__) == set(TEXT_BACKENDS)  # type: ignore[union-attr]


def test_build_text_encoder_passes_the_backend_through(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from musechat.gateway import runtime

    seen: dict[str, Any] = {}

    def fake(spec: Any, backend: str = "torch", **kw: Any) -> str:
        seen.update(backend=backend, **kw)
        return "encoder"

    monkeypatch.setattr(text_backend, "load_text_encoder", fake)
    monkeypatch.setattr(runtime, "_limit_torch_threads", lambda threads: None)
    assert runtime.build_text_encoder(1, "onnx-int8", tmp_path) == {runtime.TEXT: "encoder"}
    assert seen == {"backend": "onnx-int8", "threads": 1, "cache_dir": tmp_path}


def test_factory_refuses_unknown_backends_and_onnx_off_the_cpu() -> None:
    with pytest.raises(ValueError, match="unknown text backend 'openvino'"):
        load_text_encoder(load_spec(), "openvino")
    with pytest.raises(ValueError, match="CPU only"):
        load_text_encoder(load_spec(), "onnx", device="cuda")


def test_factory_dispatches_onnx_backends(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(OnnxTextEncoder, "load", classmethod(lambda cls, *a, **kw: calls.append(kw) or "onnx"))
    assert load_text_encoder(load_spec(), "onnx", threads=2, cache_dir=tmp_path) == "onnx"
    assert load_text_encoder(load_spec(), "onnx-int8") == "onnx"
    assert [c["quantize"] for c in calls] == [False, True]
    assert calls[0]["threads"] == 2 and calls[0]["cache_dir"] == tmp_path


def test_export_cache_is_keyed_by_sha8_and_reused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    exported: list[Path] = []
    quantized: list[Path] = []

    def export(path: str, target: Path) -> Path:
        exported.append(target)
        return text_onnx._atomic_write(target, lambda tmp: tmp.write_bytes(b"fp32"))

    def quantize(source: Path, target: Path) -> Path:
        quantized.append(target)
        return text_onnx._atomic_write(target, lambda tmp: tmp.write_bytes(source.read_bytes() + b"->int8"))

    monkeypatch.setattr(text_onnx, "export_onnx", export)
    monkeypatch.setattr(text_onnx, "quantize_int8", quantize)
    fp32 = text_onnx.ensure_onnx("model-dir", "abcd1234", tmp_path, quantize=False)
    assert fp32 == tmp_path / "text-onnx" / f"abcd1234-v{text_onnx.EXPORT_FORMAT}" / "model.onnx"
    int8 = text_onnx.ensure_onnx("model-dir", "abcd1234", tmp_path, quantize=True)
    assert int8.read_bytes() == b"fp32->int8"
    text_onnx.ensure_onnx("model-dir", "abcd1234", tmp_path, quantize=True)
    assert len(exported) == 1 and len(quantized) == 1  # found in the cache afterwards
    text_onnx.ensure_onnx("model-dir", "ffff0000", tmp_path, quantize=False)
    assert len(exported) == 2  # other weights, another folder
    assert not list(tmp_path.rglob("*.tmp"))


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "model.onnx"

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise RuntimeError("exporter crashed")

    with pytest.raises(RuntimeError, match="exporter crashed"):
        text_onnx._atomic_write(target, broken)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_default_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert text_onnx.default_cache_dir() == tmp_path / "musechat"
    assert text_onnx.model_dir(None, "abcd1234").parent == tmp_path / "musechat" / "text-onnx"


class _Tokenizer:
    """Whitespace tokens with [CLS]/[SEP] ids 1/2 and padding 0, in `Tokenizer.batch`'s shape."""

    def batch(self, texts: list[str], max_tokens: int) -> tuple[dict[str, np.ndarray], list[bool]]:
        full = [[1, *[10 + len(w) for w in t.split()], 2] for t in texts]
        ids = [row if len(row) <= max_tokens else [*row[: max_tokens - 1], 2] for row in full]
        width = max(map(len, ids))
        input_ids = np.array([row + [0] * (width - len(row)) for row in ids])
        return ({"input_ids": input_ids, "attention_mask": (input_ids != 0).astype(np.int64),
                 "token_type_ids": np.zeros_like(input_ids)}, [len(row) > max_tokens for row in full])


class _Input:
    def __init__(self, name: str) -> None:
        self.name = name


class _Session:
    """Hidden state = token id on every feature (and garbage on padding, which pooling must ignore)."""

    def get_inputs(self) -> list[_Input]:
        return [_Input("input_ids"), _Input("attention_mask"), _Input("token_type_ids")]

    def run(self, outputs: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        ids = feeds["input_ids"].astype(np.float32)
        hidden = np.repeat(ids[..., None], 4, axis=2)
        hidden[feeds["attention_mask"] == 0] = 1e6
        return [hidden]


def test_onnx_encoder_pools_over_real_tokens_only() -> None:
    spec = load_spec().model_copy(update={"dim": 4})
    encoder = OnnxTextEncoder(_Session(), _Tokenizer(), spec, "m", "abcd1234", max_tokens=4, batch_size=2)
    a, b, c = encoder.encode_arrays(["hi", "one two three", "x"])
    assert a.tokens.shape == (3, 4) and b.tokens.shape == (4, 4) and c.tokens.shape == (3, 4)
    assert not a.truncated and b.truncated  # "one two three" needs 5 tokens, 4 are kept
    np.testing.assert_allclose(a.pooled, np.full(4, 0.5), rtol=1e-6)  # a constant vector, unit length
    assert np.isfinite(b.pooled).all() and abs(float(np.linalg.norm(b.pooled)) - 1.0) < 1e-6
    assert encoder.version == "m@abcd1234" and encoder.dim == 4
    int8 = OnnxTextEncoder(_Session(), _Tokenizer(), spec, "m", "abcd1234", 4, backend="onnx-int8")
    assert int8.version == "m@abcd1234+int8"


def test_weights_identity_is_remembered_per_checkpoint_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    weights = checkpoint / "model.safetensors"
    weights.write_bytes(b"v1")
    computed: list[str] = []

    def sha8(path: str) -> tuple[str, int, int]:
        computed.append(path)
        return f"{len(computed):08d}", 384, 512

    monkeypatch.setattr(text_onnx, "_weights_sha8", sha8)
    cache = tmp_path / "cache"
    assert text_onnx.weights_identity(str(checkpoint), cache) == ("00000001", 384, 512)
    assert text_onnx.weights_identity(str(checkpoint), cache) == ("00000001", 384, 512)
    assert len(computed) == 1  # the second start read the memo
    weights.write_bytes(b"v2, other weights")  # another size: another key
    assert text_onnx.weights_identity(str(checkpoint), cache)[0] == "00000002"
    assert text_onnx.weights_identity("org/hub-id", cache)[0] == "00000003"  # no folder: never remembered
    assert text_onnx.weights_identity("org/hub-id", cache)[0] == "00000004"


def test_unwritable_cache_falls_back_to_the_temp_dir(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert text_onnx.writable_root(blocked / "cache").name == "musechat-models"
    assert text_onnx.writable_root(tmp_path / "ok") == tmp_path / "ok"


def test_fast_tokenizer_pads_truncates_and_flags_like_transformers(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "b": 5, "c": 6}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2),
                                                                                                  ("[SEP]", 3)])
    tok.enable_padding(length=128)  # a file's own padding (sentence-transformers ships one) is ignored
    tok.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text('{"pad_token": "[PAD]"}')
    fast = text_onnx.load_tokenizer(str(tmp_path))
    assert isinstance(fast, text_onnx.FastTokenizer)
    feeds, truncated = fast.batch(["a b", "a b c a b c", "c"], max_tokens=5)
    assert feeds["input_ids"].tolist() == [[2, 4, 5, 3, 0], [2, 4, 5, 6, 3], [2, 6, 3, 0, 0]]
    assert feeds["attention_mask"].tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert feeds["token_type_ids"].shape == (3, 5) and truncated == [False, True, False]
    assert all(v.dtype == np.int64 for v in feeds.values())
