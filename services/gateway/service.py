"""gateway: the public REST API (/v1) as a BentoML service mounting the FastAPI app.

Run: `bentoml serve service:GatewayService --working-dir services/gateway --port 3000`. Settings: env
MUSECHAT_GATEWAY_* (see musechat.gateway.settings). BentoML serves /livez and /readyz beside it
(readiness per dependency: /readyz/dependencies); /metrics needs a key or `MUSECHAT_GATEWAY_METRICS_PORT`.
"""

from __future__ import annotations

import gc

import bentoml

from musechat.gateway.app import create_app
from musechat.gateway.fallback import PlainErrorsAsJson
from musechat.gateway.settings import GatewayServerSettings, GatewaySettings

app = create_app()
server = GatewayServerSettings()


# BentoML's own /metrics is off: it was public and labelled requests by raw path (every id a series); the
# app serves /metrics behind a key, or on `metrics_port` (musechat.gateway.metrics_route).
@bentoml.service(name="gateway", workers=1, traffic={"timeout": 60}, metrics={"enabled": False},
                 logging={"access": {"enabled": server.access_log}},
                 tracing=server.tracing())
@bentoml.asgi_app(app, path="/")
class GatewayService:
    def __init__(self) -> None:
        from musechat.gateway.runtime import build_runtime
        from musechat.hosting import exit_with_parent

        # This worker dies with the server process that spawned it: after a kill -9 of `bentoml serve` an
        # orphaned worker kept serving and holding the port (and its engine process the store's locks).
        exit_with_parent()

        settings = GatewaySettings()
        self.runtime = build_runtime(settings)
        app.state.context = self.runtime.context
        if settings.metrics_port is not None:
            from musechat.observability import start_metrics_server

            start_metrics_server(settings.metrics_port)
        # What start-up loaded (~450k objects: torch, transformers, the models) is never garbage again; a
        # full collection scanning it would stall every in-flight request for ~0.3 s.
        gc.collect()
        gc.freeze()

    def __is_ready__(self) -> bool:
        """BentoML's /readyz: the store answers and the outbox takes writes (details: /readyz/dependencies)."""
        from musechat.gateway.health import is_ready

        return is_ready(self.runtime.context)

    @bentoml.on_shutdown
    def close(self) -> None:
        self.runtime.close()


# Plain-text 404/405s from BentoML's own router (paths it never hands to the app) leave as JSON errors.
GatewayService.add_asgi_middleware(PlainErrorsAsJson)
