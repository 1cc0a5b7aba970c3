"""Assemble the gateway from its settings: ports (HTTP or in-process), the signed-state secret, the key
ring, and — in the embedded single-machine mode — the catalog, video and indexer workers as threads that
share this process's store (qdrant-edge allows one owning process).

With the edge store, the engine and the in-process ranker live in one child process by default
(`engine_process`, `build_engine`): the engine's search and the query tower hold the interpreter lock,
and beside the HTTP stack they would share one core with it; every store user here (videos, workers,
explanations) reaches the same engine through `HostedStore`."""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from musechat.bus import EventProducer
from musechat.gateway.app import GatewayContext
from musechat.gateway.auth import ApiKeyRing
from musechat.gateway.core import ExplainerPort, GatewayCore
from musechat.gateway.events import open_outbox
from musechat.gateway.explanations import explainer_port
from musechat.gateway.ports import (
    BatchRanker,
    BatchTextEncoder,
    CachedTextEncoder,
    HostedRanker,
    HostedTextEncoder,
    HttpRanker,
    HttpTextEncoder,
    InProcessRanker,
    InProcessTextEncoder,
    RankerPort,
    TextEncoderPort,
)
from musechat.gateway.settings import GatewaySettings
from musechat.gateway.state import StateSigner
from musechat.hosting import Objects, ProcessHost
from musechat.store import StoreSettings, VectorStore
from musechat.store.hosted import STORE, HostedStore
from musechat.store.settings import open_store
from musechat.video.registry import VideoRegistry

log = logging.getLogger(__name__)

@dataclass
class GatewayRuntime:
    context: GatewayContext
    resources: ExitStack
    stop: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.stop.set()
        self.resources.close()


RANKER, TEXT = "ranker", "text"


def _limit_torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def build_engine(store_settings: StoreSettings, checkpoint: Path | None, feature_cache_entries: int,
                 torch_threads: int, facts_only: bool = False) -> Objects:
    """The engine process's objects (a `ProcessHost` builder): the store, and the ranker over it when the
    ranker runs on this machine (`checkpoint` given, or the facts-only ranker)."""
    store = open_store(store_settings)
    if facts_only:
        from musechat.gateway.facts_ranker import FactsRanker

        return {STORE: store, RANKER: FactsRanker(store)}
    if checkpoint is None:
        return {STORE: store}
    from musechat.ranker.core import FusionRanker
    from musechat.registry.settings import open_registry

    _limit_torch_threads(torch_threads)
    # With a model registry the ranker starts on the live version and follows every publish.
    return {STORE: store, RANKER: FusionRanker.load(store, checkpoint, feature_cache_entries, open_registry())}


def _open_engine(settings: GatewaySettings, resources: ExitStack) -> tuple[VectorStore, BatchRanker | None]:
    """The store, and the in-process ranker unless the fusion-ranker service is used."""
    facts_only = settings.ranker == "facts"
    checkpoint = None if settings.ranker_url or facts_only else settings.fusion_checkpoint
    if settings.engine_process and settings.store.backend == "edge":
        host = ProcessHost("musechat-engine", build_engine, settings.store, checkpoint,
                           settings.feature_cache_entries, settings.torch_threads, facts_only)
        resources.callback(host.close)
        return HostedStore(host), HostedRanker(host, RANKER) if checkpoint or facts_only else None
    objects = build_engine(settings.store, checkpoint, settings.feature_cache_entries, settings.torch_threads,
                           facts_only)
    resources.callback(objects[STORE].close)
    return objects[STORE], objects.get(RANKER)


def build_text_encoder(torch_threads: int, backend: str = "torch", cache_dir: Path | None = None) -> Objects:
    """The text process's object (a `ProcessHost` builder): the bundled text model on `backend`
    (`GatewaySettings.text_backend`), `torch_threads` intra-op threads either way."""
    from musechat.encoders.text import load_spec
    from musechat.encoders.text_backend import load_text_encoder

    if backend == "torch":  # the ONNX backends never import torch once their export is cached
        _limit_torch_threads(torch_threads)
    return {TEXT: load_text_encoder(load_spec(), backend, threads=torch_threads, cache_dir=cache_dir)}


