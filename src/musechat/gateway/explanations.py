"""The gateway's explainer port: the explainer BentoML service over HTTP, or the explainer core in process
(the embedded default). Either way a slow or broken LLM costs the turn its explanation, never its tracks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from musechat.contracts.api import Explanation, RecommendedTrack
from musechat.contracts.features import FeatureMatrix

if TYPE_CHECKING:
    from musechat.explain.explainer import Explainer
    from musechat.explain.schema import ExplainBody

log = logging.getLogger(__name__)
FeatureLookup = Callable[[str], FeatureMatrix | None]


def explain_body(track: RecommendedTrack, words: str | None, history: list[str], others: list[str],
                 features: FeatureMatrix | None) -> ExplainBody:
    from musechat.explain.schema import ExplainBody, ExplainTrack, ExplainTurn

    return ExplainBody(
        track=ExplainTrack(track_id=track.track_id, title=track.title, artist=track.artist,
                           album=track.album or "", tags=track.tags),
        user_words=words or "",
        history=[ExplainTurn(role="user", text=text) for text in history],
        music_features=features,
        other_titles=[title for title in others if title != track.title],
    )


class InProcessExplainer:
    def __init__(self, explainer: Explainer, features: FeatureLookup) -> None:
        self._explainer = explainer
        self._features = features

    def explain(self, track: RecommendedTrack, words: str | None, history: list[str],
                others: list[str]) -> Explanation:
        from musechat.explain.schema import to_out, to_request

        body = explain_body(track, words, history, others, self._features(track.track_id))
        out = to_out(self._explainer.explain(to_request(body)))
        return Explanation(text=out.text, grounded=out.grounded, fallback=out.fallback, reason=out.reason)


class HttpExplainer:
    def __init__(self, base_url: str, features: FeatureLookup, timeout_s: float) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self._features = features

    def explain(self, track: RecommendedTrack, words: str | None, history: list[str],
                others: list[str]) -> Explanation:
        body = explain_body(track, words, history, others, self._features(track.track_id))
        try:
            response = self._client.post("/explain", json={"body": body.model_dump(mode="json")})
            response.raise_for_status()
        except httpx.HTTPError as error:
            log.warning("explainer unavailable: %s", error)
            return Explanation(text=None, reason=f"the explainer is unavailable ({type(error).__name__})")
        out = response.json()
        return Explanation(text=out.get("text"), grounded=bool(out.get("grounded")),
                           fallback=bool(out.get("fallback")), reason=out.get("reason"))
