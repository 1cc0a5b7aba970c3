"""``musechat request parse TEXT [--previous JSON]``: how the gateway reads a turn's words, as JSON.

Prints the merged `UnderstoodRequest` (and the store filters it implies) on stdout. Bad input (invalid
`--previous` JSON, words that contradict themselves) is one readable line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pydantic import ValidationError

from musechat.contracts.api import MAX_TURN_TEXT
from musechat.contracts.request import UnderstoodRequest
from musechat.errors import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    request = subparsers.add_parser("request", help="request understanding: how the words of a turn are read")
    rsub = request.add_subparsers(dest="request_command", required=True)
    parse = rsub.add_parser("parse", help="print the typed request that TEXT (after --previous) becomes")
    parse.add_argument("text", help="the user's words, e.g. 'no guitar, a bit faster'")
    parse.add_argument("--previous", help="the previous standing request: JSON text, or @FILE")
    parse.add_argument("--filters", action="store_true", help="also print the store filters it implies")
    parse.set_defaults(func=cmd_parse)


def _previous(raw: str | None) -> UnderstoodRequest | None:
    if raw is None:
        return None
    if raw.startswith("@"):
        path = Path(raw[1:])
        if not path.is_file():
            raise CliError(f"--previous: no file {path}")
        raw = path.read_text(encoding="utf-8")
    try:
        return UnderstoodRequest.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise CliError(f"--previous is not an UnderstoodRequest: {where}: {first['msg']}") from error


def cmd_parse(args: argparse.Namespace) -> int:
    from musechat.understanding import RequestConflictError, to_filters, understand

    if not args.text.strip() or len(args.text) > MAX_TURN_TEXT:
        raise CliError(f"TEXT must be 1-{MAX_TURN_TEXT} characters")
    try:
        request = understand(args.text, _previous(args.previous))
    except RequestConflictError as error:
        raise CliError(error.message) from error
    body: dict[str, object] = {"understood": request.model_dump(mode="json", exclude_defaults=True)}
    if args.filters:
        body["filters"] = to_filters(request).model_dump(mode="json", exclude_defaults=True)
    print(json.dumps(body if args.filters else body["understood"], indent=2))
    return 0
