"""`musechat serve --catalog PATH` and `musechat recommend`: your own catalog, embedded, no generated world.

`serve` starts the bundled broker and the embedded Qdrant engine under `--workdir`, ingests PATH through
Kafka as `catalog ingest --embedded` does (resumable: the store persists under the workdir and the
indexer leaves unchanged tracks alone, so a second run only encodes what is new), with the `not_music`
verdict on, then checks whether a fusion model fits the catalog's feature space and says which ranking
path it uses:

- fusion + facts: a checkpoint (`--checkpoint`) whose music tower was built for the catalog's feature
  model; the /v1 gateway (the demo's gateway runner, reused) ranks with it;
- facts-only: no such checkpoint (the demo world's model was trained on generated audio, and a real
  catalog has no training conversations): the /v1 gateway ranks by the measured facts alone
  (`musechat.gateway.facts_ranker`, the scoring of `musechat.catalog.recommend`), as `musechat
  recommend` does against the workdir from the shell.

`recommend` holds one conversation from the shell: each --text is a turn; the previous turn's top pick
is the candidate (the tempo reference for "faster"/"slower", and the style the words adjust) and is not
suggested again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musechat.catalog.recommend import from_understood, rank, shortfall

STATE_FILE = "serve.json"


@dataclass(frozen=True)
class FitCheck:
    path: str  # "fusion+facts" or "facts-only"
    reason: str


def check_fit(checkpoint: Path | None, feature_models: dict[str, int]) -> FitCheck:
    """Does a fusion checkpoint fit the catalog? It must exist and its music input width must match the
    features every indexed track carries (one feature model across the catalog)."""
    if checkpoint is None:
        return FitCheck("facts-only", "no fusion checkpoint given (--checkpoint): the facts rank alone")
    config_path = checkpoint / "config.json"
    if not config_path.is_file():
        return FitCheck("facts-only", f"{checkpoint} has no config.json: not a fusion checkpoint")
    config = json.loads(config_path.read_text())
    width = _find_key(config, ("music_dim", "audio_dim", "dim_audio", "da"))
    if len(feature_models) != 1:
        return FitCheck("facts-only", f"the catalog mixes feature models {sorted(feature_models)}")
    [feature_model] = feature_models
    trained_on = _find_key(config, ("feature_model", "music_feature_model"))
    if trained_on is not None and trained_on != feature_model:
        return FitCheck("facts-only", f"the checkpoint was trained on features {trained_on}, the catalog has "
                                      f"{feature_model}")
    if width is None:
        return FitCheck("facts-only", "the checkpoint does not say its music feature width")
    return FitCheck("fusion+facts", f"checkpoint music width {width} on feature model {feature_model}")


def _find_key(tree: Any, names: tuple[str, ...]) -> Any:
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key in names:
                return value
            found = _find_key(value, names)
            if found is not None:
                return found
    return None


def already_indexed(store: Any) -> dict[str, str | None]:
    """track id -> content hash of the tracks indexed with the current facts (what a resumed serve skips)."""
    from musechat.contracts.catalog import TRACKS_COLLECTION
    from musechat.contracts.music import FACTS_VERSION

    if not store.collection_exists(TRACKS_COLLECTION):
        return {}
    found: dict[str, str | None] = {}
    for record in store.scroll(TRACKS_COLLECTION, fields=["track_id", "content_sha256", "facts"]):
        facts = record.payload.get("facts") or {}
        if facts.get("version") == FACTS_VERSION:
            found[str(record.payload["track_id"])] = record.payload.get("content_sha256")
    return found


def _is_indexed(submission: Any, indexed: dict[str, str | None]) -> bool:
    sha = submission.data.get("content_sha256")
    return sha is not None and submission.problem is None and indexed.get(submission.subject) == sha


@dataclass(frozen=True)
class Served:
    """What `serving` did: the ingestion's exit status, the ranking path, and the running /v1 gateway
    (None with `api=False`)."""

    exit_code: int  # 1 when a file failed or never came back from ingestion
    fit: FitCheck
    server: Any  # musechat.demo.run.DemoServer


@contextmanager
def serving(catalog: Path, workdir: Path, checkpoint: Path | None = None, port: int | None = None,
            timeout_s: float = 3600.0, api: bool = True, explainer: bool = True) -> Iterator[Served]:
    """Ingest `catalog` into `workdir` through Kafka, report the ranking path, and serve /v1 on it until
    the block exits: on the fusion ranker when the checkpoint fits, else on the facts-only ranker
    (`musechat.gateway.facts_ranker`). `explainer=False` serves without the LLM explainer (no adapter to
    train on first start)."""
    from musechat.bus.broker import EmbeddedBroker
    from musechat.catalog.embedded import embedded_catalog_stack
    from musechat.catalog.encoder_client import InProcessMusicEncoder
    from musechat.catalog.runtime import await_outcomes, catalog_stats, publish_ingest
    from musechat.encoders.music import DecodeLimits, MusicEncoder

    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    encoder = InProcessMusicEncoder(MusicEncoder.load(limits=DecodeLimits(refuse_not_music=True)))
    with EmbeddedBroker() as broker:
        print(f"[1/3] broker on {broker.bootstrap_servers}; store {workdir / 'qdrant-edge'}", flush=True)
        with embedded_catalog_stack(workdir, encoder=encoder, bootstrap=broker.bootstrap_servers) as stack:
            indexed = already_indexed(stack.store)
            receipt = publish_ingest(catalog, stack.producer, skip=lambda s: _is_indexed(s, indexed))
            print(f"[2/3] ingesting {len(receipt.submissions)} new or changed files from {catalog} through Kafka "
                  f"({len(indexed)} tracks already indexed)", flush=True)
            summary = await_outcomes(stack.bus, receipt, timeout_s=timeout_s)
            print("\n".join(summary.lines()), flush=True)
            stats = catalog_stats(stack.store, None)
        fit = check_fit(checkpoint, stats["feature_models"])
        state = {"catalog": str(catalog.resolve()), "tracks": stats["tracks"], "ranking_path": fit.path,
                 "reason": fit.reason, "failed": summary.failed}
        (workdir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
        print(f"[3/3] {stats['tracks']} tracks; ranking path: {fit.path} ({fit.reason})", flush=True)
        print(f"recommend from the shell{' (once serve stops: the store has one owner)' if api else ''}: "
              f"musechat recommend --workdir {workdir} --text 'More strings, please.'",
              flush=True)
        exit_code = 1 if summary.failed or summary.missing else 0
        if not api:
            yield Served(exit_code, fit, None)
            return
        from musechat.demo.run import gateway_server

        facts_only = fit.path == "facts-only"
        env = {"MUSECHAT_GATEWAY_RANKER": "facts" if facts_only else "fusion"}
        if not explainer:
            env["MUSECHAT_GATEWAY_EXPLAINER"] = "none"
        # the same explainer as the demo's gateway: the project's default adapter, built once if not cached
        with gateway_server(workdir, broker.bootstrap_servers, None if facts_only else checkpoint, port,
                            extra_env=env, explainer_adapter=explainer) as server:
            print(f"API ({fit.path}): {server.url}/v1  (OpenAPI: {server.url}/docs)\nAPI key: {server.api_key}",
                  flush=True)
            yield Served(exit_code, fit, server)


def serve(catalog: Path, workdir: Path, checkpoint: Path | None = None, port: int | None = None,
          timeout_s: float = 3600.0, api: bool = True, explainer: bool = True) -> int:
    """`musechat serve --catalog`: `serving`, then wait on the gateway until it stops or Ctrl-C."""
    import time

    with serving(catalog, workdir, checkpoint, port, timeout_s, api, explainer) as served:
        try:
            while served.server is not None and served.server.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return served.exit_code


def load_payloads(workdir: Path) -> list[dict[str, Any]]:
    """Every track payload in the workdir's embedded store (what `serve` ingested)."""
    from musechat.contracts.catalog import TRACKS_COLLECTION
    from musechat.store.settings import StoreSettings, open_store

    path = workdir / "qdrant-edge"
    if not path.exists():
        raise FileNotFoundError(f"{workdir} holds no catalog: run `musechat serve --catalog PATH --workdir {workdir}`")
    store = open_store(StoreSettings(backend="edge", path=path))
    try:
        if not store.collection_exists(TRACKS_COLLECTION):
            return []
        return [record.payload for record in store.scroll(TRACKS_COLLECTION)]
    finally:
        store.close()


