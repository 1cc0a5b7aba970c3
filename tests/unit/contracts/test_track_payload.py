"""The `tracks` payload's derived `vocals` flag (what the "no vocals" filter matches)."""

from __future__ import annotations

import pytest

from musechat.contracts.catalog import VOCAL_TAGS, TrackPayload, has_vocals
from musechat.contracts.features import FeatureMatrix

pytestmark = pytest.mark.unit


def _payload(**fields: object) -> dict[str, object]:
    return {"track_id": "trk-1", "title": "T", "artist": "A", "duration_s": 60.0, "tag_scores": [],
            "features": FeatureMatrix(shape=(1, 1), data_b64="AAA=").model_dump(), "feature_model": "m",
            "index_model": "i", **fields}


@pytest.mark.parametrize(("tags", "expected"), [
    (["rock", "male vocals"], True), (["choir"], True), (["piano", "no vocals"], False), ([], False),
])
def test_vocals_is_derived_from_the_tags(tags: list[str], expected: bool) -> None:
    assert has_vocals(tags) is expected
    assert TrackPayload.model_validate(_payload(tags=tags)).vocals is expected  # a payload stored before the flag


def test_a_stored_flag_is_kept_and_round_trips() -> None:
    payload = TrackPayload.model_validate(_payload(tags=["rock"], vocals=True))
    assert payload.vocals is True
    assert TrackPayload.model_validate(payload.model_dump(mode="json")) == payload
    assert "no vocals" not in VOCAL_TAGS  # the tag that means instrumental
