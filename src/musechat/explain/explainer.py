"""The explainer core: prompt → backend → grounding check → retry once → template fallback.

Failures of the LLM (down, slow, circuit open) never raise to the caller: the result then has no text
and says why, so a conversation turn still returns its tracks.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from musechat.explain.backends.base import BackendError, ExplanationBackend, tidy_completion
from musechat.explain.breaker import CircuitBreaker
from musechat.explain.data import TrackMeta, Turn
from musechat.explain.grounding import CatalogTitleIndex, GroundingResult, check_grounding, template_explanation
from musechat.explain.prompt import build_prompt
from musechat.explain.tags import TAG_VOCABULARY


@dataclass(frozen=True)
class ExplainRequest:
    track: TrackMeta
    user_words: str = ""
    history: tuple[Turn, ...] = ()
    music_features: np.ndarray | None = None  # [segments, D]; used when the explainer's music token is on
    adapter: str | None = None  # None → the explainer's default adapter
    other_titles: tuple[str, ...] = ()  # e.g. the other tracks of this result list, also forbidden


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

    def _plan(self, req: ExplainRequest) -> tuple[str | None, np.ndarray | None]:
        adapter = req.adapter if req.adapter is not None else self.default_adapter
        music = req.music_features if (self.use_music and adapter is not None) else None
        return adapter, music

    def _check(self, text: str, req: ExplainRequest) -> GroundingResult:
        catalog = self.catalog.merged(req.other_titles) if req.other_titles else self.catalog
        return check_grounding(text, req.track, catalog, self.vocabulary)

    def stream(self, req: ExplainRequest) -> Iterator[ExplanationEvent]:
        started = time.monotonic()
        adapter, music = self._plan(req)
        prompt = build_prompt(req.track, req.user_words, req.history, music=music is not None)
        common = {"adapter": adapter, "music_token": music is not None}

        def final(**kw: object) -> ExplanationEvent:
            result = Explanation(latency_s=time.monotonic() - started, **common, **kw)  # type: ignore[arg-type]
            return ExplanationEvent(kind="final", text=result.text or "", result=result)

        raw: list[str] = []
        problems: tuple[str, ...] = ()
        for attempt in range(1, self.max_attempts + 1):
            if not self.breaker.allow():
                yield final(text=None, grounded=False, attempts=attempt - 1, raw=tuple(raw),
                            reason=f"LLM circuit open after repeated failures; retry in "
                                   f"{self.breaker.retry_in_s():.0f}s")
                return
            if attempt > 1:
                yield ExplanationEvent(kind="reset")
            pieces: list[str] = []
            remaining = self.timeout_s - (time.monotonic() - started)
            try:
                if remaining <= 0:
                    raise BackendError(f"no time left for attempt {attempt} within {self.timeout_s:.1f}s")
                for piece in self.backend.stream(prompt, music, adapter, self.max_tokens, remaining):
                    pieces.append(piece)
                    yield ExplanationEvent(kind="delta", text=piece)
            except BackendError as exc:
                self.breaker.record_failure()
                yield final(text=None, grounded=False, attempts=attempt, raw=tuple(raw),
                            reason=f"no explanation: {exc.reason}")
                return
            except Exception as exc:  # a backend bug must not break the turn either
                self.breaker.record_failure()
                yield final(text=None, grounded=False, attempts=attempt, raw=tuple(raw),
                            reason=f"no explanation: {type(exc).__name__}: {exc}")
                return
            self.breaker.record_success()
            text = tidy_completion("".join(pieces))
            raw.append(text)
            check = self._check(text, req)
            if check.ok:
                yield final(text=text, grounded=True, attempts=attempt, raw=tuple(raw))
                return
            problems = check.problems
        yield ExplanationEvent(kind="reset")
        yield final(
            text=template_explanation(req.track, req.user_words),
            grounded=True,
            fallback=True,
            attempts=self.max_attempts,
            problems=problems,
            raw=tuple(raw),
            reason=f"model output failed the grounding check {self.max_attempts}x: {'; '.join(problems)}",
        )

    def explain(self, req: ExplainRequest) -> Explanation:
        for event in self.stream(req):
            if event.kind == "final" and event.result is not None:
                return event.result
        raise AssertionError("Explainer.stream ended without a final event")
