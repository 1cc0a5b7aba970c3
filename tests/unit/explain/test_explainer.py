"""The explainer's control flow (retry, fallback, failures, streaming) over a scripted backend.

The backend here is a stand-in for the LLM on purpose: these tests cover the orchestration; the real
backends are covered by tests/integration/explainer (conformance suite on SmolLM2, local and vLLM).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from musechat.explain.backends.base import BackendTimeout, BackendUnavailable, answer_text, tidy_completion
from musechat.explain.breaker import CircuitBreaker
from musechat.explain.data import TrackMeta
from musechat.explain.explainer import Explainer, ExplainRequest
from musechat.explain.grounding import CatalogTitleIndex
from musechat.explain.prompt import ExplainPrompt, answer_opener

pytestmark = pytest.mark.unit

TRACK = TrackMeta(title="Deliverer", artist="Weston Skaggs", tags=("rock", "guitar", "male vocalists"))
# The backend's continuations: every prompt gives the answer's first sentence (an opener naming the pick).
GOOD = " It is rock with guitar and male vocals."
BAD_TAG = " It has piano."
OTHER = " It sounds like Blue Sky Mine."
TAIL = " It is rock with guitar."
FIRST, SECOND = answer_opener(TRACK), answer_opener(TRACK, 2)


class ScriptedBackend:
    name = "scripted"

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[ExplainPrompt, bool, str | None]] = []

    def stream(self, prompt, music_features, adapter, max_tokens, timeout) -> Iterator[str]:
        self.calls.append((prompt, music_features is not None, adapter))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        for word in answer.split(" "):
            yield word + " "

    def generate(self, prompt, music_features, adapter, max_tokens, timeout) -> str:
        return "".join(self.stream(prompt, music_features, adapter, max_tokens, timeout))

    def load_adapter(self, name: str, path: Path) -> None:
        raise NotImplementedError

    def adapters(self) -> list[str]:
        return []


def make(backend: ScriptedBackend, **kw: object) -> Explainer:
    return Explainer(backend, CatalogTitleIndex(["Deliverer", "Blue Sky Mine"]), **kw)  # type: ignore[arg-type]


def test_grounded_first_attempt_is_returned() -> None:
    result = make(ScriptedBackend(GOOD)).explain(ExplainRequest(TRACK, "more guitar"))
    assert result.text == FIRST + GOOD and result.grounded and not result.fallback
    assert result.attempts == 1 and result.reason is None


def test_the_retry_differs_feeds_the_problems_back_and_gives_the_start() -> None:
    backend = ScriptedBackend(BAD_TAG, TAIL)
    result = make(backend).explain(ExplainRequest(TRACK, "more guitar"))
    assert result.text == SECOND + TAIL and result.attempts == 2
    assert result.raw == (FIRST + BAD_TAG, result.text)
    first, retry = backend.calls[0][0], backend.calls[1][0]
    assert first.answer_prefix == FIRST and retry.answer_prefix == SECOND and FIRST != SECOND
    assert not first.is_retry and retry.is_retry
    assert "cites tags the track does not have: piano" in retry.user and retry.user != first.user


def test_two_ungrounded_attempts_fall_back_to_the_template() -> None:
    result = make(ScriptedBackend(BAD_TAG, OTHER)).explain(ExplainRequest(TRACK, "more guitar"))
    assert result.fallback and result.grounded
    assert result.text is not None and result.text.startswith('I suggest "Deliverer" by Weston Skaggs.')
    assert result.reason is not None and "Blue Sky Mine" in result.reason


# Issue #16 changed this on purpose: an LLM failure (timeout included) now yields the template, not no text.
@pytest.mark.parametrize("error", [BackendTimeout("vLLM did not answer within 2.0s"), BackendUnavailable("down")])
def test_llm_failure_gives_the_template_and_a_reason(error: Exception) -> None:
    result = make(ScriptedBackend(error)).explain(ExplainRequest(TRACK))
    assert result.fallback and result.grounded
    assert result.text is not None and result.text.startswith('I suggest "Deliverer" by Weston Skaggs.')
    assert result.reason == f"LLM failed on attempt 1: {error}"


def test_a_timeout_on_the_retry_still_gives_the_template() -> None:
    result = make(ScriptedBackend(BAD_TAG, BackendTimeout("too slow"))).explain(ExplainRequest(TRACK, "more guitar"))
    assert result.fallback and result.text is not None and result.text.startswith('I suggest "Deliverer"')
    assert result.attempts == 2 and result.problems and "too slow" in (result.reason or "")


def test_unexpected_backend_errors_do_not_escape() -> None:
    result = make(ScriptedBackend(RuntimeError("boom"))).explain(ExplainRequest(TRACK))
    assert result.fallback and result.reason == "LLM failed on attempt 1: RuntimeError: boom"


def test_open_circuit_skips_the_llm() -> None:
    backend = ScriptedBackend(BackendUnavailable("down"), GOOD)
    explainer = make(backend, breaker=CircuitBreaker(failure_threshold=1, reset_after_s=60))
    explainer.explain(ExplainRequest(TRACK))
    result = explainer.explain(ExplainRequest(TRACK))
    assert result.fallback and result.reason is not None and result.reason.startswith("LLM circuit open")
    assert len(backend.calls) == 1


def test_music_token_only_with_an_adapter_and_when_enabled() -> None:
    feats = np.zeros((4, 8), dtype=np.float32)
    backend = ScriptedBackend(GOOD, GOOD, GOOD)
    make(backend, use_music=True, default_adapter="explainer").explain(ExplainRequest(TRACK, music_features=feats))
    make(backend, use_music=True).explain(ExplainRequest(TRACK, music_features=feats))
    make(backend, default_adapter="explainer").explain(ExplainRequest(TRACK, music_features=feats))
    assert [(music, adapter) for _, music, adapter in backend.calls] == [
        (True, "explainer"),
        (False, None),
        (False, "explainer"),
    ]
    assert backend.calls[0][0].has_music_slot and not backend.calls[1][0].has_music_slot


def test_stream_resets_between_attempts_and_ends_with_final() -> None:
    events = list(make(ScriptedBackend(BAD_TAG, TAIL)).stream(ExplainRequest(TRACK)))
    kinds = [e.kind for e in events]
    assert kinds.count("reset") == 1 and kinds[-1] == "final"
    after_reset = "".join(e.text for e in events[kinds.index("reset") + 1 : -1])
    assert tidy_completion(after_reset) == SECOND + TAIL
    assert events[-1].result is not None and events[-1].result.text == tidy_completion(after_reset)


def test_tidy_completion_cuts_an_unfinished_sentence() -> None:
    assert tidy_completion("One.  Two is  cut") == "One."
    assert tidy_completion("No stop at all") == "No stop at all"
    assert tidy_completion("Done.<|im_end|>") == "Done."


def test_a_continuation_that_starts_the_answer_over_loses_the_repeated_opener() -> None:
    restart = f'Listen to "Deliverer" by Weston Skaggs.{GOOD}'  # written straight after the given opener
    result = make(ScriptedBackend(restart)).explain(ExplainRequest(TRACK, "more guitar"))
    assert result.text == FIRST + GOOD and result.attempts == 1
    other = " It is rock with guitar, unlike Blue Lanterns."  # names another track first: not a restart
    assert answer_text(ExplainPrompt("s", "u", answer_prefix=FIRST, named=("Deliverer", "Weston Skaggs")), other) == (
        FIRST + other
    )


def test_an_answer_that_only_names_the_pick_is_retried() -> None:
    """After the given opener a model may stop at once: that names the pick and gives no reason."""
    backend = ScriptedBackend("", TAIL)
    result = make(backend).explain(ExplainRequest(TRACK, "more guitar"))
    assert result.attempts == 2 and result.text == SECOND + TAIL
    assert "gives no reason, only the pick's name" in backend.calls[1][0].user
