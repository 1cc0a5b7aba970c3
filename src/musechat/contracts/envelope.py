"""One versioned event envelope for every Kafka message (CloudEvents 1.0 attributes, JSON data).

The Kafka record key is always `subject` (the entity id) so one entity's events stay ordered within a
partition; consumers dedupe on `id`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ENVELOPE_SCHEMA_VERSION = 1

PayloadT = TypeVar("PayloadT", bound=BaseModel)


class EventEnvelope(BaseModel, Generic[PayloadT]):
    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), description="Unique event id; dedupe key.")
    type: str = Field(description="Event type, e.g. musechat.catalog.track-submitted.")
    source: str = Field(description="Producer, e.g. musechat/catalog-worker.")
    subject: str = Field(description="Entity id; also the Kafka record key.")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: Literal["application/json"] = "application/json"
    schemaversion: int = Field(default=ENVELOPE_SCHEMA_VERSION, description="Envelope + payload version.")
    data: PayloadT

    def key(self) -> bytes:
        return self.subject.encode()

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def parse_envelope(raw: bytes) -> EventEnvelope[Any]:
    """Parse the envelope leaving `data` as a plain dict; handlers validate it against their payload model."""
    return EventEnvelope[Any].model_validate_json(raw)
