"""The text encoder with the real all-MiniLM-L6-v2 weights: parity with sentence-transformers, shapes,
truncation, batching, and the BentoML service served for real over HTTP."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from musechat.contracts.text import TextEncoderInfo, TextEncoding
from musechat.encoders.text import TextEncoder, bundled_minilm_path, load_spec
from tests.fixtures_video import serve_bento

pytestmark = pytest.mark.integration

SERVICE_DIR = Path(__file__).resolve().parents[3] / "services" / "text-encoder"
TEXTS = [
    "I'd like more guitar and a male voice",
    "slower, no vocals",
    "Something upbeat with piano — like a sunny morning drive!",
    "ok",
]
LONG = "a calm ambient track with soft pads and distant field recordings " * 8


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder.load(load_spec())


@pytest.fixture(scope="module")
def sentence_transformer() -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(bundled_minilm_path()), device="cpu")


def test_pooled_equals_sentence_transformers(encoder: TextEncoder, sentence_transformer: Any) -> None:
    reference = sentence_transformer.encode(TEXTS, normalize_embeddings=True)
    pooled = np.array([e.pooled for e in encoder.encode(TEXTS)])
    np.testing.assert_allclose(pooled, reference, atol=1e-5)


def test_truncated_text_pools_like_sentence_transformers_at_the_same_length(
    encoder: TextEncoder, sentence_transformer: Any
) -> None:
    sentence_transformer.max_seq_length = encoder.max_tokens
    try:
        reference = sentence_transformer.encode([LONG], normalize_embeddings=True)[0]
    finally:
        sentence_transformer.max_seq_length = 256
    (enc,) = encoder.encode([LONG])
    assert enc.truncated and enc.length == encoder.max_tokens
    np.testing.assert_allclose(enc.pooled, reference, atol=1e-5)


def test_token_features_are_the_models_last_layer(encoder: TextEncoder, sentence_transformer: Any) -> None:
    reference = sentence_transformer.encode(TEXTS, output_value="token_embeddings")
    for enc, ref in zip(encoder.encode(TEXTS), reference, strict=True):
        assert enc.tokens.shape == (enc.length, 384) == tuple(ref.shape)
        # float16 storage: about three significant digits
        np.testing.assert_allclose(enc.tokens.to_array(), ref.numpy(), rtol=2e-3, atol=2e-3)


def test_lengths_count_cls_and_sep(encoder: TextEncoder) -> None:
    ids = encoder.tokenizer(TEXTS)["input_ids"]
    for enc, token_ids in zip(encoder.encode(TEXTS), ids, strict=True):
        assert enc.length == len(token_ids) and not enc.truncated
    assert encoder.encode(["ok"])[0].length == 3  # [CLS] ok [SEP]


def test_padding_in_a_batch_changes_nothing(encoder: TextEncoder) -> None:
    together = encoder.encode(TEXTS)
    alone = [encoder.encode([t])[0] for t in TEXTS]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a.pooled, b.pooled, atol=1e-5)
        assert a.tokens.shape == b.tokens.shape


def test_max_tokens_is_configurable() -> None:
    wide = TextEncoder.load(load_spec(), max_tokens=64)
    (enc,) = wide.encode([LONG])
    assert wide.max_tokens == 64 and enc.length == 64 and enc.truncated


def test_wording_moves_the_sentence_vector(encoder: TextEncoder) -> None:
    """Real weights: a paraphrase lands nearer than a request for the opposite."""
    base, paraphrase, opposite = (
        np.array(e.pooled)
        for e in encoder.encode(
            ["an instrumental song with no singing", "music without vocals", "a loud song with a male singer"]
        )
    )
    assert float(base @ paraphrase) > float(base @ opposite) + 0.1


def test_version_names_model_and_weights(encoder: TextEncoder) -> None:
    assert encoder.version.startswith("sentence-transformers/all-MiniLM-L6-v2@")
    assert len(encoder.version.split("@")[1]) == 8


def test_a_directory_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot load a text model"):
        TextEncoder.load(load_spec(), model=tmp_path)


def test_a_model_that_does_not_match_the_spec_is_refused(tmp_path: Path) -> None:
    spec = load_spec().model_copy(update={"name": "text_wide", "dim": 512})
    with pytest.raises(ValueError, match="gives 384-d tokens, spec text_wide says 512"):
        TextEncoder.load(spec)


def test_served_over_http(tmp_path: Path) -> None:
    import httpx

    env = {"MUSECHAT_TEXT_ENCODER_MAX_TOKENS": "48", "MUSECHAT_TEXT_ENCODER_TORCH_THREADS": "1"}
    with serve_bento(SERVICE_DIR, "service:TextEncoderService", env, tmp_path / "serve.log") as url:
        info = TextEncoderInfo.model_validate(httpx.post(f"{url}/info", timeout=30).json())
        assert info.dim == 384 and info.max_tokens == 48

        def call(texts: list[str]) -> list[TextEncoding]:
            response = httpx.post(f"{url}/encode", json={"texts": texts}, timeout=60)
            response.raise_for_status()
            return [TextEncoding.model_validate(item) for item in response.json()]

        # Concurrent callers: the adaptive batcher may merge them; each still gets its own items back.
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(call, [[t] for t in TEXTS] + [TEXTS]))
        local = TextEncoder.load(load_spec(), max_tokens=48).encode(TEXTS)
        for got, want in zip([r[0] for r in results[:4]] + results[4], local + local, strict=True):
            assert got.length == want.length
            np.testing.assert_allclose(got.pooled, want.pooled, atol=1e-5)

        # The two clients of the service: the gateway's async port (concurrent coroutines on one loop) and
        # the workers' blocking client.
        from musechat.encoders.text_client import TextEncoderClient
        from musechat.gateway.ports import HttpTextEncoder

        async def from_the_gateway() -> list[list[TextEncoding]]:
            port = HttpTextEncoder(url, timeout_s=60)
            return list(await asyncio.gather(*(port.encode([t]) for t in TEXTS)))

        answers = [r[0] for r in asyncio.run(from_the_gateway())] + TextEncoderClient(url, timeout_s=60).encode(TEXTS)
        for got, want in zip(answers, local + local, strict=True):
            assert got.length == want.length
            np.testing.assert_allclose(got.pooled, want.pooled, atol=1e-5)

        blank = httpx.post(f"{url}/encode", json={"texts": ["   "]}, timeout=30)
        assert blank.status_code == 400 and "pattern" in blank.text
        too_long = httpx.post(f"{url}/encode", json={"texts": ["x" * 2001]}, timeout=30)
        assert too_long.status_code == 400 and "at most 2000 characters" in too_long.text
        malformed = httpx.post(
            f"{url}/encode", content=b"{not json", headers={"content-type": "application/json"}, timeout=30
        )
        assert malformed.status_code == 400
        assert httpx.get(f"{url}/livez", timeout=10).status_code == 200
        assert "bentoml_service_request" in httpx.get(f"{url}/metrics", timeout=10).text


def test_the_gateways_text_process_encodes_as_the_model_here(encoder: TextEncoder) -> None:
    from musechat.gateway.ports import HostedTextEncoder
    from musechat.gateway.runtime import TEXT, build_text_encoder
    from musechat.hosting import ProcessHost

    host = ProcessHost("test-text", build_text_encoder, 1)
    try:
        hosted = HostedTextEncoder(host, TEXT).encode(TEXTS)
    finally:
        host.close()
    for there, here in zip(hosted, encoder.encode(TEXTS), strict=True):
        assert there.tokens.shape == here.tokens.shape
        assert np.allclose(there.tokens.to_array(), here.tokens.to_array(), atol=1e-3)
        assert np.allclose(there.pooled, here.pooled, atol=1e-5)
