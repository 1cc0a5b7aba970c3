"""The committed fusion report carries the conversation keys of issue #12, and its conversation section is a
function of its JSON (re-rendered with today's code, byte for byte; no benchmark run, no model load)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
REPORT = ROOT / "docs" / "benchmarks" / "fusion"


def test_conversation_keys_and_section_render_from_the_json() -> None:
    report = json.loads((REPORT / "report.json").read_text(encoding="utf-8"))
    for key in ("heldout_wording", "success_at_turn", "direction_followed", "intent_accuracy",
                "train_test_sentence_overlap"):
        assert key in report, key
    assert list(report["success_at_turn"]["musechat"]["heldout_wording"]) == ["1", "2", "3", "4", "5"]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        fusion_bench = importlib.import_module("fusion_bench")
        assert fusion_bench.conversation_markdown(report) in (REPORT / "report.md").read_text(encoding="utf-8")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
        for name in ("fusion_bench", "report"):
            sys.modules.pop(name, None)
