"""The backend interface, its errors, and the adapter → projector registry both backends share."""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from musechat.errors import MuseChatError
from musechat.explain.projector import ProjectorConfig, has_projector, load_projector, project
from musechat.explain.prompt import ExplainPrompt

if TYPE_CHECKING:
    import torch


class BackendError(MuseChatError):
    """The LLM did not produce an answer. `reason` is safe to show to a caller."""

    status, code = 502, "explainer_failed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BackendTimeout(BackendError):
    status, code = 504, "explainer_timeout"


class BackendUnavailable(BackendError):
    status, code = 503, "explainer_unavailable"


class ExplanationBackend(Protocol):
    """Greedy text generation for one explanation prompt.

    `music_features` ([segments, D]) turns the soft music token on; the prompt must then carry the
    music slot and the adapter must come with a projector. `adapter=None` is the bare base model.
    """

    name: str

    def generate(self, prompt: ExplainPrompt, music_features: np.ndarray | None, adapter: str | None,
                 max_tokens: int, timeout: float) -> str: ...

    def stream(self, prompt: ExplainPrompt, music_features: np.ndarray | None, adapter: str | None,
               max_tokens: int, timeout: float) -> Iterator[str]: ...

    def load_adapter(self, name: str, path: Path) -> None: ...

    def adapters(self) -> list[str]: ...


@dataclass(frozen=True)
class GenerationRequest:
    """One call's arguments, checked: music features come only with a prompt that has the music slot."""

    prompt: ExplainPrompt
    music_features: np.ndarray | None
    adapter: str | None
    max_tokens: int
    timeout: float


class GeneratingBackend(ABC):
    """What the real backends share: the argument check, and `generate` as the joined stream unless a
    backend has a cheaper one-shot path (`_generate`)."""

    def generate(self, prompt: ExplainPrompt, music_features: np.ndarray | None, adapter: str | None,
                 max_tokens: int, timeout: float) -> str:
        return self._generate(checked_request(prompt, music_features, adapter, max_tokens, timeout))

    def stream(self, prompt: ExplainPrompt, music_features: np.ndarray | None, adapter: str | None,
               max_tokens: int, timeout: float) -> Iterator[str]:
        return self._stream(checked_request(prompt, music_features, adapter, max_tokens, timeout))

    def _generate(self, request: GenerationRequest) -> str:
        return "".join(self._stream(request))

    @abstractmethod
    def _stream(self, request: GenerationRequest) -> Iterator[str]: ...


