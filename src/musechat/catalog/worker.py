"""The catalog worker: track-submitted → music-encoder → track-encoded.

Failures that retrying cannot fix (bad metadata, corrupt or unsupported audio) raise PermanentError so
the bus dead-letters the original event with the reason; anything else (encoder unreachable) is retried.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from musechat.bus import EventProducer, PermanentError
from musechat.catalog.encoder_client import MusicEncoderClient
from musechat.contracts.catalog import TrackEncoded, TrackSubmitted
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.topics import Topic

SOURCE = "musechat/catalog-worker"
# The encoder's own failures may pass (memory pressure, a restarting GPU); bad media never will.
RETRYABLE_ENCODER_ERRORS = frozenset({"internal"})


def parse_submission(data: Any) -> TrackSubmitted:
    if isinstance(data, dict) and "raw_line" in data:
        raise PermanentError(str(data.get("problem") or "malformed manifest line"))
    try:
        return TrackSubmitted.model_validate(data)
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise PermanentError(f"invalid track-submitted payload: {details}") from error


class CatalogWorker:
    def __init__(self, encoder: MusicEncoderClient, producer: EventProducer) -> None:
        self._encoder = encoder
        self._producer = producer

    def handle(self, event: EventEnvelope[Any], *_context: Any) -> None:
        submission = parse_submission(event.data)
        [result] = self._encoder.encode_paths([submission.audio_path])
        if not result.ok or result.encoding is None:
            error = result.error
            reason = f"{error.code}: {error.message}" if error else "encoder returned no encoding"
            if error is not None and error.code in RETRYABLE_ENCODER_ERRORS:
                raise RuntimeError(f"encoder failed on {submission.audio_path}: {reason}")
            raise PermanentError(f"cannot encode {submission.audio_path}: {reason}")
        encoded = TrackEncoded(
            track=submission.track,
            encoding=result.encoding,
            content_sha256=submission.content_sha256,
            batch_id=submission.batch_id,
        )
        self._producer.publish(
            Topic.TRACK_ENCODED,
            EventEnvelope[TrackEncoded](
                id=f"track-encoded:{event.id}",  # derived, so a redelivered submission dedupes downstream
                type=Topic.TRACK_ENCODED.event_type,
                source=SOURCE,
                subject=submission.track.track_id,
                data=encoded,
            ),
        )