def conversation(payloads: list[dict[str, Any]], texts: list[str], limit: int = 5) -> list[dict[str, Any]]:
    """Turn 1 from nothing (or the video, on the fusion path), then one turn per text, each read by
    request understanding and merged into the standing request as the gateway merges it."""
    from musechat.contracts.music import TrackFacts
    from musechat.contracts.request import UnderstoodRequest
    from musechat.understanding import flatten, understand

    turns: list[dict[str, Any]] = []
    understood: UnderstoodRequest | None = None
    shown: list[str] = []
    candidate: TrackFacts | None = None
    candidate_duration_s: float | None = None
    durations = {str(p.get("track_id")): p.get("duration_s") for p in payloads}
    for text in [None, *texts]:
        if text is not None:
            understood = understand(text, understood)
        request = from_understood(understood)
        picks = rank(payloads, request, limit=limit, exclude=shown, candidate=candidate,
                     candidate_duration_s=candidate_duration_s)
        turns.append({"turn": len(turns) + 1, "text": text,
                      "understood": flatten(understood) if understood is not None else {},
                      "tracks": [{"track_id": p.track_id, "title": p.title, "artist": p.artist,
                                  "score": round(p.score, 3), "tempo_bpm": p.facts.tempo_bpm,
                                  "vocals_probability": p.facts.vocals_probability,
                                  "groups": sorted(g for g, s in p.facts.groups.items() if s >= 0.5)}
                                 for p in picks]})
        if len(picks) < limit:
            turns[-1]["shortfall"] = (f"{len(picks)} of {limit} asked: "
                                      + shortfall(payloads, request, exclude=shown))
        if picks:
            shown.append(picks[0].track_id)
            candidate, candidate_duration_s = picks[0].facts, durations.get(picks[0].track_id)
    return turns


