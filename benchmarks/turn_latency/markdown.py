"""The turn-latency report: docs/benchmarks/turn_latency.{json,md,png} from one run's result.

The markdown is a function of the JSON alone, so `markdown(json.load(...))` regenerates the committed page
exactly (tests/unit/test_benchmark_reports.py holds it to that); each section is one function.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from report import fmt, pyplot, save_figure, table, write_json, write_markdown

from turn_latency.params import BATCH_STAGE, LIMIT, MUSIC_DIM, TARGET_CLIENTS, TARGET_P99_MS, TURNS_PER_CONVERSATION
from turn_latency.summary import median_levels

HOW_IT_SERVES = [
    "- **The turn never leaves the event loop** (`gateway/app.py`, `gateway/core.py`, `gateway/ports.py`, "
    "`bus/producer.py: publish_async`): the conversation routes, their auth dependency and the ports "
    "are coroutines; the in-process text model and ranker answer through futures bridged to the loop, "
    "and the Kafka ack is awaited there too. No request parks a thread-pool thread (FastAPI runs a "
    "plain `def` route and each plain dependency through its pool: three thread hops per turn before).",
    "- **The engine and the text model in processes of their own** (`musechat/hosting.py: "
    "ProcessHost`, `store/hosted.py: HostedStore`, `gateway/ports.py: HostedRanker, HostedTextEncoder`, "
    "`MUSECHAT_GATEWAY_ENGINE_PROCESS` with the edge store, `MUSECHAT_GATEWAY_TEXT_PROCESS`, both on by "
    "default): Qdrant Edge's search, the query tower and the text model hold the interpreter lock, so "
    "in the worker's process they took turns with the HTTP stack on one core. The store and the fusion "
    "ranker live in one spawned child, the text model in another; a micro-batch crosses a pipe once "
    "(pickled requests and answers, ~0.1 ms), features never leave the engine process, and every other "
    "store user (videos, workers, explanations) reaches the same engine through `HostedStore`. Compare "
    "the *one process* rows: the price is a second and third interpreter (RSS) and, for a lone turn, "
    "the wake-ups of the pipe.",
    "- **\"No vocals\" is one indexed flag** (`TrackFilters.vocals`, payload `vocals` derived from the "
    "tags at index time, a BOOL index): excluding the 18 vocal tags with a keyword condition made the "
    "engine check every visited point's tag list (≈5× the search time of an unfiltered query); the "
    "flag is one integer comparison.",
    "- **Micro-batching** (`musechat/batching.py: MicroBatcher`; `InProcessRanker`, "
    "`InProcessTextEncoder`; `ranker/core.py: FusionRanker.rank_many`; store `search_many`): a worker "
    "thread takes every turn that queued while the previous batch ran (at most "
    "`MUSECHAT_GATEWAY_BATCH_MAX_SIZE`, 16) and serves them with one text-model pass for the cache "
    "misses, one query-tower pass and one engine call. A lone turn waits for nothing "
    "(`BATCH_MAX_WAIT_MS` 0). The *no micro-batching* rows are the same gateway with `BATCH_MAX_SIZE=1`.",
    "- **Feature caches in the ranker** (`ranker/core.py`, `MUSECHAT_GATEWAY_FEATURE_CACHE_ENTRIES`, "
    "4,096 each, 10 min max age): a conversation's video and its candidates come back turn after turn, "
    "so their decoded features are kept; one engine lookup per batch fetches the misses (compare the "
    "two single-turn fusion stages).",
    "- **int8 HNSW with rescoring, one thread per query** (`MUSECHAT_STORE_QUANTIZATION=int8`, "
    "`HNSW_EF` 128, `SEARCH_THREADS` 1): the graph walk scores int8 copies of the vectors, the "
    "best 2× candidates are rescored with the full vectors; the recall table above is the check. "
    "Concurrency comes from concurrent turns, so a per-query thread pool only adds hand-offs.",
    "- **Text-encoding cache** (`CachedTextEncoder`, LRU of 1,024 texts, 10 min max age, "
    "`musechat_text_cache_lookups_total{result}`): a repeated phrase skips the text model; compare "
    "the *repeated* and *unique* rows.",
    "- **No per-request tracing or access-log line by default** "
    "(`MUSECHAT_GATEWAY_SERVER_TRACE_SAMPLE_RATE`, `MUSECHAT_GATEWAY_SERVER_ACCESS_LOG`): the request "
    "histogram and the conversation.turn events record every turn; tracing is one setting away when "
    "an exporter is configured.",
    "- **The text model on ONNX Runtime, int8** (`MUSECHAT_GATEWAY_TEXT_BACKEND`, `onnx-int8` by default; "
    "`encoders/text_onnx.py`): the same all-MiniLM-L6-v2 weights exported once to ONNX and quantized "
    "(dynamic int8, per channel; cached by the weights' sha8); a new sentence costs a fraction of torch's "
    "CPU and about half of fp32 ONNX's, its features drift (pooled cosine ~0.99), which cost the fusion "
    "ranking 0.34 % of its R@1 (text_int8_fusion.md); `onnx` keeps torch's features to ~1e-5 (the *text "
    "model* section, when the report has it).",
    "- uvloop + httptools under uvicorn; one torch (or ONNX Runtime) thread per forward pass "
    "(`MUSECHAT_GATEWAY_TORCH_THREADS`); search returns only the response's payload keys.",
]


def write_report(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "turn_latency.json", result)
    plot(result, out / "turn_latency.png")
    write_markdown(out / "turn_latency.md", markdown(result))


def plot(result: dict[str, Any], path: Path) -> None:
    """Latency percentiles against concurrency, per backend, log-log, with the target line."""
    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    styles = {"p50_ms": ":", "p95_ms": "--", "p99_ms": "-"}
    colours = {"edge": "tab:blue", "edge-one-process": "tab:purple", "edge-unbatched": "tab:green",
               "edge-uncached": "tab:orange", "local": "tab:red"}
    for run in result["runs"]:
        rows = [lv for lv in run["levels"] if lv["phrases"] == "repeated" and lv["ok"]]
        for key, style in styles.items():
            ax.plot([lv["clients"] for lv in rows], [lv[key] for lv in rows], style, marker="o",
                    color=colours[run["backend"]], label=f"{label(run['backend'])} {key[:-3]}")
    ax.axhline(TARGET_P99_MS, color="grey", lw=0.8)
    ax.text(1, TARGET_P99_MS * 1.08, f"target p99 ≤ {TARGET_P99_MS:.0f} ms at {TARGET_CLIENTS} clients",
            color="grey", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([1, 10, 50], ["1", "10", "50"])
    ax.set_xlabel("concurrent clients (closed loop)")
    ax.set_ylabel("turn latency, ms (client side)")
    ax.set_title(f"One conversation turn through the gateway, {result['tracks']:,} tracks", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    save_figure(fig, path, dpi=120)


def label(backend: str) -> str:
    if backend.startswith("edge-text-"):
        return f"Qdrant Edge, text model on {backend.removeprefix('edge-text-')}"
    return {"edge": "Qdrant Edge", "edge-unbatched": "Qdrant Edge, no micro-batching",
            "edge-one-process": "Qdrant Edge, one process",
            "edge-uncached": "Qdrant Edge, no payload cache"}.get(backend, "qdrant-client local")


def markdown(r: dict[str, Any]) -> str:
    return "\n".join([
        *intro(r), *results_table(r), *ratio_tables(r), *process_table(r), *stage_table(r), *quality_table(r),
        "", "![latency percentiles vs concurrency](turn_latency.png)", "",
        "## Target: p99 ≤ 50 ms at 10 concurrent clients", "", r["target"]["statement"], "", *reading(r),
        *text_section(r),
        *layout_section(r),
        "## How the gateway serves concurrent turns", "", *HOW_IT_SERVES, "",
        "## Setup", "", *setup(r),
        "", "Reproduce: `python benchmarks/turn_latency_bench.py` (≈15 min; `--workdir` keeps the stores for a "
"re-run).", "",
    ])


def intro(r: dict[str, Any]) -> list[str]:
    return [
        "# Conversation-turn latency at 100k tracks",
        "",
        f"Generated by `benchmarks/turn_latency_bench.py` on {r['date']} ({r['machine']}). "
        f"Catalog: {r['tracks']:,} tracks; every number is client-side wall time of "
        "`POST /v1/conversations/{id}/turns` over loopback HTTP against the real gateway BentoML server "
        "(workers off), which encodes the words (all-MiniLM-L6-v2 on this machine, in the gateway's text "
        f"process, on {r.get('text_backend', 'torch')}), runs the fusion query tower, searches the store for "
        f"{LIMIT} tracks with the conversation's "
        "exclusions and filters, "
        "publishes the turn event to Kafka (the bundled Tansu broker, acks awaited) and signs the new state.",
        "",
    ]


def results_table(r: dict[str, Any]) -> list[str]:
    """One row per backend and level: client-side percentiles, server mean, throughput, CPU per turn, load."""
    def row(backend: str, lv: dict[str, Any]) -> list[str]:
        kinds = ", ".join(f"{k}: {v}" for k, v in lv["error_kinds"].items())
        engine = lv.get("engine_cpu_ms_per_turn")
        return [label(backend), lv["clients"], lv["phrases"], lv["ok"],
                f"{lv['errors']}{' (' + kinds + ')' if lv['errors'] else ''}",
                fmt(lv.get("p50_ms")), fmt(lv.get("p95_ms")), fmt(lv.get("p99_ms")), fmt(lv["mean_ms"]),
                fmt(lv["server_mean_ms"]), fmt(lv["throughput_rps"]),
                f"{fmt(lv.get('server_cpu_ms_per_turn'))}{' (' + fmt(engine) + ')' if engine else ''}",
                fmt(lv.get("client_cpu_ms_per_turn")), f"{lv['loadavg_after'][0]:.1f}"]

    return table(["backend", "clients", "phrases", "turns ok", "errors", "p50 ms", "p95 ms", "p99 ms", "mean ms",
                  "server mean ms", "turns/s", "gateway CPU ms/turn (of which child processes)",
                  "client CPU ms/turn", "load avg (1 min) after"],
                 [row(run["backend"], lv) for run in r["runs"] for lv in run["levels"]])


def _ratio_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[x["clients"], f"{fmt(x['p50'])}×", f"{fmt(x['p95'])}×", f"{fmt(x['p99'])}×", f"{fmt(x['throughput'])}×"]
            for x in rows]


def ratio_tables(r: dict[str, Any]) -> list[str]:
    """The baselines measured in the same run, as ratios: local mode, one process, no micro-batching."""
    lines = ["", "Ratio local / edge (how many times slower the naive baseline is), repeated phrases:", "",
             *table(["clients", "p50", "p95", "p99", "throughput edge / local"], _ratio_rows(r["ratios"]))]
    for key, what, ours in (("engine_process_ratios", "one process / engine and text model in their own processes",
                             "own processes / one process"),
                            ("batching_ratios", "without / with micro-batching", "with / without"),
                            ("payload_cache_ratios", "without / with the store's payload cache", "with / without")):
        for phrases, rows in r.get(key, {}).items():
            if rows:
                lines += ["", f"Ratio {what} (same engine, same run), {phrases} phrases:", "",
                          *table(["clients", "p50", "p95", "p99", f"throughput {ours}"], _ratio_rows(rows))]
    return lines


def process_table(r: dict[str, Any]) -> list[str]:
    """Start-up time and peak RSS of the gateway's processes, and each store's size on disk."""
    rows = [[label(run["backend"]), f"{run['ready_s']} s", f"{run['gateway_peak_rss_mb']:,} MB",
             f"{run['gateway_tree_peak_rss_mb']:,} MB",
             f"{r['build']['disk_mb']['local' if run['backend'] == 'local' else 'edge']:,} MB"]
            for run in {run["backend"]: run for run in r["runs"]}.values()]
    return ["", "Gateway processes (the BentoML worker, its engine process with the store and the fusion model, "
            "and its text process with the text model; *one process*: all in the worker):", "",
            *table(["backend", "ready after", "peak RSS (largest process)", "peak RSS (server process tree)",
                    "store on disk"], rows)]


def stage_table(r: dict[str, Any]) -> list[str]:
    if not r["stages_ms"]:
        return []
    return ["", "Where a turn's time goes — each stage alone, in-process, median of repeated calls, engine "
            "store, same machine just before the HTTP runs:", "",
            *table(["stage", "median ms"], [[name, f"{ms:.2f}"] for name, ms in r["stages_ms"].items()])]


def quality_table(r: dict[str, Any]) -> list[str]:
    if not r.get("search_quality"):
        return []
    return ["", f"Search quality of the engine as served (int8-quantized HNSW, the best candidates rescored "
            f"with the full vectors) against exact search over all {r['tracks']:,} vectors, for "
            "query-tower queries of random turns (a third with the \"no vocals\" filter, all with the "
            "candidate and 8 tracks excluded); the store's default `hnsw_ef` is marked. The checkpoint "
            "here is barely trained, so its queries do not sit near their targets as a trained model's "
            "do: a pessimistic case for the graph walk.", "",
            *table(["hnsw_ef", f"recall@{LIMIT}", "median ms per query"],
                   [[f"{q['hnsw_ef']}{' (served)' if q['served'] else ''}", f"{q[f'recall_at_{LIMIT}']:.3f}",
                     f"{q['median_ms']:.2f}"] for q in r["search_quality"]])]


def reading(r: dict[str, Any]) -> list[str]:
    """What bounds the engine's throughput at the target concurrency, from this run's own numbers."""
    edge = next((run for run in r["runs"] if run["backend"] == "edge"), None)
    levels = {phrases: median_levels([lv for lv in (edge or {}).get("levels", []) if lv["phrases"] == phrases]
                                      ).get(TARGET_CLIENTS) for phrases in ("repeated", "unique")}
    stages = r["stages_ms"]
    batched = next((ms for name, ms in stages.items() if name.startswith("rank: fusion + search, ")
                    and "batched" in name), None)
    miss = next((ms for name, ms in stages.items() if name.startswith(f"text encoding, {BATCH_STAGE} misses")), None)
    repeated, unique = levels.get("repeated"), levels.get("unique")
    if not repeated or not repeated["throughput_rps"] or batched is None or miss is None:
        return []
    lines = [
        f"Reading: at {TARGET_CLIENTS} clients with repeated phrases the gateway served "
        f"{repeated['throughput_rps']:.0f} turns/s ({1000 / repeated['throughput_rps']:.1f} ms of wall time per "
        f"turn; a closed loop waits about clients / throughput) with the machine's 1-minute load average at "
        f"{repeated['loadavg_after'][0]:.1f} of {r['cpus']} CPUs. Two processes share the work: the BentoML "
        "worker (HTTP, auth, state, text cache, Kafka) and its engine process (query tower + search, which hold "
        "their interpreter lock while they run; the text model has a process too, idle on cache hits), so they "
        "run on separate cores; inside a batch of "
        f"{BATCH_STAGE}, fusion + search cost {batched:.2f} ms per turn."]
    cpu, engine_cpu = repeated.get("server_cpu_ms_per_turn"), repeated.get("engine_cpu_ms_per_turn")
    if cpu and engine_cpu:
        lines.append(f"Of the gateway's {cpu:.2f} ms of CPU per turn at that level (the median repeat), "
                     f"{engine_cpu:.2f} ms were its child processes' (the engine; the text process idles on cache "
                     f"hits) and {cpu - engine_cpu:.2f} ms the worker's: the busier of the two bounds "
                     f"the rate near {1000 / max(engine_cpu, cpu - engine_cpu):.0f} turns/s, if it had a core alone.")
    one = next((lv for run in r["runs"] if run["backend"] == "edge-one-process" for lv in run["levels"]
                if lv["clients"] == TARGET_CLIENTS and lv["phrases"] == "repeated"), None)
    if one and one["throughput_rps"] and one.get("p99_ms"):
        lines.append(f"The same gateway as one process (one interpreter for everything) served "
                     f"{one['throughput_rps']:.0f} turns/s in this run, p99 {one['p99_ms']:.1f} ms.")
    uncached = {lv["phrases"]: lv for run in r["runs"] if run["backend"] == "edge-uncached" for lv in run["levels"]
                if lv["clients"] == TARGET_CLIENTS}
    cached = {lv["phrases"]: lv for run in r["runs"] if run["backend"] == "edge" for lv in run["levels"]
              if lv["clients"] == TARGET_CLIENTS}
    if uncached.get("repeated") and cached.get("unique") and uncached.get("unique"):
        off, on = uncached["repeated"], repeated
        lines.append(
            f"Without the store's payload cache (every search reads its hits' payloads from the engine) the target "
            f"level served {off['throughput_rps']:.0f} turns/s with repeated phrases (p99 {fmt(off.get('p99_ms'))} ms; "
            f"child processes' CPU {fmt(off.get('engine_cpu_ms_per_turn'))} ms per turn against "
            f"{fmt(on.get('engine_cpu_ms_per_turn'))} ms with it) and {uncached['unique']['throughput_rps']:.0f} "
            f"against {cached['unique']['throughput_rps']:.0f} turns/s with new ones: a turn that re-ranks searches a "
            "pool of 40 hits, and the engine's payload read costs more than its graph walk. The load's conversations "
            "all start from one video, so their pools overlap and the cache hits often, an optimistic case for it; a "
            "query whose hits were never read costs a little more with the cache on (the stage table's pool lines).")
    lines.append("The third repeat of the target level runs right after the unique-phrase level, whose "
                 "sentences pushed the repeated phrases out of the text cache (1,024 entries): its first turns "
                 "run the text model again, which shows in its p99.")
    if unique and unique["throughput_rps"]:
        lines.append(
            f"With phrases that never repeat, every turn runs the text model: {miss:.1f} ms of CPU per sentence "
            f"even in a batch of {BATCH_STAGE}, so {TARGET_CLIENTS} concurrent new sentences cost about "
            f"{miss * TARGET_CLIENTS:.0f} ms of one core per round, and the level ran at "
            f"{unique['throughput_rps']:.0f} turns/s. A {TARGET_P99_MS:.0f} ms p99 for new sentences needs the "
            "text-encoder service on its own (GPU) node, as the chart deploys it, or a cheaper text model.")
    return [" ".join(lines), ""]


def setup(r: dict[str, Any]) -> list[str]:
    """What was built and how the load was driven, from the run's own parameters."""
    return [
        f"- Catalog: {r['tracks']:,} tracks, random float16 features [9–12 segments × {MUSIC_DIM}] "
        f"(the embedded music encoder's width; ≈15 KB of base64 per track in the payload), 3–8 MTT/MSD tags, "
        "durations, licences; vectors (256-d) from the checkpoint's music tower; payload indexes created "
        "before the bulk load, HNSW built (`optimize()`), `tracks` alias. One `ready` video (12 × 32).",
        f"- Model: `{r['checkpoint']}` — the `musechat` fusion variant "
        f"(d_model {r['fusion_config']['d_model']}), trained a few steps on random quartets: latency "
        "depends on the architecture and input sizes, not on what the weights learned."
        + (f" The store's vectors come from an earlier checkpoint ({r['build']['index_model']}) of the "
           "same shape, retrained after a model-code change; latency does not depend on them."
           if r["vectors_from_earlier_checkpoint"] else ""),
        f"- Load: closed-loop clients (aiohttp, asyncio, one process, same machine), each chaining "
        f"{TURNS_PER_CONVERSATION} turns from one started conversation and then starting over (exclusions grow "
        "to 8 tracks; \"no vocals\" / \"under 3 minutes\" add tag and duration filters that persist within a "
        f"conversation). *Repeated*: 12 fixed phrases, so after the first of each the gateway's text cache "
        "answers; *unique*: 4,000 distinct sentences, so every turn runs the text model. Bounds per level: "
        + "; ".join(f"{label(run['backend'])} {lv['clients']} clients ≤ {lv['max_requests']} turns / "
                    f"{lv['max_seconds']:.0f} s" for run in r["runs"] for lv in run["levels"]) + ".",
        "- Local mode gets a few turns per level only: it scans all 100k vectors in numpy and evaluates the "
        "exclusion filter point by point in Python on every turn (≈1 s or more each), one at a time under "
        "the GIL, so at 50 clients most requests queue for tens of seconds.",
        "- 'server mean' = the gateway's own `musechat_http_request_duration_seconds` for the turn route "
        "(mean over the level, from /metrics): the rest of the client-side time is the load generator, "
        "loopback HTTP and queueing in front of the worker.",
        "- 'gateway CPU ms/turn' = user + system CPU of the gateway's process tree over the level per "
        "answered turn (the efficiency of a turn); 'client CPU ms/turn' = the same for the load generator, "
        "whose code never changes: when it rises, the machine (a shared host) is slower at that moment.",
        f"- Build: {json.dumps(r['build']['stores'])}; training {r['build']['train_s']} s, "
        f"generation {r['build']['generate_s']} s, music tower {r['build']['embed_s']} s "
        "(child process at nice 10).",
        f"- Measurement at the invoking shell's priority ({r['niceness']}); machine: {r['cpus']} CPUs shared "
        f"with other jobs, load average at start {r['loadavg_start']}, at end {r['loadavg_end']}.",
    ]


