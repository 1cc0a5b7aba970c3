"""One error base for the whole package: every typed error carries (status, code, message).

Why one base: the gateway maps *one* type to its JSON error body (`ErrorBody` {error, message}) with
one handler instead of one handler per family, workers put `code` in DLQ headers, and the CLI prints
`message` as one line. Families (media, ranking, store, bus, ...) subclass `MuseChatError` and set
`status` and `code` as class attributes; a raise site passes only the human message, or overrides
status/code for one instance when the family's default does not fit.

This module imports nothing from the package, so any module may import it without a cycle.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["EXIT_USAGE", "CliError", "MuseChatError"]

EXIT_USAGE = 2
"""The CLI's exit code for a problem the user can fix (bad input or configuration)."""


class MuseChatError(Exception):
    """Base of every error the package raises on purpose.

    `status` is the HTTP status an API answers with (4xx: the caller can fix it; 5xx: we failed),
    `code` a stable snake_case identifier clients may branch on (part of the API contract), and
    `message` one readable sentence for humans (never secrets: it reaches responses and logs).
    """

    status: int = 500
    code: str = "internal_error"
    message: str

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        """The JSON error body's fields (`ErrorBody` {error, message}) without importing the contracts."""
        return {"error": self.code, "message": self.message}

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by state, not by constructor: errors cross process pipes (`hosting.ProcessHost` returns a
        ranker's per-request errors), and subclasses with other `__init__` signatures, e.g.
        `(status, code, message)`, could not be rebuilt from `args` alone."""
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[MuseChatError], args: tuple[Any, ...], state: dict[str, Any]) -> MuseChatError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class CliError(MuseChatError):
    """A problem the user can fix at the command line; printed as one line, exit code `exit_code`.

    Every sub-CLI (`musechat.cli`, `fusion/cli.py`, `explain/cli.py`, ...) imports it from here, so no
    sub-CLI imports the top-level `cli` module (which imports them: that was a cycle).
    """

    status = 400
    code = "usage"
    exit_code: ClassVar[int] = EXIT_USAGE
