"""vLLM backend: the OpenAI-compatible HTTP API of a vLLM server started with `--enable-lora`
(adapters selected by model name) and, for the music token, `--enable-prompt-embeds`.

Text-only prompts are sent as rendered chat text, so this side needs only the tokenizer. With the music
token on, the prompt goes as `prompt_embeds`: a base64 `torch.save` of the [L, H] embeddings built here
from the base model's input-embedding matrix (read alone from safetensors) and the adapter's projector.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from musechat.explain.backends.base import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    BanForms,
    GeneratingBackend,
    GenerationRequest,
    PhraseTokens,
    ProjectorRegistry,
)
from musechat.explain.embeddings import embed_prompt, load_input_embeddings, render_prompt

_log = logging.getLogger(__name__)
_BANNED_BIAS = -100.0  # the lowest logit bias vLLM accepts: with greedy decoding, never picked


def replica_urls(host: str, port: int, scheme: str = "http") -> list[str]:
    """The base URL of every address `host` resolves to: a headless Service's name gives one per ready vLLM
    pod, where the plain Service would hand a request to one of them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = sorted({str(info[4][0]) for info in infos})
    return [f"{scheme}://[{a}]:{port}" if ":" in a else f"{scheme}://{a}:{port}" for a in addresses]


def encode_prompt_embeds(embeds: Any) -> str:
    """vLLM's wire format for prompt embeddings: base64 of a torch.save'd [L, H] tensor."""
    import torch

    buf = io.BytesIO()
    torch.save(embeds.detach().contiguous().cpu(), buf)
    return base64.b64encode(buf.getvalue()).decode("ascii")