def layout_section(r: dict[str, Any]) -> list[str]:
    """The payload diet: features in every track's payload vs in `track_features` (`turn_latency/layout_ab.py`)."""
    t = r.get("payload_layouts")
    if not t:
        return []
    names = {"features_in_payload": "features in the `tracks` payload (before)",
             "features_collection": "features in `track_features` (now)"}
    lines = ["## Payload diet: per-segment features out of the hot payload, same run", "",
             f"Measured on {t['date']} ({t['machine']}, its own run of `--only-layouts`); load average "
             f"{t['loadavg_start']} at the start, {t['loadavg_end']} at the end. The same gateway, checkpoint and "
             f"load at {TARGET_CLIENTS} clients against two 100k-track stores of the same tracks: built before the "
             "payload diet (every `tracks` point carries its 12 x 464 float16 features, which the ranker still "
             "reads as a fallback) "
             f"and built now; {t['repeats']} rounds, the order alternating, a fresh gateway each. Store on disk: "
             + ", ".join(f"{names[k]} {fmt(v)} MB" for k, v in t["store_disk_mb"].items()) + ".", ""]
    lines += table(["store layout", "phrases", "p50 ms", "p95 ms", "p99 ms", "turns/s", "gateway CPU ms/turn"],
                   [[names[k], p, fmt(m["p50_ms"]), fmt(m["p95_ms"]), fmt(m["p99_ms"]), fmt(m["throughput_rps"]),
                     fmt(m["server_cpu_ms_per_turn"])] for k, by in t["medians"].items() for p, m in by.items()])
    lines += ["", "Ratio now / before of the medians (< 1: faster now; throughput > 1: more now):", "",
              *table(["phrases", "p50", "p99", "throughput"],
                     [[p, f"{fmt(x['p50_ms'], 3)}×", f"{fmt(x['p99_ms'], 3)}×", f"{fmt(x['throughput_rps'], 3)}×"]
                      for p, x in t["ratios_after_over_before"].items()])]
    lines += ["", "Each round's levels:", "",
              *table(["store layout", "round", "phrases", "turns ok", "errors", "p50 ms", "p99 ms", "turns/s",
                      "load avg (1 min) after"],
                     [[names[run["layout"]], lv["repeat"] + 1, lv["phrases"], lv["ok"], lv["errors"],
                       fmt(lv.get("p50_ms")), fmt(lv.get("p99_ms")), fmt(lv["throughput_rps"]),
                       f"{lv['loadavg_after'][0]:.1f}"] for run in t["runs"] for lv in run["levels"]]),
              "", "Reproduce: `python benchmarks/turn_latency_bench.py --only-layouts LEGACY_WORKDIR` (LEGACY_WORKDIR: "
              "a `--workdir` built by the benchmark before the payload diet, build format 3).", ""]
    return lines


