"""Where the gateway's events go: the durable outbox (`bus/outbox.py`), relayed to Kafka by a thread.

The turn path writes a row and answers; the relay publishes with its own producer and replaces it when
it keeps failing (a broker restart). With embedded workers (the single-machine mode, the bundled broker
that forgets its topics on a restart) the relay also re-creates the topics it publishes to.
"""

from __future__ import annotations

from contextlib import ExitStack

from musechat.bus import EventProducer, ensure_topics
from musechat.bus.outbox import Outbox
from musechat.gateway.request_id import event_headers
from musechat.gateway.settings import GatewaySettings

# The relay's producer fails fast while the broker is away, so its backoff and reset loop runs often.
_RELAY_TIMEOUT_S = 5.0


def open_outbox(settings: GatewaySettings, resources: ExitStack) -> Outbox:
    bus = settings.bus.model_copy(update={"publish_timeout_s": min(settings.bus.publish_timeout_s, _RELAY_TIMEOUT_S),
                                          "max_block_ms": int(_RELAY_TIMEOUT_S * 1000),
                                          "client_id": f"{settings.bus.client_id}-outbox"})

    def recreate_topics(topics: list[str]) -> None:
        ensure_topics(bus.bootstrap_servers, topics, timeout_s=_RELAY_TIMEOUT_S)

    outbox = Outbox(settings.outbox_path, lambda: EventProducer(bus),
                    backoff_initial_s=settings.bus.backoff_initial_s, backoff_max_s=settings.bus.backoff_max_s,
                    recover=recreate_topics if settings.embedded_workers else None, headers=event_headers)
    resources.callback(outbox.close, settings.outbox_drain_s)
    return outbox.start()