class ProjectorRegistry:
    """Projectors trained with each adapter (the soft token only means something to its own adapter)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[torch.nn.Module, ProjectorConfig]] = {}

    def register_dir(self, adapter: str, path: Path) -> None:
        if has_projector(path):
            item = load_projector(path)
            with self._lock:
                self._items[adapter] = item

    def soft_tokens(self, adapter: str | None, features: np.ndarray) -> torch.Tensor:
        import torch

        if adapter is None:
            raise BackendError("the music token needs an adapter: the base model has no trained projector")
        with self._lock:
            item = self._items.get(adapter)
        if item is None:
            raise BackendError(f"adapter {adapter!r} has no projector; the music token is unavailable for it")
        projector, cfg = item
        with torch.inference_mode():
            return project(projector, cfg, features)


def checked_request(prompt: ExplainPrompt, music_features: np.ndarray | None, adapter: str | None,
                    max_tokens: int, timeout: float) -> GenerationRequest:
    if (music_features is not None) != prompt.has_music_slot:
        raise ValueError(
            "music_features and the prompt's music slot go together: build the prompt with "
            f"music={music_features is not None}"
        )
    return GenerationRequest(prompt, music_features, adapter, max_tokens, timeout)


# ------------------------------------------------------------------------------ grounded decoding
def phrase_variants(phrase: str) -> list[str]:
    """The written forms of a banned phrase: lower-case and capitalised, spaced and hyphenated (the
    check's pattern takes either), without the leading space each backend adds as its tokenizer needs."""
    forms = {phrase, phrase.replace(" ", "-")}
    return sorted({f for form in forms for f in (form, form[:1].upper() + form[1:])})


_MIN_CUT_LETTERS = 3


class BanForms:
    """The written forms each backend bans for a phrase: `phrase_variants`, and for a phrase of several
    words the same with its last word cut to each shorter start (>= 3 letters) that the tokenizer writes
    as one token. A claim word can be spelt in pieces the whole word's ban does not see: "features vocAL"
    is " features", " voc", "AL" (the default adapter wrote it once in 202 answers). Only after the lead
    words, so a cut never bans a word start on its own. Cached per phrase, the lexicon being fixed."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._cache: dict[str, tuple[str, ...]] = {}

    def _one_token(self, text: str) -> bool:
        return len(self._tokenizer.encode(f" {text}", add_special_tokens=False)) == 1

    def forms(self, phrase: str) -> tuple[str, ...]:
        cached = self._cache.get(phrase)
        if cached is None:
            forms = set(phrase_variants(phrase))
            if " " in phrase:
                head, last = phrase.rsplit(" ", 1)
                for k in range(_MIN_CUT_LETTERS, len(last)):
                    if self._one_token(last[:k]):
                        forms.update(phrase_variants(f"{head} {last[:k]}"))
            cached = self._cache[phrase] = tuple(sorted(forms))
        return cached

    def all_forms(self, phrases: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(f for phrase in phrases for f in self.forms(phrase)))


class PhraseTokens:
    """A prompt's banned phrases (`BanForms`) as token-id sequences of one tokenizer, each form as it
    follows a space (where a claim word stands in a sentence); cached per phrase."""

    def __init__(self, tokenizer: Any, forms: BanForms | None = None) -> None:
        self._tokenizer = tokenizer
        self._forms = forms or BanForms(tokenizer)
        self._cache: dict[str, tuple[tuple[int, ...], ...]] = {}

    def sequences(self, phrases: Iterable[str]) -> list[tuple[int, ...]]:
        out: dict[tuple[int, ...], None] = {}
        for phrase in phrases:
            cached = self._cache.get(phrase)
            if cached is None:
                cached = tuple(tuple(self._tokenizer.encode(f" {v}", add_special_tokens=False))
                               for v in self._forms.forms(phrase))  # fmt: skip
                self._cache[phrase] = cached
            out.update(dict.fromkeys(s for s in cached if s))
        return list(out)


class NextTokenBans:
    """Which next tokens would complete a banned sequence after the tokens generated so far: a decoding
    step masks them (the same rule as CTranslate2's `suppress_sequences` and vLLM's `bad_words`)."""

    def __init__(self, sequences: Iterable[Sequence[int]]) -> None:
        self._after: dict[tuple[int, ...], set[int]] = {}
        for seq in sequences:
            self._after.setdefault(tuple(seq[:-1]), set()).add(seq[-1])
        self._lengths = sorted({len(prefix) for prefix in self._after})

    def banned(self, generated: Sequence[int]) -> set[int]:
        out: set[int] = set()
        for n in self._lengths:
            if n <= len(generated):
                out |= self._after.get(tuple(generated[len(generated) - n :]), set())
        return out


def tidy_completion(text: str) -> str:
    """Whitespace-normalised text, cut after its last full sentence when generation stopped mid-way."""
    text = " ".join(text.replace("<|im_end|>", " ").split())
    if text and text[-1] not in ".!?\"'”":
        cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
        if cut > 0:
            text = text[: cut + 1]
    return text


_FIRST_SENTENCE = re.compile(r"\s*[^.!?]*[.!?]")


def answer_text(prompt: ExplainPrompt, continuation: str) -> str:
    """The given start of the answer and the model's continuation, less a first sentence that names the
    pick again: a model can start over after the given opener ('My pick is "X" by Y.Listen to "X" by Y.
    It ...', seen from an adapter trained with the opener both given and in its references). The final
    text is what the check sees and the stream's `final` event carries."""
    title, artist = (name.lower() for name in prompt.named)
    first = _FIRST_SENTENCE.match(continuation)
    if prompt.answer_prefix and title and first and title in first.group().lower() and artist in first.group().lower():
        continuation = " " + continuation[first.end() :].lstrip()
    return tidy_completion(prompt.answer_prefix + continuation)
