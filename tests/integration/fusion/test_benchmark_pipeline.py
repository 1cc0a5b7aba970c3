"""A tiny benchmark with the real all-MiniLM-L6-v2 text model: generate, train a few steps, evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musechat.fusion.conversation import (
    ranks_with_words,
    recorded_changes,
    sentence_overlap,
    simulate,
    success_at_turn,
)
from musechat.fusion.data import QuartetDataset
from musechat.fusion.evaluate import EvalSet, evaluate_checkpoints
from musechat.fusion.model import load_checkpoint, load_config
from musechat.fusion.synth import BankWording, TextTokenEncoder, generate_benchmark, load_phrasebook
from musechat.fusion.train import train_variant
from musechat.understanding.banks import load_bank

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def encoder() -> TextTokenEncoder:
    return TextTokenEncoder()  # the real all-MiniLM-L6-v2, loaded once for the module


def test_generate_train_evaluate(tmp_path: Path, encoder: TextTokenEncoder) -> None:
    summary = generate_benchmark(tmp_path / "bench", 160, seed=3, encoder=encoder, progress=False)
    assert summary["splits"]["train"]["count"] == 128 and summary["splits"]["test"]["count"] == 24
    test = QuartetDataset(tmp_path / "bench" / "test")
    assert test.dims.text == 384 and test.info["text_encoder"].endswith("all-MiniLM-L6-v2")
    q = test[0]
    assert q.text_tokens.shape[0] >= 3 and np.abs(q.text_tokens).sum() > 0
    assert q.explanation.startswith(f"I suggest {q.target_meta.title} by {q.target_meta.artist}.")
    assert q.conversation[-1] == {"role": "user", "text": q.user_text}
    # A wording per split: no sentence of val or test is spoken in train (issue #12).
    bench = tmp_path / "bench"
    text = {s: [r["user_text"] for r in QuartetDataset(bench / s).records] for s in ("train", "val", "test")}
    assert not set(text["train"]) & (set(text["val"]) | set(text["test"])) and not set(text["val"]) & set(text["test"])
    assert summary["wording"]["test"] == "paraphrase_test" and "train bank" in summary["wording"]["train"]

    runs = {}
    for variant in ("mvp", "musechat"):
        cfg = load_config(variant)
        cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"batch_size": 32})})
        result = train_variant(cfg, tmp_path / "bench" / "train", tmp_path / "runs" / variant, steps=3, progress=False)
        assert np.isfinite(result.final_loss)
        runs[variant] = tmp_path / "runs" / variant

    report = evaluate_checkpoints(tmp_path / "bench", runs, tmp_path / "report", pool_size=20)
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert saved["pool_size"] == 20 and set(saved["variants"]) == {"mvp", "musechat", "random"}
    for row in saved["variants"].values():
        assert set(row) == {"MR", "mean_rank", "R@1", "R@5", "R@10", "turn1_R@1", "SR"}
        assert 1 <= row["MR"] <= 20 and 0 <= row["R@1"] <= row["R@5"] <= row["R@10"] <= 100
    assert saved["variants"]["mvp"]["SR"] == saved["variants"]["mvp"]["R@1"]  # video-only: two equal tries
    assert saved["variants"]["mvp"]["turn1_R@1"] == saved["variants"]["mvp"]["R@1"]
    md = (tmp_path / "report" / "report.md").read_text()
    assert "Table 1" in md and "32.79" in md  # the paper's MuseChat R@1 beside ours
    assert (tmp_path / "report" / "recall_at_k.png").stat().st_size > 1000


def test_same_seed_other_phrasebook_changes_only_the_words(tmp_path: Path, encoder: TextTokenEncoder) -> None:
    generate_benchmark(tmp_path / "a", 40, seed=5, splits=["test"], encoder=encoder, progress=False)
    generate_benchmark(
        tmp_path / "b",
        40,
        seed=5,
        splits=["test"],
        wording=load_phrasebook("default"),  # the test split speaks paraphrase_test by default
        encoder=encoder,
        progress=False,
    )
    a, b = QuartetDataset(tmp_path / "a" / "test"), QuartetDataset(tmp_path / "b" / "test")
    assert np.array_equal(a.array("video"), b.array("video"))
    assert np.array_equal(a.array("target"), b.array("target"))
    assert [r["extra"] for r in a.records] == [r["extra"] for r in b.records]
    assert all(x["user_text"] != y["user_text"] for x, y in zip(a.records, b.records, strict=True))


def test_conversation_measures_with_the_real_text_model_and_banks(tmp_path: Path, encoder: TextTokenEncoder) -> None:
    generate_benchmark(tmp_path / "bench", 400, seed=4, encoder=encoder, progress=False)
    cfg = load_config("musechat")
    cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"batch_size": 32})})
    train_variant(cfg, tmp_path / "bench" / "train", tmp_path / "run", steps=3, progress=False)
    model, _ = load_checkpoint(tmp_path / "run")
    es = EvalSet.build(QuartetDataset(tmp_path / "bench" / "test"), pool_size=20)

    wording = BankWording([load_bank("test"), load_bank("val")])
    rng = np.random.default_rng(0)
    heldout = [wording.sentence(recorded_changes(r), rng) for r in es.ds.records]
    train_text = [r["user_text"] for r in QuartetDataset(tmp_path / "bench" / "train").records]
    assert sentence_overlap(train_text, heldout)["per_query_pct"] == 0.0
    ranks = ranks_with_words(model, es, encoder.encode(heldout))
    assert ranks.shape == (len(es.ds),) and ranks.min() >= 1 and ranks.max() <= 20

    first_hit = simulate(model, es, wording.sentence, encoder.encode, turns=20)
    at = success_at_turn(first_hit, 20)
    assert list(at.values()) == sorted(at.values()) and at["20"] == 100.0  # every pool track shown once at most
