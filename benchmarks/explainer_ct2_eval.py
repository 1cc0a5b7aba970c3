"""Explanation quality of the CTranslate2 backend vs the local backend, in one run on the same examples:
`explain.evaluate.evaluate` (the code behind `musechat explainer eval` and explainer_eval.json's
raw_pass_rate) per backend, plus the share of first attempts whose text equals the local backend's.

    python benchmarks/explainer_ct2_eval.py [--n 130] [--setups lora] [--compute-types int8,float32] [--threads 2]

Held-out facts-format examples (seed 10 000, the synthetic part of explainer_eval.json's run), the default
adapter; greedy, max 64 tokens. Writes docs/benchmarks/explainer_ct2_eval.json and .md.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import report as bench_report

REPO = Path(__file__).resolve().parents[1]


class Recording:
    """Passes calls through to a backend and keeps each first attempt's text (`generate_batch` with a
    prompt that is not a retry) by (adapter, prompt)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.first: dict[tuple[str | None, str], str] = {}

    def generate_batch(self, prompts: list[Any], music: list[Any], adapter: str | None, max_tokens: int,
                       timeout: float) -> list[str]:  # fmt: skip
        out: list[str] = self.inner.generate_batch(prompts, music, adapter, max_tokens, timeout)
        for p, text in zip(prompts, out, strict=True):
            if not p.is_retry:
                self.first[(adapter, p.user)] = text
        return out

    def __getattr__(self, key: str) -> Any:
        return getattr(self.inner, key)


def main() -> int:
    from musechat.explain.backends.ctranslate2 import Ct2Backend
    from musechat.explain.backends.local import LocalBackend
    from musechat.explain.bertscore import BertScorer
    from musechat.explain.datasets import contradiction_examples, facts_examples
    from musechat.explain.evaluate import default_setups, evaluate
    from musechat.explain.grounding import CatalogTitleIndex
    from musechat.explain.models import ensure_smollm2_hf
    from musechat.explain.train import DEFAULT_ADAPTER_NAME, ensure_default_adapter

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=130)
    ap.add_argument("--contradictions", type=int, default=0)
    ap.add_argument("--setups", default="lora", help="comma list of base, lora")
    ap.add_argument("--compute-types", default="int8,float32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--adapter-root", type=Path, default=REPO / "var" / "explainer")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "explainer_ct2_eval")
    args = ap.parse_args()

    env = bench_report.environment()
    started = time.perf_counter()
    base = ensure_smollm2_hf(REPO / "models" / "smollm2-135m-hf")
    adapter = ensure_default_adapter(base, args.adapter_root, threads=args.threads)
    examples = facts_examples(args.n, seed=10_000)
    contradictions = contradiction_examples(args.contradictions, seed=20_000) if args.contradictions else []
    names = sorted({n for e in [*examples, *contradictions] for n in (e.title, e.artist)})
    setups = [s for key, s in zip(("base", "lora"), default_setups(DEFAULT_ADAPTER_NAME), strict=False)
              if key in set(args.setups.split(","))]  # fmt: skip
    scorer = BertScorer()
    recorded: dict[str, Recording] = {}

    def run(label: str, backend: Any) -> list[dict[str, Any]]:
        rec = recorded[label] = Recording(backend)
        t0 = time.perf_counter()
        scores = evaluate(rec, examples, setups, CatalogTitleIndex(names), contradiction_set=contradictions,  # type: ignore[arg-type]
                          scorer=scorer, max_tokens=args.max_tokens, latency_n=0)  # fmt: skip
        seconds = round(time.perf_counter() - t0, 1)
        out = [{"backend": label, **asdict(s), "seconds": seconds} for s in scores]
        print(out, flush=True)
        return out

    rows = run("local (transformers + peft)", LocalBackend(base, adapters={DEFAULT_ADAPTER_NAME: adapter},
                                                          threads=args.threads))  # fmt: skip
    for compute in args.compute_types.split(","):
        backend = Ct2Backend(base, adapters={DEFAULT_ADAPTER_NAME: adapter}, compute_type=compute,
                             cache_dir=args.adapter_root / "ct2", threads=args.threads)  # fmt: skip
        rows += run(f"ctranslate2 {compute}", backend)
    reference = recorded[rows[0]["backend"]].first
    for row in rows:
        adapter_name = next(s.adapter for s in setups if s.name == row["name"])
        ours = recorded[row["backend"]].first
        keys = [k for k in reference if k[0] == adapter_name and k in ours]
        row["first_attempts_equal_to_local"] = round(sum(ours[k] == reference[k] for k in keys) / len(keys), 4)
    seconds = time.perf_counter() - started
    data = {"environment": env.__dict__, "loadavg_end": bench_report.loadavg(), "seconds": round(seconds, 1),
            "n": len(examples), "n_contradiction": len(contradictions), "adapter": str(adapter),
            "max_tokens": args.max_tokens, "threads": args.threads, "results": rows}  # fmt: skip
    bench_report.write_json(args.out.with_suffix(".json"), data)
    table = [[r["backend"], r["name"], r["n"], f"{r['raw_pass_rate']:.1%}", f"{r['contradiction_rate']:.1%}",
              f"{r['hallucination_rate']:.1%}", f"{r['bertscore_f1']:.4f}", f"{r['fallback_rate']:.1%}",
              f"{r['first_attempts_equal_to_local']:.1%}", f"{r['seconds']:.0f}"] for r in rows]  # fmt: skip
    lines = [
        "# Explainer quality: CTranslate2 vs local backend",
        "",
        f"`python benchmarks/explainer_ct2_eval.py --n {args.n} --setups {args.setups} --compute-types "
        f"{args.compute_types} --threads {args.threads}`, one run, {env.date_utc}, "
        f"{env.summary(note='shared with other jobs')}; load average {env.loadavg} at the start, "
        f"{data['loadavg_end']} at the end; {seconds:.0f} s.",
        "",
        f"`explain.evaluate.evaluate` (what `musechat explainer eval` runs) per backend on the same {len(examples)} "
        "held-out facts-format examples (seed 10 000: the synthetic part of explainer_eval.json's adapter run; "
        f"its 72 demo-world examples are not in this subset), the default adapter ({Path(str(adapter)).name}), "
        f"greedy, max {args.max_tokens} tokens. Raw pass = the first attempt passes the grounding check; "
        "fallback = the template after the retry. Same text = first attempts identical to the local backend's.",
        "",
        *bench_report.table(["backend", "setup", "n", "raw pass", "contradictions", "hallucinations",
                             "BERTScore raw", "fallback", "same text as local", "seconds"], table),
        "",
    ]
    bench_report.write_markdown(args.out.with_suffix(".md"), lines)
    print(f"report: {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
