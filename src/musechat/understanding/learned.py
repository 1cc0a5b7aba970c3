"""A learned reader, measured against the rules: a small slot classifier on the text encoder's token states.

The issue behind request understanding (#12) proposed "a small classifier on the text encoder's token
states trained on generated, varied wordings" with rules as the fallback, and asked for the choice to be
measured. This is that classifier, so the choice rests on a measurement (benchmarks/understanding_learned_bench.py,
docs/benchmarks/understanding_learned.md), not an argument.

    slots = SlotSpace()
    model = train_slot_reader(features, [slots.encode(row["expect"]) for row in rows], slots.sizes, settings)
    reading = slots.decode(predict(model, [features_of_text])[0], numbers=rules_numbers)

It reads the categorical part of a request, one slot per attribute (tempo faster/slower/lift; vocals
on/off/male/female/lift; each instrument, genre and mood more/less/none/lift; a shorter/longer track; a
licence lift; "something else") and one degree (slight/normal/strong) for the whole utterance. Numbers
(BPM, duration bounds) and licence names are patterns, not meanings: they come from the rules' reading, as
does a contradiction (a 422 is the rules' job). Token states → a projection → a bidirectional GRU (negation
scope is order) → one attention pool per slot → that slot's classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from musechat.contracts.request import GENRES, INSTRUMENTS, MOODS

if TYPE_CHECKING:
    import torch

LIFT = "lift"
NOTHING = ""
DEGREES = ("normal", "slight", "strong")
# Flat label keys the rules supply to every reader: numbers and licence names are read by pattern.
PATTERN_KEYS = ("tempo.min_bpm", "tempo.max_bpm", "duration.min_s", "duration.max_s", "licences")
# Directions a degree applies to (a removal has none in the banks' labels).
_GRADED = {"faster", "slower", "more", "less"}


@dataclass(frozen=True)
class Slot:
    key: str            # the flat label key ("tempo", "instrument.guitar", ...)
    classes: tuple[str, ...]   # NOTHING first


def _slots() -> tuple[Slot, ...]:
    changes = tuple(Slot(f"{kind}.{name}", (NOTHING, "more", "less", "none", LIFT))
                    for kind, names in (("instrument", INSTRUMENTS), ("genre", GENRES), ("mood", MOODS))
                    for name in names)
    return (Slot("tempo", (NOTHING, "faster", "slower", LIFT)),
            Slot("vocals", (NOTHING, "on", "off", "male", "female", LIFT)),
            *changes,
            Slot("duration", (NOTHING, "shorter", "longer", LIFT)),
            Slot("licence", (NOTHING, LIFT)),
            Slot("something_else", (NOTHING, "yes")),
            Slot("degree", DEGREES))


class SlotSpace:
    """Bank labels (flat `UnderstoodRequest`, banks.py) ↔ one class index per slot."""

    def __init__(self) -> None:
        self.slots = _slots()

    @property
    def sizes(self) -> list[int]:
        return [len(slot.classes) for slot in self.slots]

    def encode(self, expect: dict[str, Any]) -> list[int]:
        """Class indexes of a bank label. A conflict label has no slot reading: callers leave those rows out."""
        if "conflict" in expect:
            raise ValueError("a conflict label has no slot reading")
        lifted = set(expect.get("lifted", ()))
        intensities = {value for key, value in expect.items() if key.endswith("intensity")}
        out = []
        for slot in self.slots:
            if slot.key == "degree":
                value = "strong" if "strong" in intensities else "slight" if "slight" in intensities else "normal"
            elif slot.key == "something_else":
                value = "yes" if expect.get("something_else") else NOTHING
            elif slot.key == "licence":
                value = LIFT if "licence" in lifted else NOTHING
            else:
                value = expect.get(slot.key) or (LIFT if slot.key in lifted else NOTHING)
            out.append(slot.classes.index(value))
        return out

    def decode(self, classes: Sequence[int], numbers: dict[str, Any] | None = None) -> dict[str, Any]:
        """A bank label from class indexes, with the pattern-read keys (`PATTERN_KEYS`) from `numbers` (any
        flat reading: its other keys are ignored)."""
        flat: dict[str, Any] = {}
        lifted: list[str] = []
        degree = "normal"
        for slot, index in zip(self.slots, classes, strict=True):
            value = slot.classes[index]
            if slot.key == "degree":
                degree = value
            elif value == LIFT:
                lifted.append(slot.key)
            elif value and slot.key == "something_else":
                flat["something_else"] = True
            elif value:
                flat[slot.key] = value
        if degree != "normal":
            for key, value in list(flat.items()):
                if value in _GRADED:
                    flat[f"{key}.intensity"] = degree
        if lifted:
            flat["lifted"] = sorted(lifted)
        flat.update({key: value for key, value in (numbers or {}).items() if key in PATTERN_KEYS})
        return flat


@dataclass(frozen=True)
class TrainSettings:
    hidden: int = 128
    epochs: int = 60
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    dropout: float = 0.2
    batch_size: int = 32
    seed: int = 0


def _build(sizes: list[int], dim: int, settings: TrainSettings) -> torch.nn.Module:
    import torch
    from torch import nn

    class SlotReader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.drop = nn.Dropout(settings.dropout)
            self.project = nn.Linear(dim, settings.hidden)
            self.gru = nn.GRU(settings.hidden, settings.hidden // 2, batch_first=True, bidirectional=True)
            self.queries = nn.Parameter(torch.randn(len(sizes), settings.hidden) * 0.1)
            self.heads = nn.ModuleList(nn.Linear(settings.hidden, size) for size in sizes)

        def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
            hidden = torch.nn.functional.gelu(self.project(self.drop(tokens)))
            packed = nn.utils.rnn.pack_padded_sequence(hidden, lengths.cpu(), batch_first=True,
                                                       enforce_sorted=False)
            states, _ = self.gru(packed)
            states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=tokens.shape[1])
            states = self.drop(states)
            scores = torch.einsum("btd,sd->bst", states, self.queries) / settings.hidden ** 0.5
            padding = torch.arange(tokens.shape[1])[None, :] >= lengths[:, None]
            scores = scores.masked_fill(padding[:, None, :], float("-inf"))
            pooled = torch.einsum("bst,btd->bsd", scores.softmax(-1), states)
            return [head(pooled[:, i]) for i, head in enumerate(self.heads)]

    return SlotReader()


def _batch(features: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    lengths = torch.tensor([f.shape[0] for f in features])
    tokens = torch.zeros(len(features), int(lengths.max()), features[0].shape[1])
    for i, f in enumerate(features):
        tokens[i, : f.shape[0]] = torch.from_numpy(np.asarray(f, dtype=np.float32))
    return tokens, lengths


def train_slot_reader(features: Sequence[np.ndarray], labels: Sequence[Sequence[int]], sizes: list[int],
                      settings: TrainSettings) -> torch.nn.Module:
    """Fit a slot reader on token states [length, dim] per sentence and their class indexes per slot."""
    import torch

    torch.manual_seed(settings.seed)
    model = _build(sizes, features[0].shape[1], settings)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    targets = torch.tensor(labels)
    order = np.random.default_rng(settings.seed)
    model.train()
    for _ in range(settings.epochs):
        permutation = order.permutation(len(features))
        for start in range(0, len(features), settings.batch_size):
            index = permutation[start: start + settings.batch_size]
            tokens, lengths = _batch([features[i] for i in index])
            logits = model(tokens, lengths)
            loss = sum(torch.nn.functional.cross_entropy(out, targets[index, s]) for s, out in enumerate(logits))
            optimiser.zero_grad()
            loss.backward()  # type: ignore[union-attr]
            optimiser.step()
    model.eval()
    return model


def predict(model: torch.nn.Module, features: Sequence[np.ndarray], batch_size: int = 64) -> list[list[int]]:
    """The most likely class per slot, per sentence."""
    import torch

    out: list[list[int]] = []
    with torch.inference_mode():
        for start in range(0, len(features), batch_size):
            tokens, lengths = _batch(features[start: start + batch_size])
            logits = model(tokens, lengths)
            out.extend(torch.stack([x.argmax(-1) for x in logits], dim=1).tolist())
    return out
