"""The gateway's one typed settings object (env prefix MUSECHAT_GATEWAY_), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.bus.settings import BusSettings
from musechat.store.settings import StoreSettings


class GatewayServerSettings(BaseSettings):
    """The BentoML server's own knobs (env prefix MUSECHAT_GATEWAY_SERVER_): part of `GatewaySettings`, and
    read alone when the service module is imported, since the service decorator needs them before the
    keys and secrets of the rest exist."""

    model_config = SettingsConfigDict(env_prefix="MUSECHAT_GATEWAY_SERVER_", extra="ignore")

    # Both cost CPU on every request (0.3-0.6 ms a turn on the 2-core machine, docs/gateway.md): the
    # request histogram and the conversation.turn events already record every turn.
    access_log: bool = Field(default=False, description="BentoML's per-request access log lines.")
    trace_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0,
                                     description="Share of requests traced (OpenTelemetry); set an exporter too.")

    def tracing(self) -> dict[str, object]:
        """BentoML's `tracing` service config. BentoML records a span for every request whatever the sample
        rate (its request ids come from them), so with tracing off every URL is excluded instead: the
        OpenTelemetry middleware then passes requests straight through."""
        return {"sample_rate": self.trace_sample_rate, "excluded_urls": [] if self.trace_sample_rate > 0 else [".*"]}


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUSECHAT_GATEWAY_", extra="ignore")

    api_keys_file: Path = Field(description="JSON-lines file of hashed API keys (a mounted Secret in k8s).")
    state_secret: SecretStr | None = Field(default=None, description="HMAC secret for conversation state.")
    state_secret_file: Path | None = Field(default=None, description="File holding the state secret.")
    upload_dir: Path = Field(default=Path("var/uploads"), description="Spool for uploaded videos (shared volume).")
    media_roots: list[Path] = Field(default_factory=list,
                                    description="Folders whose videos may be submitted by server-side path.")
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_video_seconds: float = Field(default=600.0, gt=0)
    max_json_bytes: int = Field(default=4 * 1024 * 1024, gt=0, description="Largest body of a non-upload "
                                "route (a 1,000-track batch is ~0.5 MB); checked before the body is read.")
    max_video_pixels: int = Field(default=1920 * 1080, gt=0, description="Largest frame (width x height) "
                                  "of a submitted video, read from the stream header before any decoding.")
    max_video_fps: float = Field(default=60.0, gt=0, description="Highest frame rate of a submitted video.")
    rate_limit_per_s: float = Field(default=1000.0, ge=0, description="Requests per second per API key (per "
                                    "replica); 0 = no limit. Over it: 429 with Retry-After.")
    rate_limit_burst: int = Field(default=1000, ge=1, description="Requests a key may make at once.")
    cors_origins: list[str] = Field(default_factory=list, description="Browser origins allowed to call the API "
                                    "(CORS); empty = no CORS headers.")
    metrics_port: int | None = Field(default=None, gt=0, lt=65536, description="Serve /metrics unauthenticated "
                                     "on this port (cluster-internal); unset: /metrics on the API port needs a key.")
    outbox_path: Path = Field(default=Path("var/outbox/gateway.db"), description="The durable event outbox "
                              "(SQLite): turns never wait on Kafka; a relay publishes (a per-pod volume).")
    outbox_drain_s: float = Field(default=5.0, ge=0, description="At shutdown, how long to wait for the "
                                  "outbox to empty; what is left goes out after the next start.")
    upload_retention_s: float = Field(default=7 * 24 * 3600.0, gt=0, description="Uploaded files older "
                                      "than this are deleted (the video's features stay until DELETE).")
    text_encoder_url: str | None = Field(default=None, description="text-encoder service; unset = in-process.")
    ranker_url: str | None = Field(default=None, description="fusion-ranker service; unset = in-process.")
    ranker: Literal["fusion", "facts"] = Field(
        default="fusion", description="fusion: the fusion model (ranker_url or fusion_checkpoint); facts: the "
        "catalog's measured facts alone, for a catalog no fusion model fits (`musechat serve --catalog`).")
    explainer: Literal["none", "local", "http"] = Field(
        default="none", description="Where explanations come from: off, the in-process explainer, or explainer_url.")
    explainer_url: str | None = Field(default=None, description="explainer service URL (explainer=http).")
    explainer_timeout_s: float = Field(default=30.0, gt=0, description="Budget for one explanation call.")
    fusion_checkpoint: Path | None = Field(default=None, description="In-process ranker checkpoint.")
    video_encoder_spec: str = Field(default="video_clip_tiny", description="Sets the `videos` vector width.")
    embedded_workers: bool = Field(default=False,
                                   description="Run the catalog, video and indexer workers in this process.")
    request_timeout_s: float = Field(default=10.0, gt=0)
    # The engine's search and the query tower hold the interpreter lock: in this process they would take
    # turns with the HTTP stack on one core (docs/benchmarks/turn_latency.md: one process vs two).
    engine_process: bool = Field(default=True, description="With the edge store: run the engine and the "
                                 "in-process ranker in a child process of their own.")
    text_process: bool = Field(default=True, description="Run the in-process text model in a child process "
                               "of its own: new sentences (~4-5 ms of CPU each) take a core of their own.")
    # ONNX Runtime int8 runs the same MiniLM weights at about half of fp32 ONNX's CPU per sentence (a
    # fraction of torch's); its features drift (pooled cosine ~0.99 to fp32, on which the fusion model was
    # trained), which cost the fusion ranking 0.34 % of its R@1 on a trained checkpoint
    # (docs/benchmarks/text_int8_fusion.md); `onnx` gives torch's features to ~1e-5 (docs/text-encoder.md).
    text_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="onnx-int8", description="What runs the in-process text model: torch (transformers), onnx (ONNX "
        "Runtime, fp32, exported once into text_model_cache_dir) or onnx-int8 (dynamic int8 quantization).")
    text_model_cache_dir: Path | None = Field(
        default=None, description="Where the text model's ONNX export is kept (a folder per weights' sha8); "
        "unset: $XDG_CACHE_HOME/musechat or ~/.cache/musechat (the system temp dir when unwritable).")
    # Each turn's forward passes are tiny; parallelism comes from concurrent requests, so one intra-op
    # thread per pass (measured on 2 cores: MiniLM 25-27 ms CPU with 1 thread vs 34-37 ms with 2).
    torch_threads: int = Field(default=1, ge=1, description="torch (and ONNX Runtime) intra-op threads for "
                               "in-process models.")
    text_cache_entries: int = Field(default=1024, ge=1,
                                    description="Text encodings remembered by exact text (~20 KB each).")
    feature_cache_entries: int = Field(default=4096, ge=1, description="Decoded video and candidate-track "
                                       "features the in-process ranker keeps, of each (~20-50 KB a track).")
    # Concurrent turns are served in micro-batches (one text-model pass, one query-tower pass, one engine
    # call); a batch takes what queued while the previous one ran, so a lone turn waits for nothing.
    batch_max_size: int = Field(default=16, ge=1, description="Most turns fused and searched together.")
    batch_max_wait_ms: float = Field(default=0.0, ge=0,
                                     description="How long a batch waits for more turns after its first.")
    bus: BusSettings = Field(default_factory=BusSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    server: GatewayServerSettings = Field(default_factory=GatewayServerSettings)

    @model_validator(mode="after")
    def _secret(self) -> GatewaySettings:
        if self.state_secret is None and self.state_secret_file is None:
            raise ValueError("set MUSECHAT_GATEWAY_STATE_SECRET or MUSECHAT_GATEWAY_STATE_SECRET_FILE")
        if self.explainer == "http" and not self.explainer_url:
            raise ValueError("MUSECHAT_GATEWAY_EXPLAINER=http needs MUSECHAT_GATEWAY_EXPLAINER_URL")
        if self.ranker == "fusion" and self.ranker_url is None and self.fusion_checkpoint is None:
            raise ValueError("set MUSECHAT_GATEWAY_RANKER_URL or MUSECHAT_GATEWAY_FUSION_CHECKPOINT")
        return self

    def state_secret_bytes(self) -> bytes:
        if self.state_secret is not None:
            return self.state_secret.get_secret_value().encode()
        assert self.state_secret_file is not None
        return self.state_secret_file.read_bytes().strip()
