"""explainer: a thin BentoML shell over `musechat.explain.Explainer`.

Run: `bentoml serve service:ExplainerService --working-dir services/explainer --port 3000`.
APIs: POST /explain (JSON result), POST /explain_stream (NDJSON events: `delta`, `reset`, one `final`
that carries the authoritative, grounded text), POST /load_adapter (internal: runtime LoRA loading).
BentoML serves /livez, /readyz and /metrics. With MUSECHAT_EXPLAINER_VLLM_URL unset, the LLM runs
in-process (SmolLM2-135M + the project's default adapter when it is built). An LLM that is down or slow
yields the template built from the same facts (`fallback: true`) and a `reason`, never an error.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import bentoml
from bentoml.exceptions import BadInput, ServiceUnavailable

from musechat.explain.backends.base import BackendError, BackendUnavailable
from musechat.explain.schema import (
    ExplainBody,
    ExplanationOut,
    LoadAdapterBody,
    to_event,
    to_out,
    to_request,
)
from musechat.explain.settings import ExplainerSettings, build_explainer
from musechat.observability import HttpMetricsMiddleware

settings = ExplainerSettings()


@bentoml.service(name="explainer")
class ExplainerService:
    def __init__(self) -> None:
        self.explainer = build_explainer(settings)

    @bentoml.api
    def explain(self, body: ExplainBody) -> ExplanationOut:
        """A grounded explanation of why the track fits the user's words and the conversation."""
        return to_out(self.explainer.explain(to_request(body)))

    @bentoml.api
    def explain_stream(self, body: ExplainBody) -> Generator[str, None, None]:
        """The same, streamed as one JSON event per line."""
        for event in self.explainer.stream(to_request(body)):
            yield to_event(event).model_dump_json() + "\n"

    @bentoml.api
    def load_adapter(self, body: LoadAdapterBody) -> list[str]:
        """Load (or replace) a LoRA adapter at run time; returns the adapters now available."""
        try:
            self.explainer.backend.load_adapter(body.name, Path(body.path))
            return self.explainer.backend.adapters()
        except BackendUnavailable as exc:
            raise ServiceUnavailable(exc.reason) from exc
        except (BackendError, FileNotFoundError) as exc:
            raise BadInput(str(exc)) from exc


ExplainerService.add_asgi_middleware(HttpMetricsMiddleware, service="explainer")
