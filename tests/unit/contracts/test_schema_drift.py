"""schemas/ is generated from the pydantic contracts and the BentoML service definitions; a contract change
that is not re-exported (`musechat schemas export`) fails here, so the diff shows up in review."""

from pathlib import Path

import pytest

from musechat.contracts.schema_export import check_schemas, event_schemas

pytestmark = pytest.mark.unit
SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def test_committed_schemas_match_the_code() -> None:
    assert check_schemas(SCHEMAS) == []


def test_every_topic_with_a_payload_has_an_envelope_schema() -> None:
    for name, schema in event_schemas().items():
        assert name.startswith("events/musechat.") and name.endswith(".v1.json")
        assert set(schema["required"]) >= {"type", "source", "subject", "data"}


def test_drift_is_reported_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "musechat.catalog.track-submitted.v1.json").write_text("{}\n")
    (tmp_path / "events" / "gone.json").write_text("{}\n")
    problems = check_schemas(tmp_path)
    assert any(p.startswith("drifted") and "musechat schemas export" in p for p in problems)
    assert any(p.startswith("stale") and "gone.json" in p for p in problems)
    assert any(p.startswith("missing") for p in problems)
