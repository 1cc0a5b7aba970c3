"""`musechat request parse`: the typed request as JSON; bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import json

import pytest

from musechat.cli import main

pytestmark = pytest.mark.unit


def test_parse_prints_the_merged_request_and_its_filters(capsys: pytest.CaptureFixture[str]) -> None:
    previous = json.dumps({"min_duration_s": 120, "vocals": "off"})
    assert main(["request", "parse", "Actually, under a minute please", "--previous", previous, "--filters"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["understood"] == {"vocals": "off", "max_duration_s": 60.0, "replaces": ["duration"]}
    assert body["filters"] == {"vocals": False, "max_duration_s": 60.0}


def test_parse_reads_a_previous_request_from_a_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "prev.json").write_text(json.dumps({"instruments": {"guitar": {"direction": "none"}}}))
    assert main(["request", "parse", "the guitar is fine again", "--previous", f"@{tmp_path / 'prev.json'}"]) == 0
    assert json.loads(capsys.readouterr().out) == {"lifted": ["instrument.guitar"]}


@pytest.mark.parametrize(("argv", "fragment"), [
    (["request", "parse", "faster and slower"], "faster"),
    (["request", "parse", "faster", "--previous", "{not json"], "--previous"),
    (["request", "parse", "faster", "--previous", '{"vocals": "loud"}'], "vocals"),
    (["request", "parse", "   "], "TEXT"),
])
def test_bad_input_is_one_readable_line(argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err, err
