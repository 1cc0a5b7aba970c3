"""Conversation-turn latency through the real gateway (BentoML server, HTTP on loopback) against a
100k-track catalog: Qdrant Edge (the engine, HNSW) vs qdrant-client's local mode (the naive baseline,
brute force in numpy with filters evaluated point by point in Python).

One turn = POST /v1/conversations/{id}/turns: verify the signed state, parse constraints, encode the
words (all-MiniLM-L6-v2 on this machine, behind the gateway's text-encoding cache), fuse video + candidate +
words (the fusion query tower), ANN search with the conversation's exclusions and filters, publish the
turn event to Kafka (the bundled Tansu broker), sign the new state.

Setup (reproducible, seeded; reused from --workdir when its build.json matches):
1. a tiny fusion checkpoint (`musechat` variant, trained for a few steps on random quartets) or --checkpoint;
2. N tracks with random float16 per-segment features [9..12, 464] (the embedded music encoder's width),
   tags, durations and licences; vectors from the checkpoint's music tower; loaded into a `tracks-…`
   collection (payload indexes created first) in both stores, HNSW built, alias `tracks` set; one `ready`
   video (12 x 32 features) in `videos`. The build runs in a child process at nice 10.
3. per backend: the gateway server (workers off) against that store; one conversation started; then
   closed-loop clients (1, 10, 50) chain turns from it, 8 turns per conversation, with a fixed set of 12
   phrases (repeats: served from the text cache after the first) — and, for the engine, one more pass
   at 10 clients with phrases that never repeat (every turn runs the text model); the same engine with one
   part off, as baselines in the same run: one process, no micro-batching, no payload cache (every search
   reads its hits' payloads from the engine);
4. the text model on torch vs ONNX Runtime (`turn_latency/text_ab.py`): their features compared, their cost
   per sentence in the gateway's text process, then the gateway at 10 clients (repeated and unique
   phrases) with one and the other, interleaved, --text-repeats rounds, a fresh gateway each.

    python benchmarks/turn_latency_bench.py                       # docs/benchmarks/turn_latency.{json,md,png}
    python benchmarks/turn_latency_bench.py --tracks 5000 --out /tmp/tl --workdir /tmp/tl/work   # smoke run
    python benchmarks/turn_latency_bench.py --only-text-backends  # the text A/B alone, into the committed report
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from report import environment, loadavg
from turn_latency.build import build
from turn_latency.load import SAME_ENGINE_BASELINES, plan, run_backend
from turn_latency.markdown import write_report
from turn_latency.params import CLIENT_TIMEOUT_S, LIMIT, MUSIC_DIM, PHRASES, TEXT_DIM, TURNS_PER_CONVERSATION, VIDEO_DIM
from turn_latency.stages import search_quality, stage_breakdown
from turn_latency.summary import ratios, target
from turn_latency.text_ab import text_backends


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", type=Path, default=None, help="Reuse a fusion checkpoint dir (dims must be "
                        f"video {VIDEO_DIM}, music {MUSIC_DIM}, text {TEXT_DIM}).")
    parser.add_argument("--workdir", type=Path, default=Path("var/bench/turn-latency"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--backends", default="edge,edge-one-process,edge-unbatched,edge-uncached,local")
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply the request bounds (0.1 for a smoke run).")
    parser.add_argument("--text-repeats", type=int, default=3, help="Rounds of the text-backend A/B (torch vs "
                        "onnx, interleaved; 0 = skip it).")
    parser.add_argument("--only-text-backends", action="store_true", help="Run only the text-backend A/B (and its "
                        "fidelity and per-sentence cost) and put it into the report already in --out, whose other "
                        "sections are kept as they were measured.")
    parser.add_argument("--only-layouts", type=Path, metavar="LEGACY_WORKDIR", help="Run only the payload-layout "
                        "A/B: the gateway against LEGACY_WORKDIR's store (built before the payload diet: features in "
                        "every track's payload) and --workdir's (features in `track_features`), interleaved, merged "
                        "into the report already in --out.")
    parser.add_argument("--layout-repeats", type=int, default=3, help="Rounds of the payload-layout A/B.")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()  # the gateway server runs in its service directory
    if args.tracks < 100:
        parser.error("--tracks must be at least 100")
    if args.build_only:
        build(args.workdir, args.tracks, args.seed, args.checkpoint)
        return 0

    load_start = loadavg()
    t0 = time.perf_counter()
    child = [sys.executable, str(Path(__file__).resolve()), "--build-only", "--tracks", str(args.tracks),
             "--seed", str(args.seed), "--workdir", str(args.workdir)]
    if args.checkpoint:
        child += ["--checkpoint", str(args.checkpoint)]
    subprocess.run(child, check=True, preexec_fn=lambda: os.nice(10))  # heavy: be nice to neighbours
    manifest = json.loads((args.workdir / "build.json").read_text())
    checkpoint = Path(manifest["checkpoint"])
    build_wall_s = time.perf_counter() - t0

    from concurrent.futures import ThreadPoolExecutor

    from musechat.bus import EmbeddedBroker

    if args.only_text_backends:
        return only_text_backends(args, checkpoint, load_start, t0)
    if args.only_layouts:
        return only_layouts(args, checkpoint)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(backends) - {"edge", *SAME_ENGINE_BASELINES, "local"}:
        parser.error(f"unknown backend(s) {sorted(unknown)}: use edge, {', '.join(SAME_ENGINE_BASELINES)} and/or local")
    runs: list[dict[str, Any]] = []
    stages: dict[str, float] = {}
    quality: list[dict[str, Any]] = []
    with EmbeddedBroker() as broker:
        if "edge" in backends:
            print("\n[edge] stage breakdown, in-process ...", flush=True)
            # On a worker thread, as the gateway runs a turn (a main-thread torch pool behaves differently).
            with ThreadPoolExecutor(1) as pool:
                stages = pool.submit(stage_breakdown, args.workdir, checkpoint, broker.bootstrap_servers,
                                     max(20, int(200 * args.scale))).result()
            for name, ms in stages.items():
                print(f"  {name:<65} {ms:8.2f} ms", flush=True)
            print("\n[edge] search quality vs exact search ...", flush=True)
            with ThreadPoolExecutor(1) as pool:
                quality = pool.submit(search_quality, args.workdir, checkpoint, args.tracks,
                                      max(30, int(300 * args.scale)), args.seed).result()
            for row in quality:
                print(f"  {row}", flush=True)
        for backend in backends:
            runs.append(run_backend(backend, args.workdir, checkpoint, broker.bootstrap_servers,
                                    plan(backend, args.scale)))
        text = (text_backends(args.workdir, checkpoint, broker.bootstrap_servers, args.scale, args.text_repeats)
                if args.text_repeats > 0 else None)
    from musechat.ranker.core import checkpoint_version

    config = json.loads((checkpoint / "config.json").read_text())
    # A reused store keeps the vectors of the checkpoint it was built with; latency does not depend on it.
    stale = checkpoint_version(checkpoint) != manifest["index_model"]
    end = environment()
    from musechat.gateway.settings import GatewaySettings

    result = {
        "vectors_from_earlier_checkpoint": stale,
        "date": end.date_utc, "machine": end.summary(), "cpus": end.cpus, "niceness": end.niceness,
        "tracks": args.tracks, "checkpoint": str(checkpoint), "fusion_config": {
            k: config.get(k) for k in ("variant", "d_model", "n_heads", "fusion_layers", "out_dim")},
        "build": manifest, "build_wall_s": round(build_wall_s, 1),
        "loadavg_start": list(load_start), "loadavg_end": list(end.loadavg),
        "total_wall_s": round(time.perf_counter() - t0, 1),
        "runs": runs, "ratios": ratios(runs),
        "batching_ratios": {p: ratios(runs, "edge-unbatched", p) for p in ("repeated", "unique")},
        "engine_process_ratios": {p: ratios(runs, "edge-one-process", p) for p in ("repeated", "unique")},
        "payload_cache_ratios": {p: ratios(runs, "edge-uncached", p) for p in ("repeated", "unique")},
        "target": target(runs), "stages_ms": stages, "search_quality": quality,
        "text_backend": GatewaySettings.model_fields["text_backend"].default,
        "params": {"limit": LIMIT, "turns_per_conversation": TURNS_PER_CONVERSATION, "phrases": list(PHRASES),
                   "client_timeout_s": CLIENT_TIMEOUT_S},
    }
    if text is not None:
        result["text_backends"] = text | {"date": end.date_utc}
    write_report(result, args.out)
    print(f"\n{result['target']['statement']}\nwrote {args.out}/turn_latency.{{json,md,png}} "
          f"in {result['total_wall_s']:.0f} s", flush=True)
    return 0


def only_text_backends(args: argparse.Namespace, checkpoint: Path, load_start: Any, t0: float) -> int:
    """The text-backend A/B alone, merged into the committed report (its other sections unchanged)."""
    from musechat.bus import EmbeddedBroker

    path = args.out / "turn_latency.json"
    if not path.is_file():
        raise SystemExit(f"--only-text-backends merges into {path}, which does not exist: run the full benchmark")
    result = json.loads(path.read_text())
    if result["tracks"] != args.tracks:
        raise SystemExit(f"{path} is a {result['tracks']}-track run; pass --tracks {result['tracks']}")
    with EmbeddedBroker() as broker:
        text = text_backends(args.workdir, checkpoint, broker.bootstrap_servers, args.scale, max(1, args.text_repeats))
    end = environment()
    result.setdefault("text_backend", "torch")  # runs before the text backends existed measured torch
    result["text_backends"] = text | {"date": end.date_utc, "machine": end.summary(), "niceness": end.niceness,
                                      "checkpoint": str(checkpoint), "tracks": args.tracks,
                                      "loadavg_start": list(load_start), "loadavg_end": list(end.loadavg),
                                      "total_wall_s": round(time.perf_counter() - t0, 1)}
    write_report(result, args.out)
    print(f"\n{text['target']['statement']}\nwrote {args.out}/turn_latency.{{json,md,png}}", flush=True)
    return 0


def only_layouts(args: argparse.Namespace, checkpoint: Path) -> int:
    """The payload-layout A/B alone, merged into the committed report (its other sections unchanged)."""
    from turn_latency.layout_ab import layouts

    from musechat.bus import EmbeddedBroker

    path = args.out / "turn_latency.json"
    if not path.is_file():
        raise SystemExit(f"--only-layouts merges into {path}, which does not exist: run the full benchmark")
    result = json.loads(path.read_text())
    with EmbeddedBroker() as broker:
        section = layouts(args.workdir, args.only_layouts.resolve(), checkpoint, broker.bootstrap_servers,
                          args.scale, max(1, args.layout_repeats))
    end = environment()
    result["payload_layouts"] = section | {"date": end.date_utc, "machine": end.summary()}
    write_report(result, args.out)
    print(f"\nwrote {args.out}/turn_latency.{{json,md,png}}: {section['ratios_after_over_before']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
