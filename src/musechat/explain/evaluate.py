"""`explainer eval`: explanation quality per setup (base / + LoRA / + LoRA + music token).

Metrics, each over the same held-out examples (facts-format prompts, references in varied styles):
- raw_pass_rate: the model's first attempt passes the grounding check (facts, request, names, numbers);
- contradiction_rate: first attempts that contradict the facts or the request; also on a contradiction
  test set (`contradiction_set_rate`: every example's request is *not* met by its track, so "as you
  asked", the asked-for attribute, or a wrong tempo/vocals word is a contradiction);
- hallucination_rate: first attempts naming another catalog title/artist, an unknown name or a number
  the facts lack;
- distinct2: distinct word bigrams / all bigrams over the first attempts (diversity);
- BERTScore F1 of the first attempt and of the served text (after retry and template) vs the reference;
- fallback_rate: served text is the template; latency_p50_s / p95_s: one explanation at a time through
  the explainer (retry included), on a sample of `latency_n` examples.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musechat.explain.backends.base import ExplanationBackend, answer_text
from musechat.explain.bertscore import BERTSCORE_MODEL, BertScorer
from musechat.explain.data import ExplanationExample
from musechat.explain.explainer import Explainer, ExplainRequest
from musechat.explain.grounding import CatalogTitleIndex, GroundingResult, template_explanation
from musechat.explain.prompt import ExplainPrompt, RetryHint


@dataclass(frozen=True)
class EvalSetup:
    name: str
    adapter: str | None
    music: bool


@dataclass
class SetupScores:
    name: str
    n: int
    raw_pass_rate: float
    contradiction_rate: float
    contradiction_set_rate: float
    contradiction_set_n: int
    hallucination_rate: float
    distinct2: float
    bertscore_f1: float
    served_bertscore_f1: float
    served_pass_rate: float  # LLM text (first or retry) passed; the rest got the template
    fallback_rate: float
    latency_p50_s: float
    latency_p95_s: float
    latency_n: int
    # First attempts that contradict or hallucinate (at most `_FAILURES_KEPT`): what a reader checks first.
    failures: list[dict[str, str]] = field(default_factory=list)
    # Per source of the held-out examples (synthetic, demo world, real catalog): n and the same rates.
    by_source: dict[str, dict[str, float]] = field(default_factory=dict)


_FAILURES_KEPT = 12
_CONCURRENT_REQUESTS = 8  # in flight at once to a backend without generate_batch


def default_setups(adapter: str) -> list[EvalSetup]:
    return [
        EvalSetup("base", None, False),
        EvalSetup("base + LoRA", adapter, False),
        EvalSetup("base + LoRA + music token", adapter, True),
    ]


def distinct2(texts: Sequence[str]) -> float:
    grams = [tuple(w[i : i + 2]) for t in texts for w in [t.lower().split()] for i in range(len(w) - 1)]
    return round(len(set(grams)) / len(grams), 4) if grams else 0.0


def _request(ex: ExplanationExample, music: bool) -> ExplainRequest:
    return ExplainRequest(track=ex.track, user_words=ex.user_words, history=ex.history, previous=ex.previous,
                          video=ex.video, music_features=ex.music_features if music else None)  # fmt: skip


def _generate(backend: ExplanationBackend, explainer: Explainer, reqs: Sequence[ExplainRequest],
              prompts: Sequence[ExplainPrompt], music: bool, adapter: str | None, max_tokens: int,
              timeout_s: float) -> list[str]:
    feats = [r.music_features if music else None for r in reqs]
    batch = getattr(backend, "generate_batch", None)
    if batch is not None:
        outs = batch(list(prompts), feats, adapter, max_tokens, timeout_s)
    else:  # a server (vLLM) batches concurrent requests itself
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(_CONCURRENT_REQUESTS) as pool:
            outs = list(pool.map(lambda pf: backend.generate(pf[0], pf[1], adapter, max_tokens, timeout_s),
                                 zip(prompts, feats, strict=True)))  # fmt: skip
    return [answer_text(p, o) for p, o in zip(prompts, outs, strict=True)]


def _first_attempts(backend: ExplanationBackend, explainer: Explainer, reqs: Sequence[ExplainRequest],
                    setup: EvalSetup, max_tokens: int, timeout_s: float) -> tuple[list[str], list[GroundingResult]]:
    prompts = [explainer.prompt(r, music=setup.music) for r in reqs]
    texts = _generate(backend, explainer, reqs, prompts, setup.music, setup.adapter, max_tokens, timeout_s)
    return texts, [explainer.check(t, r, p) for t, r, p in zip(texts, reqs, prompts, strict=True)]


def evaluate(
    backend: ExplanationBackend,
    examples: Sequence[ExplanationExample],
    setups: Sequence[EvalSetup],
    catalog: CatalogTitleIndex,
    *,
    contradiction_set: Sequence[ExplanationExample] = (),
    scorer: BertScorer | None = None,
    max_tokens: int = 64,
    timeout_s: float = 600.0,
    latency_n: int = 20,
    progress: bool = True,
    sources: Sequence[str] | None = None,
) -> list[SetupScores]:
    """`sources`: one label per example (where it comes from), for the per-source rates."""
    if not examples:
        raise ValueError("no evaluation examples")
    if sources is not None and len(sources) != len(examples):
        raise ValueError(f"{len(sources)} source labels for {len(examples)} examples")
    scorer = scorer or BertScorer()
    refs = [e.reference for e in examples]
    results: list[SetupScores] = []
    for setup in setups:
        started = time.monotonic()

        def stage(what: str, setup: EvalSetup = setup, started: float = started) -> None:
            if progress:
                print(f"[{setup.name}] {what} ({time.monotonic() - started:.0f} s)", flush=True)

        stage(f"first attempts on {len(examples)} examples")
        explainer = Explainer(backend, catalog, default_adapter=setup.adapter, use_music=setup.music,
                              max_tokens=max_tokens, timeout_s=timeout_s)  # fmt: skip
        reqs = [_request(e, setup.music) for e in examples]
        raw, checks = _first_attempts(backend, explainer, reqs, setup, max_tokens, timeout_s)
        # The served path, batched: failed first attempts get the differing retry, then the template.
        failed = [i for i, c in enumerate(checks) if not c.ok]
        retry_prompts = [explainer.prompt(reqs[i], music=setup.music, retry=RetryHint(checks[i].problems))
                         for i in failed]  # fmt: skip
        stage(f"{len(failed)} retries")
        retried = _generate(backend, explainer, [reqs[i] for i in failed], retry_prompts, setup.music,
                            setup.adapter, max_tokens, timeout_s) if failed else []  # fmt: skip
        served = list(raw)
        fallbacks = 0
        for i, text, prompt in zip(failed, retried, retry_prompts, strict=True):
            if explainer.check(text, reqs[i], prompt).ok:
                served[i] = text
            else:
                served[i] = template_explanation(reqs[i].track, reqs[i].user_words, reqs[i].context())
                fallbacks += 1
        c_rate, c_n = 0.0, len(contradiction_set)
        creqs = [_request(e, setup.music) for e in contradiction_set]
        ctexts: list[str] = []
        cchecks: list[GroundingResult] = []
        if creqs:
            stage(f"contradiction set of {len(creqs)}")
            ctexts, cchecks = _first_attempts(backend, explainer, creqs, setup, max_tokens, timeout_s)
            c_rate = round(sum(bool(c.contradictions) for c in cchecks) / c_n, 4)
        stage(f"latency, {min(latency_n, len(reqs))} explanations one at a time")
        latencies = [explainer.explain(r).latency_s for r in reqs[:latency_n]]
        n = len(examples)
        scores = SetupScores(
            name=setup.name, n=n,
            raw_pass_rate=round(sum(c.ok for c in checks) / n, 4),
            contradiction_rate=round(sum(bool(c.contradictions) for c in checks) / n, 4),
            contradiction_set_rate=c_rate, contradiction_set_n=c_n,
            hallucination_rate=round(sum(bool(c.hallucinations) for c in checks) / n, 4),
            distinct2=distinct2(raw),
            bertscore_f1=round(statistics.fmean(scorer.f1(raw, refs)), 4),
            served_bertscore_f1=round(statistics.fmean(scorer.f1(served, refs)), 4),
            served_pass_rate=round((n - fallbacks) / n, 4), fallback_rate=round(fallbacks / n, 4),
            latency_p50_s=round(float(np.percentile(latencies, 50)), 3) if latencies else 0.0,
            latency_p95_s=round(float(np.percentile(latencies, 95)), 3) if latencies else 0.0,
            latency_n=len(latencies), by_source=_by_source(sources, checks) if sources is not None else {},
            failures=[{"set": name, "facts": " | ".join(explainer.prompt(r, music=setup.music).user.splitlines()),
                       "text": text, "problems": "; ".join(c.problems)}
                      for name, rs, texts, cs in (("held-out", reqs, raw, checks),
                                                  ("contradiction set", creqs, ctexts, cchecks))
                      for r, text, c in zip(rs, texts, cs, strict=True)
                      if c.contradictions or c.hallucinations][:_FAILURES_KEPT],
        )  # fmt: skip
        results.append(scores)
        if progress:
            line = {k: v for k, v in asdict(scores).items() if k != "failures"}
            print(json.dumps({**line, "seconds": round(time.monotonic() - started, 1)}), flush=True)
    return results


def _by_source(sources: Sequence[str], checks: Sequence[GroundingResult]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for source in dict.fromkeys(sources):
        mine = [c for s, c in zip(sources, checks, strict=True) if s == source]
        out[source] = {"n": len(mine), "raw_pass_rate": round(sum(c.ok for c in mine) / len(mine), 4),
                       "contradiction_rate": round(sum(bool(c.contradictions) for c in mine) / len(mine), 4),
                       "hallucination_rate": round(sum(bool(c.hallucinations) for c in mine) / len(mine), 4)}
    return out


PAPER_ROWS: dict[str, Any] = {
    "table3": [
        {"system": "MuseChat (Vicuna-7B + LoRA + music embedding)", "bertscore_f1": 0.9676},
        {"system": "Vicuna-7B, title only", "bertscore_f1": 0.9453},
    ],
    "table4": {"correctness_1to5": 4.63, "musicality_1to5": 4.22, "clarity_1to5": 4.54},
}


def write_report(scores: Sequence[SetupScores], meta: dict[str, Any], json_path: Path, md_path: Path,
                 samples: Sequence[dict[str, str]] = ()) -> None:
    payload = {"meta": {**meta, "bertscore_model": BERTSCORE_MODEL}, "paper": PAPER_ROWS,
               "results": [asdict(s) for s in scores], "samples": list(samples)}  # fmt: skip
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    lines = [
        "# Explainer evaluation",
        "",
        f"Written by `{meta.get('command')}` in one run ({meta.get('seconds')} s on {meta.get('machine')}).",
        "",
        f"Base model: `{meta.get('base_model')}`; adapter: `{meta.get('adapter')}`; backend: {meta.get('backend')}; "
        f"{meta.get('n')} held-out examples ({meta.get('data')}), contradiction set {meta.get('n_contradiction')} "
        f"examples (requests their track does not meet); greedy decoding, max {meta.get('max_tokens')} tokens. "
        f"BERTScore: {BERTSCORE_MODEL}, F1 without idf or rescaling (only the ordering is comparable to the paper's).",
        "",
        "Raw = the model's first attempt, checked against the facts (tempo, vocals, tags, video), the request, "
        "every catalog title and artist, names and numbers. Served = after the differing retry and the template.",
        "",
        "| setup | n | raw pass | contradictions | contradiction set (n) | hallucinations | distinct-2 | "
        "BERTScore raw | BERTScore served | fallback | latency p50 s | p95 s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        lines.append(
            f"| {s.name} | {s.n} | {s.raw_pass_rate:.1%} | {s.contradiction_rate:.1%} | "
            f"{s.contradiction_set_rate:.1%} ({s.contradiction_set_n}) | "
            f"{s.hallucination_rate:.1%} | {s.distinct2:.3f} | {s.bertscore_f1:.4f} | {s.served_bertscore_f1:.4f} | "
            f"{s.fallback_rate:.1%} | {s.latency_p50_s:.2f} | {s.latency_p95_s:.2f} |"
        )
    per_source = [(s.name, source, r) for s in scores for source, r in s.by_source.items()]
    if per_source:
        lines += ["", "Per source of the held-out examples (first attempts):", "",
                  "| setup | source | n | raw pass | contradictions | hallucinations |", "|---|---|---|---|---|---|"]
        lines += [f"| {name} | {source} | {r['n']:.0f} | {r['raw_pass_rate']:.1%} | {r['contradiction_rate']:.1%} | "
                  f"{r['hallucination_rate']:.1%} |" for name, source, r in per_source]
    lines += ["", "Latency: one explanation at a time (retry included) on the first "
              f"{scores[0].latency_n if scores else 0} examples; under concurrency see explainer_latency.md.", ""]
    t3 = PAPER_ROWS["table3"]
    lines += ["## Beside the paper", "", "| source | system | BERTScore F1 |", "|---|---|---|",
              f"| paper Table 3 | {t3[0]['system']} | {t3[0]['bertscore_f1']} |",
              f"| paper Table 3 | {t3[1]['system']} | {t3[1]['bertscore_f1']} |"]
    lines += [f"| ours | {s.name} | {s.bertscore_f1:.4f} (raw) |" for s in scores]
    if samples:
        lines += ["", "## Samples (first attempts; the check's verdict)", ""]
        lines += [f"- {x.get('setup', '')}: `{x['facts']}`  \n  model: {x['text']}  \n  check: {x['check']}"
                  for x in samples]
    failing = [(s.name, f) for s in scores for f in s.failures]
    if failing:
        lines += ["", f"## First attempts that contradict or hallucinate (at most {_FAILURES_KEPT} per setup)", ""]
        lines += [f"- {name}, {f.get('set', 'held-out')}: `{f['facts']}`  \n  model: {f['text']}  \n  "
                  f"problems: {f['problems']}" for name, f in failing]
    for run in meta.get("earlier_runs", []):
        lines += ["", f"Earlier run kept in this report (`--append`): `{run.get('command')}` ({run.get('seconds')} s, "
                  f"backend {run.get('backend')}, {run.get('n')} examples)."]
    lines += ["", *meta.get("notes", [])]
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text("\n".join(lines) + "\n")
