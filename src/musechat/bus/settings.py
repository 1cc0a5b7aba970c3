"""Typed Kafka settings shared by every producer and consumer (env prefix MUSECHAT_BUS_)."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BusSettings(BaseSettings):
    """Connection, retry and group-membership settings for the event bus.

    The group timeouts default to small values because Tansu (the embedded dev/CI broker) holds a
    JoinGroup open for the whole rebalance timeout (= `max_poll_interval_ms`): with Kafka's 300 s
    default a consumer takes 20 s+ to join, with 6 s about 3 s. On a real Kafka cluster with slow
    handlers raise `max_poll_interval_ms`: it must exceed the time one poll's records take, retries
    and backoff included (see docs/event-bus.md).
    """

    model_config = SettingsConfigDict(env_prefix="MUSECHAT_BUS_", extra="ignore")

    bootstrap_servers: str = Field(default="127.0.0.1:19092", description="Comma-separated host:port list.")
    client_id: str = "musechat"
    max_attempts: int = Field(default=4, ge=1, description="Handler attempts per record before the DLQ.")
    backoff_initial_s: float = Field(default=0.2, ge=0.0, description="Backoff before the 2nd attempt.")
    backoff_max_s: float = Field(default=5.0, ge=0.0, description="Cap on one backoff delay.")
    session_timeout_ms: int = Field(default=6000, gt=0)
    heartbeat_interval_ms: int = Field(default=1000, gt=0)
    max_poll_interval_ms: int = Field(default=6000, gt=0)
    max_poll_records: int = Field(default=50, ge=1, description="Records handed out per poll.")
    poll_timeout_ms: int = Field(default=500, gt=0, description="Longest poll wait; bounds stop latency.")
    request_timeout_ms: int = Field(default=30000, gt=0)
    publish_timeout_s: float = Field(default=30.0, gt=0.0, description="Wait for broker acks in publish().")
    max_block_ms: int = Field(default=60000, gt=0, description="Longest a send blocks for topic metadata "
                              "(while the broker is away); the outbox relay uses a few seconds.")

    @model_validator(mode="after")
    def _check_timeouts(self) -> BusSettings:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError(
                f"backoff_max_s ({self.backoff_max_s}) must be >= "
                f"backoff_initial_s ({self.backoff_initial_s})"
            )
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise ValueError(
                f"heartbeat_interval_ms ({self.heartbeat_interval_ms}) must be < session_timeout_ms "
                f"({self.session_timeout_ms}), or the group evicts live members"
            )
        return self

    @property
    def bootstrap_list(self) -> list[str]:
        servers = [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]
        if not servers:
            raise ValueError("bootstrap_servers is empty; expected 'host:port[,host:port...]'")
        return servers

    def for_slow_handlers(self, max_poll_records: int, max_poll_interval_ms: int) -> BusSettings:
        """A copy for consumers whose records take seconds each (encoders): fewer records per poll and a
        longer allowance between polls, so the group does not evict a busy member mid-batch."""
        return self.model_copy(update={"max_poll_records": max_poll_records,
                                       "max_poll_interval_ms": max_poll_interval_ms})
