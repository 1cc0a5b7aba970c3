"""One conformance suite, every backend: in-process transformers + peft, a real vLLM server, and
CTranslate2 (the adapter merged in and converted; float32 here, so its text is the local backend's).

All run SmolLM2-135M-Instruct with the same adapters and greedy decoding; each test states a property
every ExplanationBackend must have. CTranslate2 takes no music token: it must refuse one clearly
(test_ct2_backend.py), and the music tests run on the backends that have it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musechat.explain.backends.base import BackendError, BackendTimeout, ExplanationBackend
from musechat.explain.data import TrackMeta
from musechat.explain.datasets import synthetic_examples

from .conftest import SERVED_NAME, open_prompt

pytestmark = pytest.mark.integration

TRACK = TrackMeta(title="Deliverer", artist="Weston Skaggs", tags=("rock", "indie", "guitar", "male vocalists"))
MAX_TOKENS = 12
TIMEOUT_S = 300.0  # generous: the machine is shared; the timeout test uses a tiny one


@pytest.fixture(scope="module", params=["local", "vllm", "ctranslate2"])
def backend(
    request: pytest.FixtureRequest, base_model: Path, adapters: dict[str, Path]
) -> Iterator[ExplanationBackend]:
    if request.param == "local":
        from musechat.explain.backends.local import LocalBackend

        yield LocalBackend(base_model, adapters={"explainer": adapters["explainer"]})
    elif request.param == "ctranslate2":
        from musechat.explain.backends.ctranslate2 import Ct2Backend

        yield Ct2Backend(base_model, adapters={"explainer": adapters["explainer"]}, compute_type="float32",
                         cache_dir=request.getfixturevalue("ct2_cache"))  # fmt: skip
    else:
        from musechat.explain.backends.vllm import VllmBackend

        url = request.getfixturevalue("vllm_url")
        vllm = VllmBackend(url, base_model, served_model_name=SERVED_NAME,
                           adapter_dirs={"explainer": adapters["explainer"]})  # fmt: skip
        yield vllm
        vllm.close()


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    return synthetic_examples(1, seed=5)[0].music_features


def has_music_token(backend: ExplanationBackend) -> bool:
    return backend.name != "ctranslate2"


def test_base_and_adapter_generate_text(backend: ExplanationBackend) -> None:
    prompt = open_prompt(TRACK, "more guitar and a male voice")
    base = backend.generate(prompt, None, None, MAX_TOKENS, TIMEOUT_S)
    tuned = backend.generate(prompt, None, "explainer", MAX_TOKENS, TIMEOUT_S)
    assert base.strip() and tuned.strip()
    assert "explainer" in backend.adapters()


def test_stream_yields_the_same_text_as_generate(backend: ExplanationBackend) -> None:
    prompt = open_prompt(TRACK, "something slower")
    pieces = list(backend.stream(prompt, None, "explainer", MAX_TOKENS, TIMEOUT_S))
    assert len(pieces) > 1
    assert "".join(pieces) == backend.generate(prompt, None, "explainer", MAX_TOKENS, TIMEOUT_S)


def test_music_token_goes_through_the_adapters_projector(backend: ExplanationBackend, music: np.ndarray) -> None:
    if not has_music_token(backend):
        pytest.skip(f"{backend.name} takes no music token (its refusal: test_ct2_backend.py)")
    prompt = open_prompt(TRACK, "more guitar", music=True)
    assert backend.generate(prompt, music, "explainer", MAX_TOKENS, TIMEOUT_S).strip()
    with pytest.raises(BackendError, match="base model has no trained projector"):
        backend.generate(prompt, music, None, MAX_TOKENS, TIMEOUT_S)


def test_music_features_need_the_music_slot(backend: ExplanationBackend, music: np.ndarray) -> None:
    with pytest.raises(ValueError, match="music slot"):
        backend.generate(open_prompt(TRACK, "x"), music, "explainer", MAX_TOKENS, TIMEOUT_S)


def test_unknown_adapter_is_a_backend_error(backend: ExplanationBackend) -> None:
    with pytest.raises(BackendError):
        backend.generate(open_prompt(TRACK, "x"), None, "no-such-adapter", MAX_TOKENS, TIMEOUT_S)


def test_timeout_is_reported_as_such(backend: ExplanationBackend) -> None:
    with pytest.raises(BackendTimeout):
        backend.generate(open_prompt(TRACK, "x"), None, None, 64, 1e-3)


def test_adapter_loaded_at_run_time_is_used(
    backend: ExplanationBackend, adapters: dict[str, Path], music: np.ndarray
) -> None:
    backend.load_adapter("explainer-v2", adapters["explainer-v2"])
    assert {"explainer", "explainer-v2"} <= set(backend.adapters())
    with_music = has_music_token(backend)
    prompt = open_prompt(TRACK, "more guitar", music=with_music)
    assert backend.generate(prompt, music if with_music else None, "explainer-v2", MAX_TOKENS, TIMEOUT_S).strip()


def test_banned_phrases_are_never_written(backend: ExplanationBackend) -> None:
    """Grounded decoding: the words a first answer used, once banned, do not come back (each backend bans
    the prompt's phrases as token sequences: a logits mask, CTranslate2's suppress_sequences, vLLM's
    bad_words and logit bias)."""
    prompt = open_prompt(TRACK, "more guitar and a male voice")
    first = backend.generate(prompt, None, None, 24, TIMEOUT_S)
    names = {w.lower() for w in re.findall(r"\w+", f"{TRACK.title} {TRACK.artist}")}
    # Words the model wrote after a space (where a claim stands): what the bans cover.
    written = [w.lower() for w in re.findall(r"(?<= )([A-Za-z]{4,})\b", first) if w.lower() not in names]
    banned = tuple(dict.fromkeys(written))[:3]
    assert banned, f"the base model's answer has no word to ban: {first!r}"
    second = backend.generate(replace(prompt, banned=banned), None, None, 24, TIMEOUT_S)
    assert second.strip()
    again = [w for w in banned if re.search(rf"(?<![\w-]){w}(?![\w-])", second, re.IGNORECASE)]
    assert not again, f"banned {banned} but wrote {again}: {second!r} (first: {first!r})"


def test_a_word_that_splits_bare_is_banned_after_a_space(backend: ExplanationBackend, base_model: Path) -> None:
    """" guitar" is one token, "guitar" bare three: vLLM's bad_words keeps a word's spaced form only when
    both have the same length, so the spaced one must be banned another way (a logit bias)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_model))
    assert len(tokenizer.encode(" guitar", add_special_tokens=False)) == 1
    assert len(tokenizer.encode("guitar", add_special_tokens=False)) > 1
    lead = f'"{TRACK.title}" by {TRACK.artist} is a rock song with electric'
    prompt = replace(open_prompt(TRACK, "more guitar, please"), answer_prefix=lead)
    word = re.compile(r"\bguitar\b", re.IGNORECASE)  # "guitars" is another token, not banned here
    free = backend.generate(prompt, None, None, 6, TIMEOUT_S)
    assert word.search(free), f"the model did not write the word unbanned: {free!r}"
    banned = backend.generate(replace(prompt, banned=("guitar",)), None, None, 6, TIMEOUT_S)
    assert not word.search(banned), banned
