"""Prompt embeddings: the base model's input-embedding rows for the text tokens, with the projected
music vector(s) spliced in at the music placeholder. Used identically by training, the local backend
and the vLLM backend (which sends the result as `prompt_embeds`), so the soft token sits in the same
place everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musechat.explain.prompt import ExplainPrompt, split_at_music

if TYPE_CHECKING:
    import torch

EmbedFn = Callable[["torch.Tensor"], "torch.Tensor"]


def render_prompt(tokenizer: Any, prompt: ExplainPrompt) -> str:
    """The prompt in the base model's chat format, ending where the assistant's answer starts (after the
    given start of the answer, if any: the model continues it)."""
    text = tokenizer.apply_chat_template(prompt.messages(), tokenize=False, add_generation_prompt=True)
    if not isinstance(text, str):
        raise TypeError(f"chat template returned {type(text).__name__}, expected str")
    return text + prompt.answer_prefix


def token_ids(tokenizer: Any, text: str) -> list[int]:
    # The chat template already holds the special tokens; adding more would shift every position.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def embed_prompt(
    tokenizer: Any, embed: EmbedFn, prompt: ExplainPrompt, music: torch.Tensor | None
) -> torch.Tensor:
    """[L, H] prompt embeddings. `music` ([k, H]) is required exactly when the prompt has a music slot."""
    import torch

    rendered = render_prompt(tokenizer, prompt)
    if music is None:
        if prompt.has_music_slot:
            raise ValueError("the prompt has a music slot but no music vectors were given")
        return embed(torch.tensor(token_ids(tokenizer, rendered)))
    if not prompt.has_music_slot:
        raise ValueError("music vectors were given but the prompt has no music slot (build_prompt(music=True))")
    before, after = split_at_music(rendered)
    head = embed(torch.tensor(token_ids(tokenizer, before)))
    tail = embed(torch.tensor(token_ids(tokenizer, after)))
    return torch.cat([head, music.to(head.dtype), tail], dim=0)


def load_input_embeddings(model_dir: Path) -> torch.Tensor:
    """Only the input-embedding matrix [vocab, H] of a Hugging Face checkpoint, read lazily from
    safetensors: the vLLM-side service needs no full model in memory to build prompt embeddings."""
    from safetensors import safe_open

    index = model_dir / "model.safetensors.index.json"
    if index.is_file():
        weight_map: dict[str, str] = json.loads(index.read_text())["weight_map"]
        candidates = [(k, model_dir / f) for k, f in weight_map.items()]
    else:
        single = model_dir / "model.safetensors"
        if not single.is_file():
            raise FileNotFoundError(f"no model.safetensors(.index.json) in {model_dir}")
        with safe_open(str(single), framework="pt") as f:
            candidates = [(k, single) for k in f.keys()]  # noqa: SIM118 - safe_open is not a dict
    for key, file in candidates:
        if key.endswith("embed_tokens.weight"):
            with safe_open(str(file), framework="pt") as f:
                return f.get_tensor(key)
    raise KeyError(f"no '*embed_tokens.weight' tensor in {model_dir}")