def recommend(workdir: Path, texts: list[str], video: Path | None = None, as_json: bool = False,
              limit: int = 5) -> int:
    state_path = workdir / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.is_file() else {"ranking_path": "facts-only"}
    payloads = load_payloads(workdir)
    if not payloads:
        raise FileNotFoundError(f"the catalog in {workdir} is empty: run `musechat serve --catalog PATH` first")
    notes = [f"ranking path: {state['ranking_path']}"]
    if video is not None:
        if not video.is_file():
            raise FileNotFoundError(f"video {video} does not exist")
        notes.append("the video is not used on the facts-only path (the embedded video encoder is random-init)")
    turns = conversation(payloads, texts, limit)
    if as_json:
        print(json.dumps({"notes": notes, "turns": turns}, indent=2))
        return 0
    for note in notes:
        print(f"({note})")
    for turn in turns:
        said = f'user: "{turn["text"]}"' if turn["text"] else "opening suggestions"
        print(f"\nturn {turn['turn']} — {said}  understood: {json.dumps(turn['understood'])}")
        for rank_, track in enumerate(turn["tracks"], start=1):
            bpm = f"{track['tempo_bpm']:.0f} bpm" if track["tempo_bpm"] else "no steady beat"
            print(f"  {rank_}. {track['title']} — {track['artist']}  [{bpm}; {', '.join(track['groups'])}]")
        if "shortfall" in turn:
            print(f"  ({turn['shortfall']})")
    return 0


# ------------------------------------------------------------------ CLI
def register(commands: Any) -> None:
    """Register `serve` and `recommend` on the `musechat` sub-command parser."""
    serve_cmd = commands.add_parser("serve", help="your own catalog, embedded: ingest through Kafka and serve it")
    serve_cmd.add_argument("--catalog", type=Path, required=True, help="a folder of audio files and/or a manifest")
    serve_cmd.add_argument("--workdir", type=Path, default=Path("var/serve"), help="state kept between runs")
    serve_cmd.add_argument("--checkpoint", type=Path, default=None,
                           help="a fusion checkpoint dir; it ranks if it fits the catalog, else the facts alone")
    serve_cmd.add_argument("--port", type=int, default=None)
    serve_cmd.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for ingestion")
    serve_cmd.add_argument("--ingest-only", action="store_false", dest="api",
                           help="ingest and report the ranking path, then exit (no /v1 gateway)")
    serve_cmd.add_argument("--no-explainer", action="store_false", dest="explainer",
                           help="serve /v1 without the LLM explainer (no adapter to train on first start)")
    serve_cmd.set_defaults(func=_cmd_serve)
    rec = commands.add_parser("recommend", help="one conversation from the shell against a served catalog")
    rec.add_argument("--workdir", type=Path, default=Path("var/serve"))
    rec.add_argument("--video", type=Path, default=None)
    rec.add_argument("--text", action="append", default=[], help="one turn's words; repeat for more turns")
    rec.add_argument("--limit", type=int, default=5)
    rec.add_argument("--json", action="store_true", dest="as_json")
    rec.set_defaults(func=_cmd_recommend)


def _cmd_serve(args: Any) -> int:
    from musechat.errors import CliError

    if not args.catalog.exists():
        raise CliError(f"catalog {args.catalog} does not exist: pass a folder of audio files or a .jsonl manifest")
    if args.checkpoint is not None and not args.checkpoint.is_dir():
        raise CliError(f"checkpoint {args.checkpoint} is not a directory")
    return serve(args.catalog, args.workdir, args.checkpoint, args.port, args.timeout, args.api, args.explainer)


def _cmd_recommend(args: Any) -> int:
    from musechat.errors import CliError, MuseChatError

    if args.limit < 1 or args.limit > 50:
        raise CliError("--limit must be between 1 and 50")
    try:
        return recommend(args.workdir, args.text, args.video, args.as_json, args.limit)
    except (FileNotFoundError, ValueError, MuseChatError) as error:
        raise CliError(str(error)) from error