def text_section(r: dict[str, Any]) -> list[str]:
    """The text model on the path before vs the default now, measured together (`turn_latency/text_ab.py`)."""
    t = r.get("text_backends")
    if not t:
        return []
    before, after = t["backends"]
    lines = [
        f"## Text model: {before} vs {after}, same run", "",
        f"Measured on {t['date']}"
        + (f" ({t['machine']}, its own run of `--only-text-backends`: the sections above are from "
           f"{r['date']})" if "machine" in t else "")
        + f"; machine load average (1, 5, 15 min) {t['loadavg_start']} at the start, {t['loadavg_end']} at the end "
        f"({r['cpus']} CPUs, shared with other jobs). The same gateway, store and load at {TARGET_CLIENTS} clients, "
        f"the text process's model on `MUSECHAT_GATEWAY_TEXT_BACKEND={before}` (the path before) or `{after}` (the "
        f"default now); {t['repeats']} rounds, the order alternating ({before}, {after} / {after}, {before} / ...), "
        "a fresh gateway per backend and round; *repeated* first, then *unique* (every turn a sentence the text "
        "model has not seen). Figures below are the median over the rounds of each metric.",
        "", t["target"]["statement"], "", *[f"- {note}" for note in t.get("notes", [])],
        *([""] if t.get("notes") else [])]
    rows = [[t_run["text_backend"], lv["repeat"] + 1, lv["phrases"], lv["ok"], lv["errors"], fmt(lv.get("p50_ms")),
             fmt(lv.get("p95_ms")), fmt(lv.get("p99_ms")), fmt(lv["mean_ms"]), fmt(lv["server_mean_ms"]),
             fmt(lv["throughput_rps"]),
             f"{fmt(lv.get('server_cpu_ms_per_turn'))} ({fmt(lv.get('engine_cpu_ms_per_turn'))})",
             f"{lv['loadavg_after'][0]:.1f}"]
            for lv_order in range(t["repeats"]) for t_run in t["runs"] for lv in t_run["levels"]
            if lv["repeat"] == lv_order]
    lines += table(["text backend", "round", "phrases", "turns ok", "errors", "p50 ms", "p95 ms", "p99 ms", "mean ms",
                    "server mean ms", "turns/s", "gateway CPU ms/turn (of which child processes)",
                    "load avg (1 min) after"], rows)
    med = t["medians"]
    lines += ["", "Medians over the rounds:", "",
              *table(["text backend", "phrases", "p50 ms", "p95 ms", "p99 ms", "turns/s", "gateway CPU ms/turn"],
                     [[b, p, fmt(m["p50_ms"]), fmt(m["p95_ms"]), fmt(m["p99_ms"]), fmt(m["throughput_rps"]),
                       fmt(m["server_cpu_ms_per_turn"])] for b, by in med.items() for p, m in by.items()])]
    lines += ["", f"Ratio {before} / {after} of those medians (> 1: {after} is faster):", "",
              *table(["phrases", "p50", "p95", "p99", f"throughput {after} / {before}"],
                     [[p, f"{fmt(x['p50'], 2)}×", f"{fmt(x['p95'], 2)}×", f"{fmt(x['p99'], 2)}×",
                       f"{fmt(x['throughput'], 2)}×"] for p, x in t["ratios"].items()])]
    lines += ["", *text_reading(t, r["cpus"])]
    lines += ["", "The text model alone, in a text process built as the gateway builds it (`build_text_encoder`, "
              "1 intra-op thread) and called through the same pipe; a new sentence each call (wall: median; CPU: "
              "the text process's own, per sentence):", "",
              *table(["text backend", "1 sentence, wall ms", "1 sentence, CPU ms",
                      f"{BATCH_STAGE} in one call, wall ms per sentence", f"{BATCH_STAGE} in one call, CPU ms per "
                      "sentence"],
                     [[b, fmt(x["one_wall_ms"], 2), fmt(x["one_cpu_ms"], 2), fmt(x["batch_wall_ms_per_text"], 2),
                       fmt(x["batch_cpu_ms_per_text"], 2)] for b, x in t["stages"].items()])]
    lines += ["", "Fidelity against torch (the features the fusion model was trained on), same texts (the load's "
              "phrases and a spread of its unique sentences):", "",
              *table(["text backend", "texts", "token features max abs diff", "pooled max abs diff",
                      "pooled cosine min", "pooled cosine mean"],
                     [[b, x["texts"], f"{x['token_max_abs_diff']:.2e}", f"{x['pooled_max_abs_diff']:.2e}",
                       f"{x['pooled_cosine_min']:.6f}", f"{x['pooled_cosine_mean']:.6f}"]
                      for b, x in t["fidelity"].items()]),
              "", "`onnx-int8` (dynamic int8 quantization, per channel) does not give torch's features (pooled "
              "cosine ~0.99); what that costs the fusion ranking is measured on a trained checkpoint in "
              "[text_int8_fusion.md](text_int8_fusion.md) (R@1 53.29 → 53.11 on 4,500 test queries, 90.6 % of them "
              "keep their target's rank), the price of the default's CPU saving.", ""]

    def rss(run: dict[str, Any], role: str) -> str:
        values = [s["peak_rss_by_process_mb"].get(role) for s in run["starts"]]
        values = [v for v in values if v is not None]
        return f"{float(np.median(values)):,.0f} MB" if values else "–"

    lines += ["Gateway processes per text backend (median over its starts; each process's own peak RSS):", "",
              *table(["text backend", "ready after", "text process", "worker", "engine process",
                      "server process tree"],
                     [[run["text_backend"], f"{float(np.median([s['ready_s'] for s in run['starts']])):.1f} s",
                       rss(run, "text"), rss(run, "worker"), rss(run, "engine"),
                       f"{float(np.median([s['gateway_tree_peak_rss_mb'] for s in run['starts']])):,.0f} MB"]
                      for run in t["runs"]]), "",
              f"Reproduce this section alone: `python benchmarks/turn_latency_bench.py --only-text-backends "
              f"--text-repeats {t['repeats']}` (≈ 10 min once the {r['tracks']:,}-track store is built under "
              "`--workdir`; it is merged into the report in `--out`, the other sections kept as they are).", ""]
    return lines


