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
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from musechat.explain.backends.base import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    GeneratingBackend,
    GenerationRequest,
    ProjectorRegistry,
    phrase_variants,
)
from musechat.explain.embeddings import embed_prompt, load_input_embeddings, render_prompt


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
    ) -> None:
        """`base_model`: the same checkpoint directory the server loaded (tokenizer, embedding rows).
        `adapter_dirs`: adapters the server was started with (`--lora-modules`), for their projectors."""
        from transformers import AutoTokenizer

        self.base_url = base_url.rstrip("/")
        self.base_model = Path(base_model)
        self.served_model_name = served_model_name
        self.tokenizer = AutoTokenizer.from_pretrained(str(base_model))
        self._connect_timeout = connect_timeout
        self._client = httpx.Client(base_url=self.base_url)
        self._projectors = ProjectorRegistry()
        self._embed_matrix: Any = None
        self._embed_lock = threading.Lock()
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
        """Runtime loading (`VLLM_ALLOW_RUNTIME_LORA_UPDATING=True` on the server; keep that route
        internal). `path` must be readable by the server; the projector is read here."""
        path = Path(path)
        try:
            resp = self._client.post(
                "/v1/load_lora_adapter",
                # load_inplace: a name that is already loaded is replaced (a new adapter version).
                json={"lora_name": name, "lora_path": str(path.resolve()), "load_inplace": True},
                timeout=self._timeout(60.0),
            )
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"vLLM load_lora_adapter failed: {exc}") from exc
        if resp.status_code != 200:
            raise BackendError(f"vLLM refused adapter {name!r}: {resp.status_code} {resp.text[:300]}")
        self._projectors.register_dir(name, path)

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
        if request.prompt.banned:  # grounded decoding: vLLM bans each form with and without a leading space
            body["bad_words"] = [v for phrase in request.prompt.banned for v in phrase_variants(phrase)]
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

    def _generate(self, request: GenerationRequest) -> str:
        """One non-streamed completion: no per-chunk overhead when the caller wants the whole text."""
        timeout = request.timeout
        try:
            resp = self._client.post("/v1/completions", json=self._body(request), timeout=self._timeout(timeout))
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"vLLM did not answer within {timeout:.1f}s") from exc
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"vLLM unreachable at {self.base_url}: {exc}") from exc
        if resp.status_code != 200:
            raise self._post_error(resp)
        return str(resp.json()["choices"][0]["text"])

    def _stream(self, request: GenerationRequest) -> Iterator[str]:
        body = {**self._body(request), "stream": True}
        timeout = request.timeout
        deadline = time.monotonic() + timeout
        try:
            with self._client.stream(
                "POST", "/v1/completions", json=body, timeout=self._timeout(timeout)
            ) as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise self._post_error(resp)
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
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"vLLM did not answer within {timeout:.1f}s") from exc
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"vLLM unreachable at {self.base_url}: {exc}") from exc