def _text_port(settings: GatewaySettings, resources: ExitStack) -> TextEncoderPort:
    if settings.text_encoder_url:
        inner: TextEncoderPort = HttpTextEncoder(settings.text_encoder_url, settings.request_timeout_s)
    else:
        if settings.text_process:
            host = ProcessHost("musechat-text", build_text_encoder, settings.torch_threads, settings.text_backend,
                               settings.text_model_cache_dir)
            resources.callback(host.close)
            encoder: BatchTextEncoder = HostedTextEncoder(host, TEXT)
        else:
            encoder = build_text_encoder(settings.torch_threads, settings.text_backend,
                                         settings.text_model_cache_dir)[TEXT]
        local = InProcessTextEncoder(encoder, settings.batch_max_size, settings.batch_max_wait_ms / 1000)
        resources.callback(local.close)
        inner = local
    return CachedTextEncoder(inner, max_entries=settings.text_cache_entries)


def _ranker_port(settings: GatewaySettings, ranker: BatchRanker | None, resources: ExitStack) -> RankerPort:
    if ranker is None:
        assert settings.ranker_url is not None  # the settings validator guarantees one of the two
        return HttpRanker(settings.ranker_url, settings.request_timeout_s)
    local = InProcessRanker(ranker, settings.batch_max_size, settings.batch_max_wait_ms / 1000)
    resources.callback(local.close)
    return local


def _explainer_port(settings: GatewaySettings, store: VectorStore) -> ExplainerPort | None:
    return explainer_port(settings, store)  # streaming explanations: gateway/explanations.py


def _start_embedded_workers(
    settings: GatewaySettings, store: VectorStore, producer: EventProducer, runtime: GatewayRuntime
) -> None:
    from musechat.bus import ensure_topics
    from musechat.catalog.runtime import (
        PIPELINE_OUTCOME_TOPICS,
        catalog_worker_consumer,
        indexer_consumer,
        run_consumer_thread,
    )
    from musechat.catalog.settings import CatalogWorkerSettings, IndexerSettings
    from musechat.contracts.topics import Topic
    from musechat.video.runtime import video_worker_consumer
    from musechat.video.settings import VideoWorkerSettings

    ensure_topics(settings.bus.bootstrap_servers, [*(t.value for t in Topic), *PIPELINE_OUTCOME_TOPICS])
    consumers = [
        catalog_worker_consumer(CatalogWorkerSettings(bus=settings.bus), producer),
        video_worker_consumer(VideoWorkerSettings(bus=settings.bus), producer),
        indexer_consumer(
            IndexerSettings(bus=settings.bus, store=settings.store, fusion_checkpoint=settings.fusion_checkpoint),
            producer,
            store,
        ),
    ]
    threads = [run_consumer_thread(consumer, runtime.stop) for consumer in consumers]
    from musechat.dataset.runtime import start_embedded_dataset_writer
    from musechat.dataset.settings import DatasetWriterSettings

    writer_settings = DatasetWriterSettings(bus=settings.bus, store=settings.store)
    if writer_settings.embedded:  # feedback → quartets through this process's store, like the workers above
        threads.append(start_embedded_dataset_writer(writer_settings, store, producer, runtime.stop))

    def join() -> None:
        runtime.stop.set()
        for thread in threads:
            thread.join(timeout=30)

    runtime.resources.callback(join)


def build_runtime(settings: GatewaySettings) -> GatewayRuntime:
    resources = ExitStack()
    store, ranker = _open_engine(settings, resources)
    events = open_outbox(settings, resources)  # the turn path's: never waits on Kafka
    from musechat.encoders.clip_video import load_spec

    videos = VideoRegistry(store, load_spec(settings.video_encoder_spec).feature_dim)
    videos.ensure_collection()
    core = GatewayCore(
        events,
        videos,
        _text_port(settings, resources),
        _ranker_port(settings, ranker, resources),
        StateSigner(settings.state_secret_bytes()),
        _explainer_port(settings, store),
    )
    context = GatewayContext(core=core, keys=ApiKeyRing.from_file(settings.api_keys_file), settings=settings)
    runtime = GatewayRuntime(context=context, resources=resources)
    if settings.embedded_workers:
        producer = EventProducer(settings.bus)  # the workers' own: they publish before committing
        resources.callback(producer.close)
        _start_embedded_workers(settings, store, producer, runtime)
    return runtime
