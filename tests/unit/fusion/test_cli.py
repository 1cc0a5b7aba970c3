from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from musechat.fusion.cli import register

pytestmark = pytest.mark.unit


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="musechat")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_train_on_a_missing_dataset_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fusion", "train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "no manifest.json" in err and "\n" not in err


def test_unknown_variant_is_exit_2(tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["fusion", "train", "--data", str(tiny_dataset), "--variant", "bogus", "--out", str(tmp_path)]) == 2
    assert "bogus" in capsys.readouterr().err


def test_eval_with_too_small_a_dataset_is_exit_2(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            [
                "fusion",
                "train",
                "--data",
                str(tiny_dataset),
                "--variant",
                "mvp",
                "--out",
                str(tmp_path / "r"),
                "--steps",
                "1",
                "--batch-size",
                "8",
            ]
        )
        == 0
    )
    code = run(
        [
            "fusion",
            "eval",
            "--data",
            str(tiny_dataset),
            "--checkpoint",
            str(tmp_path / "r"),
            "--report",
            str(tmp_path / "rep"),
        ]
    )
    assert code == 2 and "a pool of 500 needs 499 tracks" in capsys.readouterr().err
    code = run(
        [
            "fusion",
            "eval",
            "--data",
            str(tiny_dataset),
            "--checkpoint",
            str(tmp_path / "r"),
            "--report",
            str(tmp_path / "rep"),
            "--pool-size",
            "10",
        ]
    )
    assert code == 0 and (tmp_path / "rep" / "report.json").is_file()


def test_synth_with_a_bad_phrasebook_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        [
            "synth",
            "generate",
            "--out",
            str(tmp_path),
            "--quartets",
            "20",
            "--seed",
            "1",
            "--phrasebook",
            str(tmp_path / "missing.json"),
        ]
    )
    assert code == 2 and "phrasebook" in capsys.readouterr().err
    code = run(
        ["synth", "generate", "--out", str(tmp_path), "--quartets", "20", "--seed", "1", "--splits", "train,holdout"]
    )
    assert code == 2 and "splits must be" in capsys.readouterr().err
