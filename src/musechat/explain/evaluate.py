"""`explainer eval`: explanation quality for base, base + LoRA, base + LoRA + music token.

Raw metrics score the model's first attempt (what the LLM says on its own); served metrics score what
the explainer returns after the grounding check, the one retry and the template fallback.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from musechat.explain.backends.base import ExplanationBackend
from musechat.explain.bertscore import BERTSCORE_MODEL, BertScorer
from musechat.explain.data import ExplanationExample
from musechat.explain.explainer import Explainer, ExplainRequest
from musechat.explain.grounding import CatalogTitleIndex, check_grounding


@dataclass(frozen=True)
class EvalSetup:
    name: str
    adapter: str | None
    music: bool


@dataclass
class SetupScores:
    name: str
    n: int
    bertscore_f1: float  # raw, first attempt vs the reference
    correctness: float  # raw: title and artist both named
    tag_faithfulness: float  # raw: share of cited tags the track has (pooled over all explanations)
    hallucinated_track_rate: float  # raw: share naming another catalog track
    served_bertscore_f1: float
    served_correctness: float
    served_hallucinated_track_rate: float
    fallback_rate: float
    no_explanation_rate: float
    mean_latency_s: float


def default_setups(adapter: str) -> list[EvalSetup]:
    return [
        EvalSetup("base", None, False),
        EvalSetup("base + LoRA", adapter, False),
        EvalSetup("base + LoRA + music embedding", adapter, True),
    ]


def evaluate(
    backend: ExplanationBackend,
    examples: Sequence[ExplanationExample],
    setups: Sequence[EvalSetup],
    catalog: CatalogTitleIndex,
    *,
    scorer: BertScorer | None = None,
    max_tokens: int = 64,
    timeout_s: float = 120.0,
    progress: bool = True,
) -> list[SetupScores]:
    from tqdm import tqdm

    if not examples:
        raise ValueError("no evaluation examples")
    scorer = scorer or BertScorer()
    refs = [e.reference for e in examples]
    results: list[SetupScores] = []
    for setup in setups:
        explainer = Explainer(backend, catalog, default_adapter=setup.adapter, use_music=setup.music,
                              max_tokens=max_tokens, timeout_s=timeout_s)  # fmt: skip
        raw_texts: list[str] = []
        served: list[str] = []
        fallbacks = missing = correct = hallucinated = served_correct = served_halluc = 0
        cited = faithful = 0
        latencies: list[float] = []
        for ex in tqdm(examples, desc=f"eval {setup.name}", disable=not progress):
            req = ExplainRequest(track=ex.track, user_words=ex.user_words, history=ex.history,
                                 music_features=ex.music_features if setup.music else None)  # fmt: skip
            res = explainer.explain(req)
            latencies.append(res.latency_s)
            raw = res.raw[0] if res.raw else ""
            raw_texts.append(raw)
            g = check_grounding(raw, ex.track, catalog)
            correct += g.title_present and g.artist_present
            hallucinated += bool(g.other_titles)
            cited += len(g.cited_tags)
            faithful += len(g.cited_tags) - len(g.unfaithful_tags)
            fallbacks += res.fallback
            missing += res.text is None
            text = res.text or ""
            served.append(text)
            s = check_grounding(text, ex.track, catalog)
            served_correct += s.title_present and s.artist_present
            served_halluc += bool(s.other_titles)
        n = len(examples)
        results.append(
            SetupScores(
                name=setup.name,
                n=n,
                bertscore_f1=round(statistics.fmean(scorer.f1(raw_texts, refs)), 4),
                correctness=round(correct / n, 4),
                tag_faithfulness=round(faithful / cited, 4) if cited else 1.0,
                hallucinated_track_rate=round(hallucinated / n, 4),
                served_bertscore_f1=round(statistics.fmean(scorer.f1(served, refs)), 4),
                served_correctness=round(served_correct / n, 4),
                served_hallucinated_track_rate=round(served_halluc / n, 4),
                fallback_rate=round(fallbacks / n, 4),
                no_explanation_rate=round(missing / n, 4),
                mean_latency_s=round(statistics.fmean(latencies), 3),
            )
        )
    return results


PAPER_ROWS: dict[str, Any] = {
    "table3": [
        {"system": "MuseChat (Vicuna-7B + LoRA + music embedding)", "bertscore_f1": 0.9676},
        {"system": "Vicuna-7B, title only", "bertscore_f1": 0.9453},
    ],
    "table4": {"correctness_1to5": 4.63, "musicality_1to5": 4.22, "clarity_1to5": 4.54},
}


def write_report(scores: Sequence[SetupScores], meta: dict[str, Any], json_path: Path, md_path: Path) -> None:
    payload = {"meta": {**meta, "bertscore_model": BERTSCORE_MODEL}, "paper": PAPER_ROWS,
               "results": [asdict(s) for s in scores]}  # fmt: skip
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    lines = [
        "# Explainer evaluation",
        "",
        f"Base model: `{meta.get('base_model')}`; adapter: `{meta.get('adapter')}`; backend: "
        f"{meta.get('backend')}; {meta.get('n')} held-out examples from {meta.get('data')}; "
        f"greedy decoding, max {meta.get('max_tokens')} tokens.",
        f"BERTScore: {BERTSCORE_MODEL}, F1 without idf or baseline rescaling.",
        "",
        "Raw = the model's first attempt; served = after the grounding check, one retry and the template "
        "fallback.",
        "",
        "| setup | BERTScore F1 (raw) | title+artist correct (raw) | tag faithfulness (raw) | "
        "hallucinated track (raw) | BERTScore F1 (served) | correct (served) | hallucinated (served) | "
        "fallback | no text | mean latency s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        lines.append(
            f"| {s.name} | {s.bertscore_f1:.4f} | {s.correctness:.1%} | {s.tag_faithfulness:.1%} | "
            f"{s.hallucinated_track_rate:.1%} | {s.served_bertscore_f1:.4f} | {s.served_correctness:.1%} | "
            f"{s.served_hallucinated_track_rate:.1%} | {s.fallback_rate:.1%} | {s.no_explanation_rate:.1%} | "
            f"{s.mean_latency_s:.2f} |"
        )
    t3, t4 = PAPER_ROWS["table3"], PAPER_ROWS["table4"]
    lines += [
        "",
        "## Beside the paper",
        "",
        "| source | system | BERTScore F1 | correctness |",
        "|---|---|---|---|",
        f"| paper Table 3/4 | {t3[0]['system']} | {t3[0]['bertscore_f1']} | {t4['correctness_1to5']} / 5 "
        "(human rating) |",
        f"| paper Table 3 | {t3[1]['system']} | {t3[1]['bertscore_f1']} | – |",
    ]
    for s in scores:
        lines.append(f"| ours | {s.name} | {s.bertscore_f1:.4f} (raw) | {s.served_correctness:.1%} served, "
                     f"{s.correctness:.1%} raw (automatic check) |")  # fmt: skip
    lines += ["", *meta.get("notes", [])]
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text("\n".join(lines) + "\n")
