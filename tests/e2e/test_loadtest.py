"""A short, bounded load test against the embedded system, gates on (loadtests/gates.yaml)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import System

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_bounded_load_test_passes_its_gates(system: System, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(system.server.api_key + "\n")
    audio = next((system.world.catalog_dir / "audio").iterdir())
    env = {**os.environ, "MUSECHAT_LOADTEST_CATALOG_AUDIO_PATH": str(audio),
           "MUSECHAT_LOADTEST_VIDEO_DIR": str(tmp_path / "video"), "MUSECHAT_LOADTEST_SEED": "7"}
    report = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, str(ROOT / "loadtests" / "run.py"), "--host", system.server.url, "--users", "3",
         "--duration", "20", "--api-key-file", str(key_file), "--report", str(report), "--exclude-tag", "explain",
         "--gates", str(ROOT / "loadtests" / "gates-embedded.yaml")],
        env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((report / "summary.json").read_text())
    assert summary, "the load test wrote no summary"
    assert list(report.rglob("*.html")), "no Locust HTML report"
