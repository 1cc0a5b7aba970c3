"""The explainer service's one settings object and the factory that wires the core from it."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from musechat.explain.explainer import Explainer
from musechat.explain.models import DEFAULT_BASE_MODEL_DIR


class ExplainerSettings(BaseSettings):
    """Validated once at start-up; every field is an env var `MUSECHAT_EXPLAINER_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="MUSECHAT_EXPLAINER_", extra="ignore")

    vllm_url: str | None = Field(None, description="OpenAI-compatible vLLM server; None → in-process backend.")
    vllm_replicas_host: str | None = Field(
        None, description="Headless Service name of the vLLM pods: a run-time adapter load goes to every "
        "address it resolves to (on vllm_url's port), not to the one replica the Service picks. None: vllm_url only.")
    served_model_name: str = Field("smollm2", description="The base model's name on the vLLM server.")
    backend: Literal["local", "ctranslate2"] | None = Field(
        None, description="In-process backend when no vLLM URL is set: ctranslate2 = the LoRA merged in and "
        "converted once for CTranslate2 (≈3.6x lower whole-explanation p50 at 4 users; no music token); local = "
        "transformers + peft. Unset: ctranslate2, or local when use_music is on (docs/explainer.md).")
    ct2_compute_type: Literal["int8", "float32"] = Field(
        "int8", description="CTranslate2 weights: int8 (CPU default) or float32 (the local backend's numbers).")
    ct2_cache_dir: Path | None = Field(
        None, description="Where converted CTranslate2 models are cached (keyed by base and adapter content); "
        "default: $XDG_CACHE_HOME/musechat/explainer-ct2 (~/.cache/...), shared by every workdir.")
    base_model: Path = Field(DEFAULT_BASE_MODEL_DIR, description="Base checkpoint dir (tokenizer, embeddings).")
    adapters: dict[str, Path] = Field(
        default_factory=dict,
        description='JSON {"name": "dir"}: LoRA adapters (local backend loads them; vLLM serves them by name '
        "and this service reads their projectors).",
    )
    default_adapter: str | None = Field(None, description="Adapter used when a request names none.")
    adapter_root: Path = Field(
        Path("var/explainer"), description="Where the project's default adapter (explain.train.DEFAULT_RECIPE) is "
        "built once and cached; used when `adapters` is empty and no vLLM URL is set.")
    default_adapter_policy: Literal["cached", "build", "off"] = Field(
        "cached", description="cached: use the default adapter if it was built; build: train it now if missing "
        "(≈3.5 min on 2 CPU cores, once); off: the bare base model.")
    use_music: bool = Field(False, description="Send the music embedding as a soft token (needs a projector).")
    catalog_titles_file: Path | None = Field(None, description="Catalog titles, one per line, never to be named.")
    max_tokens: int = Field(80, ge=8, le=512)
    timeout_s: float = Field(20.0, gt=0, description="Budget for one explanation, retry included.")
    grounded_decoding: bool = Field(
        True, description="Ban the claim phrases the facts contradict while decoding (prompt.banned); off lets "
        "the model write them and leaves them to the check, the retry and the template.")
    breaker_failures: int = Field(3, ge=1, description="Consecutive LLM failures that open the circuit.")
    breaker_reset_s: float = Field(30.0, gt=0, description="Seconds before an open circuit lets a probe through.")
    torch_threads: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> ExplainerSettings:
        if self.default_adapter is not None and self.default_adapter not in self.adapters and self.vllm_url is None:
            raise ValueError(f"default_adapter {self.default_adapter!r} is not in adapters {sorted(self.adapters)}")
        if self.backend is None:
            self.backend = "local" if self.use_music else "ctranslate2"  # the music token needs transformers
        elif self.backend == "ctranslate2" and self.use_music and self.vllm_url is None:
            raise ValueError("use_music needs the local or vLLM backend: CTranslate2 takes no music token")
        if self.catalog_titles_file is not None and not self.catalog_titles_file.is_file():
            raise ValueError(f"catalog_titles_file {self.catalog_titles_file} does not exist")
        return self


def build_explainer(settings: ExplainerSettings) -> Explainer:
    from musechat.explain.backends.base import ExplanationBackend
    from musechat.explain.breaker import CircuitBreaker
    from musechat.explain.grounding import CatalogTitleIndex
    from musechat.explain.models import ensure_smollm2_hf

    base = settings.base_model
    if base == DEFAULT_BASE_MODEL_DIR:
        base = ensure_smollm2_hf(base)  # the bundled SmolLM2 is materialised on first use
    adapters, default_adapter = dict(settings.adapters), settings.default_adapter
    if not adapters and not settings.vllm_url and settings.default_adapter_policy != "off":
        from musechat.explain.train import DEFAULT_ADAPTER_NAME, default_adapter_ready, ensure_default_adapter

        if settings.default_adapter_policy == "build" or default_adapter_ready(settings.adapter_root):
            path = ensure_default_adapter(base, settings.adapter_root, threads=settings.torch_threads)
            adapters = {DEFAULT_ADAPTER_NAME: path}
            default_adapter = default_adapter or DEFAULT_ADAPTER_NAME
    backend: ExplanationBackend
    if settings.vllm_url:
        from musechat.explain.backends.vllm import VllmBackend, replica_urls

        replicas = None
        if settings.vllm_replicas_host:
            url = urlsplit(settings.vllm_url)
            replicas = functools.partial(replica_urls, settings.vllm_replicas_host, url.port or 80, url.scheme)
        backend = VllmBackend(settings.vllm_url, base, served_model_name=settings.served_model_name,
                              adapter_dirs=settings.adapters, replicas=replicas)  # fmt: skip
    elif settings.backend == "ctranslate2":
        from musechat.explain.backends.ctranslate2 import Ct2Backend

        backend = Ct2Backend(base, adapters=adapters, compute_type=settings.ct2_compute_type,
                             cache_dir=settings.ct2_cache_dir,
                             threads=settings.torch_threads)  # fmt: skip
    else:
        from musechat.explain.backends.local import LocalBackend

        backend = LocalBackend(base, adapters=adapters, threads=settings.torch_threads)
    titles: list[str] = []
    if settings.catalog_titles_file is not None:
        titles = [t for t in settings.catalog_titles_file.read_text(encoding="utf-8").splitlines() if t.strip()]
    return Explainer(
        backend,
        CatalogTitleIndex(titles),
        breaker=CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s),
        default_adapter=default_adapter,
        use_music=settings.use_music,
        max_tokens=settings.max_tokens,
        timeout_s=settings.timeout_s,
        grounded_decoding=settings.grounded_decoding,
    )
