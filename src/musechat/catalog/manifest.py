"""Turn an ingest PATH (a folder of audio files and/or a JSONL manifest) into track submissions.

Nothing here stops on bad input: every line or file becomes a submission, and the ones that cannot be
valid carry their problem so the catalog worker dead-letters them with a readable reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from musechat.contracts.catalog import TrackSubmitted

MANIFEST_NAMES = ("manifest.jsonl", "catalog.jsonl")
MANIFEST_FIELDS = ("id", "title", "artist", "album", "licence", "audio_path")


@dataclass(frozen=True)
class Submission:
    """One thing to publish: the event data, its key, and where it came from (for the CLI summary)."""

    subject: str
    data: dict[str, Any]
    origin: str
    problem: str | None = None

    def validated(self) -> TrackSubmitted | None:
        try:
            return TrackSubmitted.model_validate(self.data)
        except ValidationError:
            return None


def file_sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


def derived_track_id(path: Path, content_sha256: str | None) -> str:
    """Same bytes → same id, wherever the file lies; unreadable files fall back to their path."""
    basis = content_sha256 or hashlib.sha256(str(path.resolve()).encode()).hexdigest()
    return f"trk-{basis[:20]}"


def title_from_filename(path: Path) -> str:
    return re.sub(r"[_\-]+", " ", path.stem).strip() or path.name


def _submission(track: dict[str, Any], audio_path: Path, batch_id: str, origin: str) -> Submission:
    sha = file_sha256(audio_path)
    track_id = str(track.get("track_id") or derived_track_id(audio_path, sha))
    track = {**track, "track_id": track_id}
    data = {"track": track, "audio_path": str(audio_path), "content_sha256": sha, "batch_id": batch_id}
    problem = None
    try:
        TrackSubmitted.model_validate(data)
    except ValidationError as error:
        problem = "invalid track metadata: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
        )
    return Submission(subject=track_id, data=data, origin=origin, problem=problem)


def _manifest_line(line: str, base: Path, batch_id: str, origin: str) -> Submission:
    fallback_subject = "manifest-" + hashlib.sha256(origin.encode()).hexdigest()[:16]
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        return Submission(fallback_subject, {"raw_line": line[:2000], "batch_id": batch_id}, origin,
                          f"malformed manifest line (not JSON: {error.msg} at column {error.colno})")
    if not isinstance(record, dict):
        return Submission(fallback_subject, {"raw_line": line[:2000], "batch_id": batch_id}, origin,
                          "malformed manifest line (expected a JSON object)")
    unknown = sorted(set(record) - set(MANIFEST_FIELDS))
    missing = [field for field in ("title", "artist", "audio_path") if not record.get(field)]
    if unknown or missing or not isinstance(record.get("audio_path", ""), str):
        reasons = []
        if missing:
            reasons.append("missing " + ", ".join(missing))
        if unknown:
            reasons.append("unknown fields " + ", ".join(unknown) + f" (allowed: {', '.join(MANIFEST_FIELDS)})")
        subject = str(record.get("id") or fallback_subject)
        return Submission(subject, {"raw_line": line[:2000], "batch_id": batch_id}, origin,
                          "malformed manifest line: " + "; ".join(reasons or ["audio_path must be a string"]))
    audio_path = Path(record["audio_path"])
    if not audio_path.is_absolute():
        audio_path = base / audio_path
    track = {key: record[key] for key in ("title", "artist", "album", "licence") if record.get(key) is not None}
    if record.get("id"):
        track["track_id"] = record["id"]
    return _submission(track, audio_path, batch_id, origin)


def unlisted_track(path: Path) -> dict[str, Any]:
    """Metadata for a file no manifest line describes: the file's own tags (title, artist, album, genre)
    where it has them, else a title from the file name and an unknown artist."""
    from musechat.media.audio import read_embedded_tags

    embedded = read_embedded_tags(path)
    track: dict[str, Any] = {"title": embedded.get("title") or title_from_filename(path),
                             "artist": embedded.get("artist") or "Unknown artist"}
    for key in ("album", "genre"):
        if embedded.get(key):
            track[key] = embedded[key][:100] if key == "genre" else embedded[key]
    return track


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def discover(path: Path, batch_id: str) -> Iterator[Submission]:
    """Yield one submission per manifest line and per audio file the manifest does not already list."""
    if not path.exists():
        raise FileNotFoundError(f"ingest path {path} does not exist")
    manifests: list[Path]
    if path.is_file() and path.suffix == ".jsonl":
        manifests, folder = [path], None
    elif path.is_dir():
        manifests, folder = [path / name for name in MANIFEST_NAMES if (path / name).is_file()], path
    else:
        manifests, folder = [], None
        yield _submission(unlisted_track(path), path, batch_id, str(path))
        return
    listed: set[Path] = set()
    for manifest in manifests:
        with manifest.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                submission = _manifest_line(line, manifest.parent, batch_id, f"{manifest}:{number}")
                if "audio_path" in submission.data:
                    listed.add(Path(submission.data["audio_path"]).resolve())
                yield submission
    if folder is None:
        return
    # Every other visible file is submitted, not silently skipped: one that is not audio ends in the
    # DLQ as unsupported, which tells the catalog owner more than a file that vanished.
    for audio in sorted(p for p in folder.rglob("*") if p.is_file() and not _hidden(p, folder)):
        if audio.name in MANIFEST_NAMES or audio.resolve() in listed:
            continue
        yield _submission(unlisted_track(audio), audio, batch_id, str(audio))
