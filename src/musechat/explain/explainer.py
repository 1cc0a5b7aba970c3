"""The explainer core: facts → prompt → backend → grounding check → a retry that differs → template.

The retry is a different prompt, not the same one again (greedy decoding would repeat itself): the first
attempt's problems are fed back and the answer's start (title and artist) is given. When the model still
fails, or the LLM is down, slow or its circuit open, the deterministic template (built from the same
facts) is returned with `fallback=True` and the reason, so a turn always gets a grounded explanation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from musechat.explain.backends.base import BackendError, ExplanationBackend, answer_text
from musechat.explain.breaker import CircuitBreaker
from musechat.explain.data import TrackMeta, Turn
from musechat.explain.facts import ExplainContext, RequestFacts, VideoFacts
from musechat.explain.grounding import CatalogTitleIndex, GroundingResult, check_grounding, template_explanation
from musechat.explain.prompt import ExplainPrompt, RetryHint, build_prompt, context_of
from musechat.explain.tags import TAG_VOCABULARY


@dataclass(frozen=True)
class ExplainRequest:
    track: TrackMeta
    user_words: str = ""
    history: tuple[Turn, ...] = ()
    music_features: np.ndarray | None = None  # [segments, D]; used when the explainer's music token is on
    adapter: str | None = None  # None → the explainer's default adapter
    other_titles: tuple[str, ...] = ()  # e.g. the other tracks of this result list, also forbidden
    previous: TrackMeta | None = None  # the pick this one replaces (turn N-1's top track)
    request: RequestFacts | None = None  # None → parsed from user_words
    video: VideoFacts | None = None  # measured on the video's frames

    def context(self) -> ExplainContext:
        return context_of(self.track, self.user_words, previous=self.previous, request=self.request,
                          video=self.video)


@dataclass(frozen=True)
class Explanation:
    text: str | None
    grounded: bool
    fallback: bool = False
    reason: str | None = None
    attempts: int = 0
    problems: tuple[str, ...] = ()
    adapter: str | None = None
    music_token: bool = False
    latency_s: float = 0.0
    raw: tuple[str, ...] = field(default=())  # the model's own attempts, for evaluation and debugging


@dataclass(frozen=True)
class ExplanationEvent:
    """Streaming: `delta` pieces of the current attempt; `reset` when a failed attempt's text must be
    discarded; one `final` that carries the authoritative result (text may differ from the deltas)."""

    kind: Literal["delta", "reset", "final"]
    text: str = ""
    result: Explanation | None = None


class Explainer:
    def __init__(
        self,
        backend: ExplanationBackend,
        catalog: CatalogTitleIndex | None = None,
        *,
        vocabulary: Iterable[str] = TAG_VOCABULARY,
        breaker: CircuitBreaker | None = None,
        default_adapter: str | None = None,
        use_music: bool = False,
        max_tokens: int = 80,
        timeout_s: float = 20.0,
        max_attempts: int = 2,
        grounded_decoding: bool = True,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.backend = backend
        self.catalog = catalog or CatalogTitleIndex()
        self.vocabulary = frozenset(vocabulary)
        self.breaker = breaker or CircuitBreaker()
        self.default_adapter = default_adapter
        self.use_music = use_music
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.grounded_decoding = grounded_decoding

    def _plan(self, req: ExplainRequest) -> tuple[str | None, np.ndarray | None]:
        adapter = req.adapter if req.adapter is not None else self.default_adapter
        music = req.music_features if (self.use_music and adapter is not None) else None
        return adapter, music

    def check(self, text: str, req: ExplainRequest, prompt: ExplainPrompt | None = None) -> GroundingResult:
        """The grounding check; with the prompt, an answer that is only the given opener fails too (it
        names the pick and gives no reason: a model may stop right after the given sentence)."""
        catalog = self.catalog.merged(req.other_titles) if req.other_titles else self.catalog
        result = check_grounding(text, req.track, catalog, self.vocabulary, context=req.context())
        if prompt is not None and prompt.answer_prefix and text.strip() == prompt.answer_prefix.strip():
            return replace(result, ok=False, problems=(*result.problems, "gives no reason, only the pick's name"))
        return result

    def prompt(self, req: ExplainRequest, *, music: bool, retry: RetryHint | None = None) -> ExplainPrompt:
        return build_prompt(req.track, req.user_words, req.history, music=music, previous=req.previous,
                            request=req.request, video=req.video, retry=retry,
                            ban_vocabulary=self.vocabulary if self.grounded_decoding else None)

    def stream(self, req: ExplainRequest) -> Iterator[ExplanationEvent]:
        started = time.monotonic()
        adapter, music = self._plan(req)
        common = {"adapter": adapter, "music_token": music is not None}

        def final(**kw: object) -> ExplanationEvent:
            result = Explanation(latency_s=time.monotonic() - started, **common, **kw)  # type: ignore[arg-type]
            return ExplanationEvent(kind="final", text=result.text or "", result=result)

        def fallback(attempts: int, reason: str, problems: tuple[str, ...] = ()) -> ExplanationEvent:
            text = template_explanation(req.track, req.user_words, req.context())
            return final(text=text, grounded=True, fallback=True, attempts=attempts, problems=problems,
                         raw=tuple(raw), reason=reason)

        raw: list[str] = []
        problems: tuple[str, ...] = ()
        for attempt in range(1, self.max_attempts + 1):
            if not self.breaker.allow():
                if attempt > 1:
                    yield ExplanationEvent(kind="reset")
                yield fallback(attempt - 1, f"LLM circuit open after repeated failures; retry in "
                                            f"{self.breaker.retry_in_s():.0f}s", problems)
                return
            prompt = self.prompt(req, music=music is not None, retry=RetryHint(problems) if attempt > 1 else None)
            if attempt > 1:
                yield ExplanationEvent(kind="reset")
            pieces: list[str] = []
            if prompt.answer_prefix:
                yield ExplanationEvent(kind="delta", text=prompt.answer_prefix)
            remaining = self.timeout_s - (time.monotonic() - started)
            try:
                if remaining <= 0:
                    raise BackendError(f"no time left for attempt {attempt} within {self.timeout_s:.1f}s")
                for piece in self.backend.stream(prompt, music, adapter, self.max_tokens, remaining):
                    pieces.append(piece)
                    yield ExplanationEvent(kind="delta", text=piece)
            except Exception as exc:  # BackendError, or a backend bug: neither may break the turn
                self.breaker.record_failure()
                why = exc.reason if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
                yield ExplanationEvent(kind="reset")
                yield fallback(attempt, f"LLM failed on attempt {attempt}: {why}", problems)
                return
            self.breaker.record_success()
            text = answer_text(prompt, "".join(pieces))
            raw.append(text)
            check = self.check(text, req, prompt)
            if check.ok:
                yield final(text=text, grounded=True, attempts=attempt, raw=tuple(raw))
                return
            problems = check.problems
        yield ExplanationEvent(kind="reset")
        yield fallback(self.max_attempts,
                       f"model output failed the grounding check {self.max_attempts}x: {'; '.join(problems)}",
                       problems)

    def explain(self, req: ExplainRequest) -> Explanation:
        for event in self.stream(req):
            if event.kind == "final" and event.result is not None:
                return event.result
        raise AssertionError("Explainer.stream ended without a final event")
