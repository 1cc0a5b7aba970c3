"""Pure parts of the bus: settings validation, CloudEvents headers, DLQ headers, payload decoding."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from musechat.bus.consumer import DeadLetterReason, PermanentError, decode_payload, dlq_headers
from musechat.bus.producer import cloudevent_headers
from musechat.bus.settings import BusSettings
from musechat.contracts.envelope import EventEnvelope, parse_envelope

pytestmark = pytest.mark.unit


class Track(BaseModel):
    track_id: str
    duration_s: float


def test_settings_read_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSECHAT_BUS_BOOTSTRAP_SERVERS", "kafka-0:9092, kafka-1:9092")
    monkeypatch.setenv("MUSECHAT_BUS_MAX_ATTEMPTS", "7")
    s = BusSettings()
    assert s.bootstrap_list == ["kafka-0:9092", "kafka-1:9092"]
    assert s.max_attempts == 7


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backoff_initial_s": 2.0, "backoff_max_s": 1.0}, "backoff_max_s"),
        ({"heartbeat_interval_ms": 6000, "session_timeout_ms": 6000}, "heartbeat_interval_ms"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_settings_reject_inconsistent_values(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        BusSettings.model_validate(kwargs)


def test_empty_bootstrap_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="bootstrap_servers is empty"):
        _ = BusSettings(bootstrap_servers=" , ").bootstrap_list


def test_cloudevent_headers_mirror_the_envelope() -> None:
    event = EventEnvelope[Track](
        type="musechat.catalog.track-submitted",
        source="musechat/tests",
        subject="trk-1",
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        data=Track(track_id="trk-1", duration_s=12.5),
    )
    headers = dict(cloudevent_headers(event))
    assert headers["ce_id"] == event.id.encode()
    assert headers["ce_type"] == b"musechat.catalog.track-submitted"
    assert headers["ce_source"] == b"musechat/tests"
    assert headers["ce_subject"] == b"trk-1"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_time"] == b"2026-01-02T03:04:05+00:00"
    assert headers["content-type"] == b"application/cloudevents+json"
    # The value round-trips through the parser consumers use.
    assert parse_envelope(event.to_bytes()).data == {"track_id": "trk-1", "duration_s": 12.5}


def test_dlq_headers_keep_originals_and_replace_stale_dlq_headers() -> None:
    failed_at = datetime(2026, 1, 1, tzinfo=UTC)
    original = [("ce_id", b"e1"), ("dlq_reason", b"exhausted"), ("dlq_attempts", b"4")]
    headers = dlq_headers(
        original,
        topic="t.v1",
        partition=2,
        offset=41,
        group_id="indexer",
        error=PermanentError("corrupt mp3"),
        reason=DeadLetterReason.PERMANENT,
        attempts=1,
        failed_at=failed_at,
    )
    assert [k for k, _ in headers].count("dlq_reason") == 1
    as_dict = dict(headers)
    assert as_dict == {
        "ce_id": b"e1",
        "dlq_reason": b"permanent",
        "dlq_error_type": b"musechat.bus.consumer.PermanentError",
        "dlq_error_message": b"corrupt mp3",
        "dlq_origin_topic": b"t.v1",
        "dlq_origin_partition": b"2",
        "dlq_origin_offset": b"41",
        "dlq_consumer_group": b"indexer",
        "dlq_attempts": b"1",
        "dlq_failed_at": b"2026-01-01T00:00:00+00:00",
    }


def test_dlq_error_message_is_truncated_and_builtin_types_unqualified() -> None:
    headers = dict(
        dlq_headers(
            [],
            topic="t",
            partition=0,
            offset=0,
            group_id="g",
            error=RuntimeError("x" * 10_000),
            reason=DeadLetterReason.EXHAUSTED,
            attempts=4,
            failed_at=datetime.now(UTC),
        )
    )
    assert headers["dlq_error_type"] == b"RuntimeError"
    assert len(headers["dlq_error_message"]) == 4096


def test_decode_payload_validates_and_mismatch_is_permanent() -> None:
    event = EventEnvelope[Track](type="t", source="s", subject="k", data=Track(track_id="a", duration_s=1))
    good = parse_envelope(event.to_bytes())
    assert decode_payload(good, Track) == Track(track_id="a", duration_s=1.0)
    bad = parse_envelope(b'{"type": "t", "source": "s", "subject": "k", "data": {"track_id": 3}}')
    with pytest.raises(PermanentError, match="does not match Track"):
        decode_payload(bad, Track)


@pytest.mark.parametrize("raw", [b"not json", b'{"foo": 1}', b'{"type": "t", "source": "s", "subject": "k"}'])
def test_parse_envelope_rejects_non_envelopes(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_envelope(raw)
