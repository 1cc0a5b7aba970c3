"""gateway: the public REST API (/v1) as a BentoML service mounting the FastAPI app.

Run: `bentoml serve service:GatewayService --working-dir services/gateway --port 3000`. Settings: env
MUSECHAT_GATEWAY_* (see musechat.gateway.settings). BentoML serves /livez, /readyz and /metrics beside it.
"""

from __future__ import annotations

import gc

import bentoml

from musechat.gateway.app import create_app
from musechat.gateway.settings import GatewayServerSettings, GatewaySettings

app = create_app()
server = GatewayServerSettings()


@bentoml.service(name="gateway", workers=1, traffic={"timeout": 60},
                 logging={"access": {"enabled": server.access_log}},
                 tracing=server.tracing())
@bentoml.asgi_app(app, path="/")
class GatewayService:
    def __init__(self) -> None:
        from musechat.gateway.runtime import build_runtime

        self.runtime = build_runtime(GatewaySettings())
        app.state.context = self.runtime.context
        # What start-up loaded (~450k objects: torch, transformers, the models) is never garbage again; a
        # full collection scanning it would stall every in-flight request for ~0.3 s.
        gc.collect()
        gc.freeze()

    @bentoml.on_shutdown
    def close(self) -> None:
        self.runtime.close()
