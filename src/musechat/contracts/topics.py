"""Versioned Kafka topic names. A breaking payload change means a new topic version, never an edit."""

from __future__ import annotations

from enum import StrEnum

DLQ_SUFFIX = ".dlq"


class Topic(StrEnum):
    TRACK_SUBMITTED = "musechat.catalog.track-submitted.v1"
    TRACK_ENCODED = "musechat.catalog.track-encoded.v1"
    TRACK_INDEXED = "musechat.catalog.track-indexed.v1"
    VIDEO_SUBMITTED = "musechat.video.submitted.v1"
    VIDEO_ENCODED = "musechat.video.encoded.v1"
    CONVERSATION_TURN = "musechat.conversation.turn.v1"
    FEEDBACK = "musechat.conversation.feedback.v1"
    MODEL_PUBLISHED = "musechat.model.published.v1"

    @property
    def event_type(self) -> str:
        """CloudEvents `type`: the topic name without its version suffix."""
        return self.value.rsplit(".", 1)[0]


def dlq_topic(topic: str, consumer_group: str) -> str:
    """One dead-letter topic per (topic, consumer) pair, so one consumer's poison never blocks another."""
    return f"{topic}.{consumer_group}{DLQ_SUFFIX}"
