import base64

import numpy as np
import pytest
from pydantic import ValidationError

from musechat.contracts.envelope import EventEnvelope, parse_envelope
from musechat.contracts.features import FeatureMatrix
from musechat.contracts.topics import Topic, dlq_topic

pytestmark = pytest.mark.unit


def test_feature_matrix_round_trips_at_float16_precision_and_stays_compact() -> None:
    array = np.random.default_rng(0).standard_normal((12, 1024)).astype(np.float32)
    matrix = FeatureMatrix.from_array(array)
    assert matrix.nbytes == 12 * 1024 * 2
    assert len(matrix.model_dump_json()) < 64 * 1024
    np.testing.assert_allclose(matrix.to_array(), array, atol=2e-3, rtol=1e-3)


def test_feature_matrix_rejects_inconsistent_shape() -> None:
    with pytest.raises(ValidationError, match="needs"):
        FeatureMatrix(shape=(2, 3), data_b64=base64.b64encode(b"\0" * 10).decode())


def test_envelope_keys_by_subject_and_parses_back() -> None:
    from musechat.contracts.catalog import TrackIndexed

    event = EventEnvelope[TrackIndexed](
        type=Topic.TRACK_INDEXED.event_type, source="test", subject="t1",
        data=TrackIndexed(track_id="t1", outcome="created", collection="c", index_model="m", batch_id="b"),
    )
    assert event.key() == b"t1"
    parsed = parse_envelope(event.to_bytes())
    assert parsed.id == event.id and parsed.data["track_id"] == "t1"
    assert Topic.TRACK_INDEXED.event_type == "musechat.catalog.track-indexed"


def test_topics_are_versioned_and_dlqs_are_per_consumer() -> None:
    assert all(topic.value.endswith(".v1") for topic in Topic)
    assert dlq_topic(Topic.TRACK_SUBMITTED, "catalog-worker") == (
        "musechat.catalog.track-submitted.v1.catalog-worker.dlq")