class VllmBackend(GeneratingBackend):
    name = "vllm"

    def __init__(
        self,
        base_url: str,
        base_model: Path,
        *,
        served_model_name: str,
        adapter_dirs: dict[str, Path] | None = None,
        connect_timeout: float = 2.0,
        replicas: Callable[[], list[str]] | None = None,
    ) -> None:
        """`base_model`: the same checkpoint directory the server loaded (tokenizer, embedding rows).
        `adapter_dirs`: adapters the server was started with (`--lora-modules`), for their projectors.
        `replicas`: the base URLs of every vLLM replica now (`replica_urls` of a headless Service); a run-time
        adapter load goes to each, and a replica that lacks a run-time adapter (started after the load)
        gets it on its first request naming it. None: `base_url` is the only server."""
        from transformers import AutoTokenizer

        self.base_url = base_url.rstrip("/")
        self.base_model = Path(base_model)
        self.served_model_name = served_model_name
        self.tokenizer = AutoTokenizer.from_pretrained(str(base_model))
        self._ban_forms = BanForms(self.tokenizer)
        self._ban_tokens = PhraseTokens(self.tokenizer, self._ban_forms)
        self._connect_timeout = connect_timeout
        self._client = httpx.Client(base_url=self.base_url)
        self._projectors = ProjectorRegistry()
        self._embed_matrix: Any = None
        self._embed_lock = threading.Lock()
        self._replicas = replicas or (lambda: [self.base_url])
        self._runtime_adapters: dict[str, Path] = {}  # loaded by load_adapter: what a new replica lacks
        for name, path in (adapter_dirs or {}).items():
            self._projectors.register_dir(name, Path(path))

    def close(self) -> None:
        self._client.close()

    def _timeout(self, timeout: float) -> httpx.Timeout:
        return httpx.Timeout(timeout, connect=min(self._connect_timeout, timeout))

    def adapters(self) -> list[str]:
        try:
            resp = self._client.get("/v1/models", timeout=self._timeout(5.0))
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"vLLM /v1/models failed: {exc}") from exc
        return [m["id"] for m in resp.json()["data"] if m["id"] != self.served_model_name]

    def load_adapter(self, name: str, path: Path) -> None:
        """Runtime loading (`VLLM_ALLOW_RUNTIME_LORA_UPDATING=True` on the servers; keep that route
        internal) on every replica. `path` must be readable by the servers (the shared adapters volume);
        the projector is read here. Raises after trying all replicas if any refused or was unreachable."""
        path = Path(path)
        try:
            urls = self._replicas()
        except OSError as exc:
            raise BackendUnavailable(f"vLLM replicas could not be resolved: {exc}") from exc
        if not urls:
            raise BackendUnavailable("no vLLM replica to load the adapter on (the headless Service has no ready pod)")
        errors = [error for url in urls if (error := self._load_on(url, name, path)) is not None]
        self._runtime_adapters[name] = path
        self._projectors.register_dir(name, path)
        if errors:
            problem = BackendUnavailable if all(isinstance(e, BackendUnavailable) for e in errors) else BackendError
            raise problem(f"adapter {name!r} not loaded on {len(errors)} of {len(urls)} vLLM replicas: "
                          + "; ".join(str(e) for e in errors))  # fmt: skip

    def _load_on(self, url: str, name: str, path: Path) -> BackendError | None:
        try:
            resp = self._client.post(
                f"{url.rstrip('/')}/v1/load_lora_adapter",
                # load_inplace: a name that is already loaded is replaced (a new adapter version).
                json={"lora_name": name, "lora_path": str(path.resolve()), "load_inplace": True},
                timeout=self._timeout(60.0),
            )
        except httpx.HTTPError as exc:
            return BackendUnavailable(f"{url}: load_lora_adapter failed: {exc}")
        if resp.status_code != 200:
            return BackendError(f"{url} refused adapter {name!r}: {resp.status_code} {resp.text[:300]}")
        return None

    def _lacks_runtime_adapter(self, request: GenerationRequest, resp: httpx.Response) -> bool:
        """vLLM answers 404 for a model name it does not serve: a replica that started after a run-time load."""
        return resp.status_code == 404 and request.adapter in self._runtime_adapters

    def _embed(self, ids: Any) -> Any:
        with self._embed_lock:
            if self._embed_matrix is None:
                self._embed_matrix = load_input_embeddings(self.base_model)
        return self._embed_matrix[ids]

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.adapter or self.served_model_name,
            "max_tokens": request.max_tokens,
            "temperature": 0.0,
        }
        if request.prompt.banned:  # grounded decoding
            # vLLM tokenizes each bad word bare and after a space, but keeps the spaced form only when both
            # have the same length: " instrumental" is one token, "instrumental" two, so a vocal track's
            # answer could still say "it is instrumental" (13 % of first attempts contradicted the facts in
            # the eval). A one-token form is a ban in any context, so those go in as a logit bias too.
            body["bad_words"] = self._ban_forms.all_forms(request.prompt.banned)
            singles = {seq[0] for seq in self._ban_tokens.sequences(request.prompt.banned) if len(seq) == 1}
            if singles:
                body["logit_bias"] = {str(token): _BANNED_BIAS for token in sorted(singles)}
        if request.music_features is None:
            body["prompt"] = render_prompt(self.tokenizer, request.prompt)
        else:
            music = self._projectors.soft_tokens(request.adapter, request.music_features)
            embeds = embed_prompt(self.tokenizer, self._embed, request.prompt, music)
            body["prompt_embeds"] = encode_prompt_embeds(embeds)
        return body

    def _post_error(self, resp: httpx.Response) -> BackendError:
        detail = resp.text[:300]
        if resp.status_code >= 500:
            return BackendUnavailable(f"vLLM error {resp.status_code}: {detail}")
        return BackendError(f"vLLM rejected the request ({resp.status_code}): {detail}")

    def _generate(self, request: GenerationRequest, reloaded: bool = False) -> str:
        """One non-streamed completion: no per-chunk overhead when the caller wants the whole text."""
        timeout = request.timeout
        try:
            resp = self._client.post("/v1/completions", json=self._body(request), timeout=self._timeout(timeout))
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"vLLM did not answer within {timeout:.1f}s") from exc
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"vLLM unreachable at {self.base_url}: {exc}") from exc
        if self._reloaded_for(request, resp, reloaded):
            return self._generate(request, reloaded=True)
        if resp.status_code != 200:
            raise self._post_error(resp)
        return str(resp.json()["choices"][0]["text"])

    def _reloaded_for(self, request: GenerationRequest, resp: httpx.Response, reloaded: bool) -> bool:
        """True when the replica lacked the request's run-time adapter and it was loaded on every replica
        again (once per request: the retried request tells whether the replica it reaches has it now). A
        replica that still refuses the load is logged."""
        if reloaded or not self._lacks_runtime_adapter(request, resp):
            return False
        name = str(request.adapter)
        try:
            self.load_adapter(name, self._runtime_adapters[name])
        except BackendError as exc:
            _log.warning("reloading adapter %r on the vLLM replicas: %s", name, exc)
        return True

    def _stream(self, request: GenerationRequest, reloaded: bool = False) -> Iterator[str]:
        body = {**self._body(request), "stream": True}
        timeout = request.timeout
        deadline = time.monotonic() + timeout
        try:
            with self._client.stream(
                "POST", "/v1/completions", json=body, timeout=self._timeout(timeout)
            ) as resp:
                if resp.status_code == 200:
                    yield from self._chunks(resp, deadline, timeout)
                    return
                resp.read()
                if not self._reloaded_for(request, resp, reloaded):
                    raise self._post_error(resp)
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"vLLM did not answer within {timeout:.1f}s") from exc
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"vLLM unreachable at {self.base_url}: {exc}") from exc
        yield from self._stream(request, reloaded=True)  # the refused response is closed by now

    @staticmethod
    def _chunks(resp: httpx.Response, deadline: float, timeout: float) -> Iterator[str]:
        for line in resp.iter_lines():
            if time.monotonic() > deadline:
                raise BackendTimeout(f"vLLM stream exceeded {timeout:.1f}s")
            if not line.startswith("data:"):
                continue
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                return
            chunk = json.loads(data)["choices"][0].get("text", "")
            if chunk:
                yield chunk
