import json
from pathlib import Path

import pytest

from musechat.catalog.manifest import derived_track_id, discover

pytestmark = pytest.mark.unit


def _write(path: Path, data: bytes = b"RIFF....") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_manifest_lines_become_submissions_with_relative_paths_resolved(tmp_path: Path) -> None:
    _write(tmp_path / "audio" / "a.wav", b"aaa")
    (tmp_path / "manifest.jsonl").write_text(json.dumps(
        {"id": "t1", "title": "Deliverer", "artist": "Weston Skaggs", "album": "X", "licence": "CC0-1.0",
         "audio_path": "audio/a.wav"}) + "\n\n")
    [submission] = list(discover(tmp_path, "b1"))
    assert submission.problem is None
    validated = submission.validated()
    assert validated is not None
    assert validated.track.track_id == "t1"
    assert validated.audio_path == str(tmp_path / "audio" / "a.wav")
    assert validated.content_sha256 is not None and len(validated.content_sha256) == 64


def test_malformed_lines_never_stop_the_rest_and_say_what_is_wrong(tmp_path: Path) -> None:
    _write(tmp_path / "ok.wav")
    manifest = tmp_path / "catalog.jsonl"
    manifest.write_text("\n".join([
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"id": "t2", "title": "No artist", "audio_path": "ok.wav"}),
        json.dumps({"id": "t3", "title": "T", "artist": "A", "audio_path": "ok.wav", "genre": "rock"}),
        json.dumps({"id": "t4", "title": "Fine", "artist": "A", "audio_path": "ok.wav"}),
        json.dumps({"id": "t5", "title": "Gone", "artist": "A", "audio_path": "missing.wav"}),
    ]) + "\n")
    submissions = list(discover(manifest, "b1"))
    problems = [s.problem for s in submissions]
    assert len(submissions) == 6
    assert problems[0] is not None and "not JSON" in problems[0]
    assert problems[1] is not None and "expected a JSON object" in problems[1]
    assert problems[2] is not None and "missing artist" in problems[2]
    assert problems[3] is not None and "unknown fields genre" in problems[3]
    assert problems[4] is None and problems[5] is None  # a missing file is the worker's to report
    assert submissions[5].data["content_sha256"] is None
    assert all(s.data["batch_id"] == "b1" for s in submissions)


def test_folder_files_not_in_manifest_get_content_derived_ids_and_hidden_files_are_skipped(tmp_path: Path) -> None:
    _write(tmp_path / "Night_Drive-final.mp3", b"same bytes")
    _write(tmp_path / "copy" / "again.mp3", b"same bytes")
    _write(tmp_path / ".DS_Store", b"junk")
    subs = list(discover(tmp_path, "b"))
    assert len(subs) == 2
    assert subs[0].subject == subs[1].subject  # same bytes, same track id: re-ingesting a copy adds nothing
    titles = {s.data["track"]["title"] for s in subs}
    assert "Night Drive final" in titles


def test_missing_path_raises_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(discover(tmp_path / "nope", "b"))


def test_derived_ids_are_stable_and_valid() -> None:
    assert derived_track_id(Path("x.wav"), "ab" * 32) == "trk-" + ("ab" * 32)[:20]
