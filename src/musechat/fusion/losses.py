"""Symmetric InfoNCE with a learnable temperature and the turn-1 candidate as an explicit hard negative."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

MAX_LOGIT_SCALE = 100.0  # CLIP's clamp: keeps the learnable temperature from collapsing


def info_nce(
    query: Tensor,
    target: Tensor,
    candidate: Tensor | None,
    log_scale: Tensor,
    target_keys: Tensor | None = None,
    candidate_keys: Tensor | None = None,
    unseen_candidate: Tensor | None = None,
) -> Tensor:
    """Mean of the query->music and music->query cross-entropies over a batch of B pairs.

    ``query``, ``target``, ``candidate``: L2-normalised [B, D]. Query i must pick target i among all B
    targets and all B candidates (its own candidate is the hard negative); target i must pick query i
    among the B queries. ``*_keys`` ([B] track codes) hide negatives that are the very same track as the
    positive (a dataset may hold one song in several quartets), so they are not pushed away from it.
    ``unseen_candidate`` ([B] bool): queries that did not see their candidate (turn-1 samples of modality
    dropout). Their own candidate is not a negative for them: it shares the target's video, and nothing
    in the video alone says which of the two the user will want, so pushing it away would only teach the
    video branch noise (it cost turn-1 R@1 11 vs 19 for the video-only model).
    """
    b = query.shape[0]
    scale = log_scale.exp().clamp(max=MAX_LOGIT_SCALE)
    music = target if candidate is None else torch.cat([target, candidate], 0)
    logits_q = scale * query @ music.t()  # [B, B] or [B, 2B]
    logits_m = scale * target @ query.t()  # [B, B]
    labels = torch.arange(b, device=query.device)
    if target_keys is not None:
        same = target_keys[:, None] == target_keys[None, :]
        same.fill_diagonal_(False)
        logits_m = logits_m.masked_fill(same, float("-inf"))
        hide = same
        if candidate is not None:
            keys = candidate_keys if candidate_keys is not None else torch.full_like(target_keys, -1)
            hide = torch.cat([same, target_keys[:, None] == keys[None, :]], 1)
        logits_q = logits_q.masked_fill(hide, float("-inf"))
    if candidate is not None and unseen_candidate is not None:
        own = torch.zeros(b, 2 * b, dtype=torch.bool, device=query.device)
        own[labels, labels + b] = unseen_candidate
        logits_q = logits_q.masked_fill(own, float("-inf"))
    return 0.5 * (F.cross_entropy(logits_q, labels) + F.cross_entropy(logits_m, labels))
