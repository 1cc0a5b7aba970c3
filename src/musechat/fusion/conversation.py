"""Conversation-level measures of a fusion model (issue #12) on the synthetic benchmark's test pools.

- Held-out wording: every test query's words are replaced by sentences from the request-understanding
  wording banks (src/musechat/understanding/banks), written by hand apart from the fusion phrasebooks;
  R@1 and MR are taken on the same pools as the in-distribution figures.
- Simulated conversation (``simulate``): turn 1 ranks the query's pool by the video alone; at every later
  turn the candidate is the system's own previous pick and the user's words ask for the target's value
  of the attributes (instrument, vocals, tempo) in which that pick differs from the target. Tracks
  already shown are not shown again. success@k = share of queries whose target is the top pick at some
  turn <= k (so it cannot fall as k grows; it rises only when later turns find the target).
- ``sentence_overlap``: share of test sentences that occur verbatim in the train sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from musechat.fusion.evaluate import EvalError, EvalSet, ranks_from_scores
from musechat.fusion.synth import ATTRIBUTES, INSTRUMENTS, TEMPOS, VOCALS, Change, Speaker

if TYPE_CHECKING:
    from musechat.fusion.model import FusionModel

TokenEncoder = Callable[[list[str]], list[np.ndarray]]

_VOCAL_OF_TAG = {"male vocals": "male", "female vocals": "female", "no vocals": "none"}


def track_attributes(meta: dict[str, Any]) -> dict[str, int]:
    """A synthetic track's attribute value indices from its catalog tags (genre, genre, instrument,
    vocals, tempo)."""
    tags = meta["tags"]
    return {
        "instrument": INSTRUMENTS.index(tags[2]),
        "vocals": VOCALS.index(_VOCAL_OF_TAG[tags[3]]),
        "tempo": TEMPOS.index(tags[4]),
    }


def recorded_changes(record: dict[str, Any]) -> list[Change]:
    """A quartet's changes (candidate -> target) as the generator recorded them, as value indices."""
    return [(c["attribute"], ATTRIBUTES[c["attribute"]].index(c["from"]), ATTRIBUTES[c["attribute"]].index(c["to"]))
            for c in record["extra"]["changes"]]


def changes_toward(current: dict[str, int], target: dict[str, int]) -> list[Change]:
    """What the user asks for: the target's value of (at most two of) the attributes the current pick gets
    wrong, in ATTRIBUTES order. When none is wrong (the pick differs only in style), the user restates the
    target's instrument, since the words must say something."""
    wrong = [(a, current[a], target[a]) for a in ATTRIBUTES if current[a] != target[a]]
    return wrong[:2] or [("instrument", target["instrument"], target["instrument"])]


def sentence_overlap(train: Sequence[str], test: Sequence[str]) -> dict[str, float]:
    """Share (%) of test sentences found verbatim among the train sentences: per test query, and per
    distinct test sentence."""
    seen = set(train)
    distinct = set(test)
    if not test:
        raise EvalError("no test sentences to compare")
    return {
        "per_query_pct": round(100.0 * sum(s in seen for s in test) / len(test), 2),
        "per_distinct_sentence_pct": round(100.0 * len(distinct & seen) / len(distinct), 2),
    }


def relative_drop_pct(in_distribution: float, heldout: float) -> float:
    """How far (% of the in-distribution figure) the held-out figure falls; negative when it rises."""
    return round(100.0 * (in_distribution - heldout) / max(in_distribution, 1e-9), 1)


def success_at_turn(first_hit: np.ndarray, turns: int) -> dict[str, float]:
    """success@k (%) for k = 1..turns; ``first_hit[q]`` is the turn whose top pick was q's target, 0 if none."""
    if first_hit.size == 0:
        raise EvalError("no conversations to score")
    return {str(k): round(100.0 * float(((first_hit >= 1) & (first_hit <= k)).mean()), 2) for k in range(1, turns + 1)}