def text_reading(t: dict[str, Any], cpus: int) -> list[str]:
    """What the A/B's own numbers say: CPU per turn (steadier than percentiles on a shared machine), the
    text model's share of it, and how loaded the machine was."""
    med = t["medians"]
    if not all(b in med for b in t["backends"]):
        return []
    loads = [lv["loadavg_after"][0] for run in t["runs"] for lv in run["levels"]]
    parts = []
    for b in t["backends"]:
        u, rep = med[b]["unique"], med[b]["repeated"]
        if u["server_cpu_ms_per_turn"] and rep["server_cpu_ms_per_turn"]:
            parts.append(f"on {b}, {u['server_cpu_ms_per_turn']:.1f} ms of gateway CPU per turn with new "
                         f"sentences against {rep['server_cpu_ms_per_turn']:.1f} ms with repeated ones (+"
                         f"{u['server_cpu_ms_per_turn'] - rep['server_cpu_ms_per_turn']:.1f} ms: the text model "
                         "and its pipe)")
    return [f"Reading: {'; '.join(parts)}. CPU per turn is the steadier comparison here: the 1-minute load "
            f"average after the levels ranged {min(loads):.1f}–{max(loads):.1f} on {cpus} CPUs (a shared machine: "
            "other jobs ran beside the benchmark), so above a load of 2 every percentile of this section includes "
            "waiting for a core, more so at the tail."]
