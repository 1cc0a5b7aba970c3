"""`explainer eval`'s bookkeeping with a scripted backend: rates per setup and per source of examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musechat.explain.datasets import facts_examples
from musechat.explain.evaluate import EvalSetup, evaluate, write_report
from musechat.explain.grounding import CatalogTitleIndex
from musechat.explain.prompt import ExplainPrompt

pytestmark = pytest.mark.unit


class ScriptedBackend:
    """Answers with a true sentence, except for tracks named in `lie_about`: there it claims vocals."""

    def __init__(self, lie_about: set[str]) -> None:
        self.lie_about = lie_about

    def generate(self, prompt: ExplainPrompt, music_features: np.ndarray | None, adapter: str | None,
                 max_tokens: int, timeout_s: float) -> str:  # fmt: skip
        title = prompt.named[0]
        return " It has a singer, just as you asked." if title in self.lie_about else " It is a track."


class LengthScorer:
    def f1(self, candidates: list[str], references: list[str]) -> list[float]:
        return [min(len(c), len(r)) / max(len(c), len(r)) for c, r in zip(candidates, references, strict=True)]


def test_rates_per_setup_and_per_source(tmp_path: Path) -> None:
    examples = [e for e in facts_examples(40, seed=5) if e.vocals is False][:12]
    sources = ["synthetic"] * 8 + ["real-music catalog"] * 4
    liars = {e.title for e in examples[8:]}
    catalog = CatalogTitleIndex([n for e in examples for n in (e.title, e.artist)])
    scores = evaluate(ScriptedBackend(liars), examples, [EvalSetup("scripted", None, False)], catalog,  # type: ignore[arg-type]
                      scorer=LengthScorer(), latency_n=2, progress=False, sources=sources)  # type: ignore[arg-type]
    (s,) = scores
    assert s.n == 12 and s.raw_pass_rate == pytest.approx(8 / 12, abs=1e-4)
    assert s.contradiction_rate == pytest.approx(4 / 12, abs=1e-4)
    assert s.by_source["synthetic"] == {"n": 8, "raw_pass_rate": 1.0, "contradiction_rate": 0.0,
                                        "hallucination_rate": 0.0}  # fmt: skip
    assert s.by_source["real-music catalog"]["raw_pass_rate"] == 0.0
    assert s.by_source["real-music catalog"]["contradiction_rate"] == 1.0
    assert s.fallback_rate == pytest.approx(4 / 12, abs=1e-4)  # the retry lies again: the template is served
    assert s.failures and all("vocal" in f["problems"] or "asked" in f["problems"] for f in s.failures)
    write_report(scores, {"command": "test"}, tmp_path / "r.json", tmp_path / "r.md")
    assert "| scripted | real-music catalog | 4 | 0.0% | 100.0% | 0.0% |" in (tmp_path / "r.md").read_text()
    with pytest.raises(ValueError, match="source labels"):
        evaluate(ScriptedBackend(set()), examples, [], catalog, scorer=LengthScorer(), sources=["x"])  # type: ignore[arg-type]