def top_picks(scores: np.ndarray, priority: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Per query, the pool position with the highest score among those not yet shown; ties go to the
    lower ``priority`` (the protocol's tie-break)."""
    masked = np.where(shown, -np.inf, scores)
    return np.lexsort((priority, -masked))[:, 0]


def _padded(rows: list[np.ndarray]) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    out = np.zeros((len(rows), width, rows[0].shape[1]), dtype=np.float32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    lengths = torch.tensor([len(r) for r in rows])
    return torch.from_numpy(out), torch.arange(width)[None, :] < lengths[:, None]


class _Encoder:
    """Batched query/music encoding of one model over one evaluation set."""

    def __init__(self, model: FusionModel, es: EvalSet, batch_size: int) -> None:
        import torch

        from musechat.fusion.train import TensorSet

        self.model, self.es, self.batch_size = model.eval(), es, batch_size
        self.data = TensorSet(es.ds)
        self.device = torch.device("cpu")
        self.tracks = self._music(es.track_index)

    def _music(self, rows: np.ndarray) -> np.ndarray:
        import torch

        outs = []
        with torch.inference_mode():
            for i in range(0, len(rows), self.batch_size):
                b = self.data.batch(torch.from_numpy(rows[i : i + self.batch_size]), self.device)
                outs.append(self.model.encode_music(b["target"], b["target_mask"]).float().numpy())
        return np.concatenate(outs)

    def scores(self, queries: np.ndarray, tokens: list[np.ndarray] | None = None,
               candidate_tracks: np.ndarray | None = None) -> np.ndarray:
        """Pool scores [len(queries), P]: the video alone (no ``tokens``), or the video with the words and a
        candidate: the catalog track ``candidate_tracks[i]``, or the quartet's own candidate when None."""
        import torch

        outs = []
        with torch.inference_mode():
            for i in range(0, len(queries), self.batch_size):
                q = queries[i : i + self.batch_size]
                b = self.data.batch(torch.from_numpy(q), self.device)
                if tokens is None:
                    emb = self.model.encode_query(b["video"], b["video_mask"])
                else:
                    cand, cand_mask = b["candidate"], b["candidate_mask"]
                    if candidate_tracks is not None:
                        rows = self.es.track_index[candidate_tracks[i : i + self.batch_size]]
                        c = self.data.batch(torch.from_numpy(rows), self.device)
                        cand, cand_mask = c["target"], c["target_mask"]
                    text, text_mask = _padded(tokens[i : i + self.batch_size])
                    emb = self.model.encode_query(b["video"], b["video_mask"], cand, cand_mask, text, text_mask)
                outs.append(np.einsum("qd,qpd->qp", emb.float().numpy(), self.tracks[self.es.pools.tracks[q]]))
        return np.concatenate(outs)


def ranks_with_words(model: FusionModel, es: EvalSet, tokens: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Turn-2 target ranks on the protocol's pools, each query with its own candidate and the given words."""
    if len(tokens) != len(es.ds):
        raise EvalError(f"need one token matrix per query ({len(es.ds)}), got {len(tokens)}")
    return ranks_from_scores(_Encoder(model, es, batch_size).scores(np.arange(len(es.ds)), tokens), es.pools)


def simulate(model: FusionModel, es: EvalSet, speak: Speaker, encode_text: TokenEncoder, turns: int = 5,
             seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """Run the simulated conversation (module docstring) on every test query; the turn whose top pick was
    the target per query, 0 if none within ``turns``."""
    if turns < 1:
        raise EvalError(f"turns must be >= 1, got {turns}")
    enc = _Encoder(model, es, batch_size)
    rng = np.random.default_rng([seed, 12])
    attrs = [track_attributes(es.ds.records[int(row)]["target_meta"]) for row in es.track_index]
    n, pool = es.pools.tracks.shape
    shown = np.zeros((n, pool), dtype=bool)
    first_hit = np.zeros(n, dtype=np.int64)
    everyone = np.arange(n)
    pick = top_picks(enc.scores(everyone), es.pools.priority, shown)
    for turn in range(1, turns + 1):
        if turn > 1:
            active = np.flatnonzero(first_hit == 0)
            if active.size == 0:
                break
            previous = es.pools.tracks[active, pick[active]]
            targets = es.pools.tracks[active, 0]
            words = [speak(changes_toward(attrs[int(p)], attrs[int(t)]), rng)
                     for p, t in zip(previous, targets, strict=True)]
            scores = enc.scores(active, encode_text(words), previous)
            pick[active] = top_picks(scores, es.pools.priority[active], shown[active])
        live = first_hit == 0
        shown[everyone[live], pick[live]] = True
        first_hit[live & (pick == 0)] = turn
    return first_hit
