"""One error base: every exception class of the package is a `MuseChatError` (status, code, message).

Why: the gateway maps that one type to its JSON error body with one handler, workers put `code` in DLQ
headers and the CLI prints `message`; an exception family on another base would fall through to a 500.
The walk is static (ast, through the package's own class names), so it sees every module without
importing torch; the pickling checks cover errors crossing the engine process's pipe.
"""

from __future__ import annotations

import ast
import builtins
import pickle
from pathlib import Path

import pytest

from musechat.encoders.sources import RequestError
from musechat.errors import EXIT_USAGE, CliError, MuseChatError
from musechat.media.errors import MediaTooLongError
from musechat.ranker.errors import RankingError, VideoNotFoundError

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "musechat"
BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)}


def class_bases(package: Path = PACKAGE) -> dict[str, tuple[set[str], str]]:
    """Class name -> (names of its bases, where it is defined), for every class in the package."""
    found: dict[str, tuple[set[str], str]] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = {b.id if isinstance(b, ast.Name) else b.attr for b in node.bases
                         if isinstance(b, ast.Name | ast.Attribute)}
                found[node.name] = (found.get(node.name, (set(), ""))[0] | names, f"{path.name}:{node.lineno}")
    return found


def reaches(name: str, target: str, bases: dict[str, tuple[set[str], str]], seen: set[str] | None = None) -> bool:
    seen = seen if seen is not None else set()
    if name == target:
        return True
    if name in seen or name not in bases:
        return False
    seen.add(name)
    return any(reaches(base, target, bases, seen) for base in bases[name][0])


def exception_classes(bases: dict[str, tuple[set[str], str]]) -> list[str]:
    return [name for name in bases if any(reaches(name, b, bases) for b in BUILTIN_EXCEPTIONS & _all_names(bases))]


def _all_names(bases: dict[str, tuple[set[str], str]]) -> set[str]:
    return {base for names, _ in bases.values() for base in names}


def test_every_exception_class_is_a_musechat_error() -> None:
    bases = class_bases()
    exceptions = exception_classes(bases)
    assert len(exceptions) > 30  # the walk found the families (media, ranking, store, bus, gateway, ...)
    stray = sorted(f"{name} ({bases[name][1]})" for name in exceptions
                   if name != "MuseChatError" and not reaches(name, "MuseChatError", bases))
    assert not stray, ("derive these from musechat.errors.MuseChatError (set `status` and `code`; keep a builtin "
                       "such as ValueError as a second base if callers catch it): " + ", ".join(stray))


def test_the_walk_finds_a_stray_family(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("class MuseChatError(Exception): ...\nclass Good(MuseChatError): ...\n"
                                   "class Bad(RuntimeError): ...\nclass Worse(Bad): ...\nclass Model(Base): ...\n")
    bases = class_bases(tmp_path)
    assert sorted(exception_classes(bases)) == ["Bad", "Good", "MuseChatError", "Worse"]
    assert [n for n in exception_classes(bases) if not reaches(n, "MuseChatError", bases)] == ["Bad", "Worse"]


def test_status_code_message_and_overrides() -> None:
    error = MuseChatError("it broke")
    assert (error.status, error.code, error.message, str(error)) == (500, "internal_error", "it broke", "it broke")
    assert error.to_dict() == {"error": "internal_error", "message": "it broke"}
    moved = VideoNotFoundError("no video v1", status=410, code="video_gone")
    assert (moved.status, moved.code) == (410, "video_gone") and (VideoNotFoundError.status, VideoNotFoundError.code
                                                                  ) == (404, "video_not_found")
    cli = CliError("pass a folder")
    assert (cli.status, cli.code, cli.exit_code, EXIT_USAGE) == (400, "usage", 2, 2)
    assert isinstance(MediaTooLongError("3 h"), MuseChatError) and str(MediaTooLongError("3 h")) == "too_long: 3 h"


@pytest.mark.parametrize("error", [
    VideoNotFoundError("no video v1"),
    RankingError("bad", status=409, code="video_pending"),
    RequestError("too_large", "upload exceeds 10 bytes"),  # (code, message) constructor
    MediaTooLongError("3 h"),
    CliError("pass a folder"),
])
def test_errors_survive_pickling_whatever_their_constructor(error: MuseChatError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.status, copy.code, copy.message, str(copy)) == (error.status, error.code, error.message, str(error))
