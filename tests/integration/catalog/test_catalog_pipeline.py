"""The catalog pipeline through the real broker (Tansu), the real music encoder and real Qdrant engines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from musechat.bus import read_topic
from musechat.catalog.embedded import embedded_catalog_stack
from musechat.catalog.encoder_client import InProcessMusicEncoder
from musechat.catalog.runtime import await_outcomes, catalog_stats, publish_ingest
from musechat.catalog.track_features import read_track_features
from musechat.contracts.catalog import TRACK_FEATURES_COLLECTION, TRACKS_COLLECTION, TrackPayload
from musechat.contracts.topics import Topic, dlq_topic
from musechat.store.settings import StoreSettings

pytestmark = pytest.mark.integration


def _manifest_ids(root: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (root / "manifest.jsonl").read_text().splitlines()]


def test_200_tracks_through_kafka_into_qdrant_edge_then_reingest_adds_nothing(
    catalog_200: Path, music_encoder: InProcessMusicEncoder, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(catalog_200, catalog)
    (catalog / "audio" / "zz-corrupt.mp3").write_bytes(b"ID3\x03\x00" + b"\x17garbage" * 500)
    ids = _manifest_ids(catalog)
    assert len(ids) == 200

    with embedded_catalog_stack(tmp_path / "state", encoder=music_encoder) as stack:
        first = await_outcomes(stack.bus, publish_ingest(catalog, stack.producer), timeout_s=900, progress=False)
        assert first.missing == set()
        assert sorted(first.indexed) == sorted(ids)
        assert set(first.indexed.values()) == {"created"}
        [(corrupt_id, reason)] = first.failed.items()
        assert "corrupt" in reason and "zz-corrupt.mp3" in reason
        assert stack.store.count(TRACKS_COLLECTION) == 200

        points = stack.store.retrieve(TRACKS_COLLECTION, ids)
        assert len(points) == 200
        features = read_track_features(stack.store, ids, tracks_collection=None)  # the feature collection only
        assert stack.store.count(TRACK_FEATURES_COLLECTION) == 200
        for point in points:
            payload = TrackPayload.model_validate(point.payload)
            assert payload.tags, f"{point.id} has no tags"
            assert "features" not in point.payload  # out of the hot payload
            assert features[point.id].features.nbytes <= 64 * 1024
            assert features[point.id].feature_model == payload.feature_model
            assert payload.index_model.startswith("fixed-projection-v1")

        dead = read_topic(stack.bus.bootstrap_servers, dlq_topic(Topic.TRACK_SUBMITTED, "catalog-worker"))
        assert [record.key for record in dead] == [corrupt_id.encode()]
        headers = dict(dead[0].headers)
        assert b"corrupt" in headers["dlq_error_message"]
        assert headers["dlq_origin_topic"] == Topic.TRACK_SUBMITTED.value.encode()

        second = await_outcomes(stack.bus, publish_ingest(catalog, stack.producer), timeout_s=900, progress=False)
        assert set(second.indexed.values()) == {"unchanged"} and len(second.indexed) == 200
        assert stack.store.count(TRACKS_COLLECTION) == 200
        stats = catalog_stats(stack.store, stack.bus)
        assert stats["tracks"] == 200
        assert stats["dlq"][dlq_topic(Topic.TRACK_SUBMITTED, "catalog-worker")] == 2  # one per ingest run


def test_bad_inputs_never_stop_the_rest_on_the_qdrant_client_backend(
    catalog_200: Path, music_encoder: InProcessMusicEncoder, tmp_path: Path
) -> None:
    """Same path with the Qdrant-server backend (qdrant-client local mode); every failure kind has a reason."""
    source = catalog_200 / "audio"
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    good = sorted(source.iterdir())[:4]
    (catalog / "empty.wav").write_bytes(b"")
    (catalog / "notes.txt").write_text("not audio at all")
    lines = [json.dumps({"id": f"ok-{i}", "title": f"Good {i}", "artist": "A", "audio_path": str(path)})
             for i, path in enumerate(good)]
    lines += [
        json.dumps({"id": "gone", "title": "Gone", "artist": "A", "audio_path": "missing/nowhere.flac"}),
        json.dumps({"id": "empty", "title": "Empty", "artist": "A", "audio_path": "empty.wav"}),
        json.dumps({"id": "text", "title": "Text", "artist": "A", "audio_path": "notes.txt"}),
        "{this is not json",
        json.dumps({"id": "noartist", "title": "No artist", "audio_path": "empty.wav"}),
    ]
    (catalog / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    store = StoreSettings(backend="qdrant", path=tmp_path / "qdrant-local")
    with embedded_catalog_stack(tmp_path / "state", encoder=music_encoder, store_settings=store) as stack:
        summary = await_outcomes(stack.bus, publish_ingest(catalog, stack.producer), timeout_s=600, progress=False)
        assert sorted(summary.indexed) == [f"ok-{i}" for i in range(4)]
        assert stack.store.count(TRACKS_COLLECTION) == 4
    reasons = summary.failed
    assert "not_found" in reasons["gone"]
    assert "empty_file" in reasons["empty"]
    assert "unsupported_format" in reasons["text"]
    assert "missing artist" in reasons["noartist"]
    assert any("not JSON" in reason for reason in reasons.values())
    assert len(reasons) == 5
    lines_out = summary.lines()
    assert lines_out[0].startswith("4 indexed (4 created), 5 failed")
