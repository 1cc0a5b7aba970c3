"""Typed Kafka settings shared by every producer and consumer (env prefix MUSECHAT_BUS_)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

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
                              "(while the broker is away); the outbox relay uses a few seconds. Also bounds "
                              "every client's bootstrap: see `bootstrap_timeout_ms`.")

    # Strimzi's TLS listener with SCRAM-SHA-512: the KafkaUser's Secret holds the password (mounted as
    # a file, so it never sits in the pod spec) and the cluster CA Secret the certificate to trust.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] | None = None
    sasl_username: str | None = None
    sasl_password_file: Path | None = Field(default=None, description="File holding the SASL password.")
    ssl_cafile: Path | None = Field(default=None, description="PEM CA bundle that signed the brokers.")

    @model_validator(mode="after")
    def _check_security(self) -> BusSettings:
        uses_sasl = self.security_protocol.startswith("SASL_")
        if uses_sasl and not (self.sasl_mechanism and self.sasl_username and self.sasl_password_file):
            raise ValueError(
                f"security_protocol {self.security_protocol} needs sasl_mechanism, sasl_username and "
                "sasl_password_file"
            )
        if not uses_sasl and (self.sasl_mechanism or self.sasl_username or self.sasl_password_file):
            raise ValueError(f"SASL settings given but security_protocol is {self.security_protocol}")
        if self.ssl_cafile is not None and not self.security_protocol.endswith("SSL"):
            raise ValueError(f"ssl_cafile given but security_protocol is {self.security_protocol}")
        return self

    def client_security_config(self) -> dict[str, Any]:
        """kafka-python keyword arguments for the configured protocol; the password file is read here,
        at client creation, so a rotated KafkaUser Secret is picked up by the next client."""
        config: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.ssl_cafile is not None:
            config["ssl_cafile"] = str(self.ssl_cafile)
        if self.sasl_password_file is not None:
            try:
                password = self.sasl_password_file.read_text().strip()
            except OSError as exc:
                raise ValueError(f"cannot read sasl_password_file {self.sasl_password_file}: {exc}") from exc
            config.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username,
                          sasl_plain_password=password)
        return config

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

    @property
    def bootstrap_timeout_ms(self) -> int:
        """How long a producer or consumer tries to reach a broker when it is built before it gives up with
        `BusBootstrapError`: min(30 s, max_block_ms), so a misconfigured pod fails in bounded time."""
        return min(30000, self.max_block_ms)

    def for_slow_handlers(self, max_poll_records: int, max_poll_interval_ms: int) -> BusSettings:
        """A copy for consumers whose records take seconds each (encoders): fewer records per poll and a
        longer allowance between polls, so the group does not evict a busy member mid-batch."""
        return self.model_copy(update={"max_poll_records": max_poll_records,
                                       "max_poll_interval_ms": max_poll_interval_ms})
