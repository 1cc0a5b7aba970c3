"""Pure helpers of the store: ids, names, models, filter translation, the alias file, settings."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from musechat.store import (
    CollectionSpec,
    MatchAny,
    MatchValue,
    PayloadIndexKind,
    PointRecord,
    Range,
    SearchFilter,
    StoreError,
    StoreSettings,
    point_uuid,
)
from musechat.store.aliases import AliasFile
from musechat.store.base import check_vectors, entity_id_of, public_payload, validate_name
from musechat.store.filters import decode_edge_bools, encode_edge_bools, to_edge_filter, to_qdrant_filter

pytestmark = pytest.mark.unit


def test_point_uuid_is_deterministic_and_distinct() -> None:
    a = point_uuid("trk_abc")
    assert a == point_uuid("trk_abc")
    assert uuid.UUID(a).version == 5
    assert a != point_uuid("trk_abd")
    # Pinned: changing the namespace would silently re-key every stored point.
    assert a == str(uuid.uuid5(uuid.UUID("8f3b6c1e-2d4a-5b7c-9e0f-1a2b3c4d5e6f"), "trk_abc"))
    with pytest.raises(ValueError, match="non-empty"):
        point_uuid("")


@pytest.mark.parametrize("name", ["tracks", "tracks_v2", "t-1.b", "9lives"])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "../etc", "a/b", "_hidden", ".x", "x" * 65, "spa ce"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(ValueError, match="invalid collection name"):
        validate_name(name)


def test_collection_spec_validation() -> None:
    spec = CollectionSpec(name="tracks", vectors={"music": 256}, payload_indexes={"genre": "keyword"})
    assert spec.payload_indexes["genre"] is PayloadIndexKind.KEYWORD
    records = CollectionSpec(name="track_features", vectors={}, payload_on_disk=True)  # records only
    assert records.vectors == {} and records.payload_on_disk is True
    assert CollectionSpec.model_validate_json('{"name": "t", "vectors": {"m": 4}}').payload_on_disk is None
    with pytest.raises(ValidationError, match="dimension"):
        CollectionSpec(name="tracks", vectors={"music": 0})
    with pytest.raises(ValidationError, match="reserved"):
        CollectionSpec(name="tracks", vectors={"music": 4}, payload_indexes={"_entity_id": "keyword"})
    with pytest.raises(ValidationError, match="invalid collection name"):
        CollectionSpec(name="a/b", vectors={"music": 4})


def test_point_record_rejects_reserved_payload_key() -> None:
    with pytest.raises(ValidationError, match="reserved"):
        PointRecord(id="t", vectors={"m": [1.0]}, payload={"_entity_id": "other"})


def test_filter_models() -> None:
    with pytest.raises(ValidationError, match="gte and/or lte"):
        Range(key="year")
    with pytest.raises(ValidationError, match="empty"):
        Range(key="year", gte=3, lte=2)
    with pytest.raises(ValidationError):
        MatchAny(key="genre", values=[])
    with pytest.raises(ValidationError, match="exclude_ids"):
        SearchFilter(must=[MatchValue(key="_entity_id", value="x")])
    # Conditions round-trip through JSON (the ranker receives filters over HTTP).
    flt = SearchFilter(must=[MatchValue(key="vocals", value=True), Range(key="bpm", lte=90)])
    again = SearchFilter.model_validate_json(flt.model_dump_json())
    assert again == flt
    assert again.must[0] == MatchValue(key="vocals", value=True)
    assert isinstance(again.must[1], Range)


def test_check_vectors() -> None:
    dims = {"audio": 3, "text": 2}
    check_vectors("c", dims, {"audio": [0.0, 1.0, 2.0]})
    with pytest.raises(ValueError, match="unknown vector 'video'"):
        check_vectors("c", dims, {"video": [0.0]})
    with pytest.raises(ValueError, match="'text' must have 2 dimensions, got 3"):
        check_vectors("c", dims, {"text": [0.0, 1.0, 2.0]})
    check_vectors("c", dims, {})  # a vector-less status record is allowed


def test_payload_helpers() -> None:
    stored = {"_entity_id": "trk_1", "genre": "rock"}
    assert public_payload(stored) == {"genre": "rock"}
    assert entity_id_of(stored, "uuid") == "trk_1"
    with pytest.raises(StoreError, match="not written through this store"):
        entity_id_of({"genre": "rock"}, "uuid")


def test_edge_bool_encoding_round_trips() -> None:
    payload = {"vocals": True, "explicit": False, "genre": "pop", "count": 3}
    stored = encode_edge_bools(payload, {"vocals", "explicit", "missing"})
    assert stored == {"vocals": 1, "explicit": 0, "genre": "pop", "count": 3}
    assert decode_edge_bools(stored, {"vocals", "explicit"}) == payload
    with pytest.raises(ValueError, match="indexed as bool"):
        encode_edge_bools({"vocals": "yes"}, {"vocals"})


def test_edge_filter_translation() -> None:
    flt = SearchFilter(
        must=[MatchValue(key="vocals", value=True), MatchAny(key="genre", values=["a", "b"])],
        must_not=[Range(key="year", gte=2000)],
    )
    text = repr(to_edge_filter(flt, [point_uuid("trk_1")], bool_keys={"vocals"}))
    assert 'key="vocals", r#match=MatchValue(value=1)' in text
    assert 'MatchAny(value=["a", "b"])' in text
    assert "RangeFloat" in text and "2000" in text
    assert point_uuid("trk_1") in text
    assert to_edge_filter(None) is None
    assert to_edge_filter(SearchFilter()) is None
    with pytest.raises(ValueError, match=r"declared as PayloadIndexKind\.BOOL"):
        to_edge_filter(SearchFilter(must=[MatchValue(key="vocals", value=True)]))


def test_qdrant_filter_translation() -> None:
    from qdrant_client import models as m

    flt = SearchFilter(
        must=[MatchValue(key="vocals", value=False)], must_not=[MatchAny(key="id", values=[1, 2])]
    )
    out = to_qdrant_filter(flt, [point_uuid("trk_1")])
    assert out == m.Filter(
        must=[m.FieldCondition(key="vocals", match=m.MatchValue(value=False))],
        must_not=[
            m.FieldCondition(key="id", match=m.MatchAny(any=[1, 2])),
            m.HasIdCondition(has_id=[point_uuid("trk_1")]),
        ],
    )
    assert to_qdrant_filter(None) is None


def test_alias_file(tmp_path: Path) -> None:
    aliases = AliasFile(tmp_path / "aliases.json")
    assert aliases.read() == {}
    assert aliases.set("tracks", "tracks_v1") == {"tracks": "tracks_v1"}
    # A second handle (another process) sees the flip at once.
    other = AliasFile(tmp_path / "aliases.json")
    aliases.set("tracks", "tracks_v2")
    aliases.set("videos", "videos_v1")
    assert other.read() == {"tracks": "tracks_v2", "videos": "videos_v1"}
    assert json.loads((tmp_path / "aliases.json").read_text()) == other.read()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".aliases")] == []  # no temp leftovers
    (tmp_path / "aliases.json").write_text("[1, 2]")
    with pytest.raises(StoreError, match="JSON object"):
        other.read()
    (tmp_path / "aliases.json").write_text("{broken")
    with pytest.raises(StoreError, match="not valid JSON"):
        other.read()


def test_store_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MUSECHAT_STORE_BACKEND", "MUSECHAT_STORE_URL", "MUSECHAT_STORE_PATH"):
        monkeypatch.delenv(var, raising=False)
    assert StoreSettings().backend == "edge"
    monkeypatch.setenv("MUSECHAT_STORE_BACKEND", "qdrant")
    monkeypatch.setenv("MUSECHAT_STORE_URL", "http://qdrant:6333")
    s = StoreSettings()
    assert (s.backend, s.url) == ("qdrant", "http://qdrant:6333")
    with pytest.raises(ValidationError, match="only used with MUSECHAT_STORE_BACKEND=qdrant"):
        StoreSettings(backend="edge", url="http://qdrant:6333")
    with pytest.raises(ValidationError, match="persists to disk"):
        StoreSettings(backend="edge", url=None, path=Path(":memory:"))
