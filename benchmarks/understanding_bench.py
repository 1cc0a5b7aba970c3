"""Request understanding: intent accuracy on the wording banks, against the previous rule parser, in one run.

    .venv/bin/python benchmarks/understanding_bench.py [--out docs/benchmarks]

Writes docs/benchmarks/understanding.{json,md}. Intent accuracy = exact match of the whole typed request
(every attribute, direction, intensity, bound, lift; a contradiction must name its attribute). The
baseline is the parser the gateway used before (gateway/constraints.py at 9334ce7, copied below): it only
produced hard filters, so both are also scored on that projection (instrumental-only, instrument
removals, duration bounds), where the baseline is on its own ground. Time per utterance is the median of
`--repeats` passes over every sentence, both parsers in the same process; peak RSS beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from report import environment, fmt, loadavg, peak_rss_mb, table, write_json, write_markdown

from musechat.understanding.banks import SPLITS, accuracy, load_bank, reading, sentence_overlap
from musechat.understanding.errors import RequestConflictError
from musechat.understanding.rules import parse_utterance

# ------------------------------------------------------------------ the baseline (gateway/constraints.py @ 9334ce7)
_LEGACY_INSTRUMENTS = {"drums": "drums", "piano": "piano", "guitar": "guitar", "violin": "strings",
                       "strings": "strings", "synth": "synth"}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10,
                 "half a": 0.5, "thirty": 30, "twenty": 20, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
_NO_VOCALS = re.compile(
    r"\b(no|without|zero|drop the|lose the|remove the|get rid of the|less)\s+"
    r"(vocals?|voices?|singing|singers?|lyrics)\b"
    r"|\binstrumental\b|\bno one singing\b|\bnobody singing\b", re.I)
_NO_INSTRUMENT = re.compile(
    r"\b(?:no|without|drop the|lose the|remove the)\s+(drums|piano|guitar|violin|strings|synth)\b", re.I)
_AMOUNT = r"(\d+(?:\.\d+)?|a|an|one|two|three|four|five|ten|twenty|thirty|forty|fifty|sixty|ninety|half a)"
_UNIT = r"(seconds?|secs?|s|minutes?|mins?|m)\b"
_MAX = re.compile(rf"\b(?:under|below|less than|shorter than|at most|no longer than|max(?:imum)?(?: of)?|within)\s+"
                  rf"{_AMOUNT}\s*{_UNIT}", re.I)
_MIN = re.compile(
    rf"(?<!no )\b(?:over|above|more than|longer than|at least|min(?:imum)?(?: of)?)\s+{_AMOUNT}\s*{_UNIT}", re.I)


def _seconds(amount: str, unit: str) -> float:
    value = _NUMBER_WORDS.get(amount.lower())
    number = float(amount) if value is None else float(value)
    return number * 60 if unit.lower().startswith("m") else number


def legacy_hard_view(text: str) -> dict[str, Any]:
    max_match, min_match = _MAX.search(text), _MIN.search(text)
    return {"vocals_off": bool(_NO_VOCALS.search(text)),
            "removed": sorted({_LEGACY_INSTRUMENTS[m.group(1).lower()] for m in _NO_INSTRUMENT.finditer(text)}),
            "min_s": _seconds(*min_match.groups()) if min_match else None,
            "max_s": _seconds(*max_match.groups()) if max_match else None}


def hard_view(flat: dict[str, Any]) -> dict[str, Any]:
    """The hard-filter projection of a bank label (or of a reading)."""
    return {"vocals_off": flat.get("vocals") == "off",
            "removed": sorted(k.split(".")[1] for k, v in flat.items()
                              if k.startswith("instrument.") and k.count(".") == 1 and v == "none"),
            "min_s": flat.get("duration.min_s"), "max_s": flat.get("duration.max_s")}


def _median_us(fn: Any, texts: list[str], repeats: int) -> float:
    per_pass = []
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        per_pass.append((time.perf_counter() - start) / len(texts) * 1e6)
    return statistics.median(per_pass)


def _safe_parse(text: str) -> None:
    with contextlib.suppress(RequestConflictError):  # a normal outcome: the words contradict themselves
        parse_utterance(text)


def run(repeats: int) -> dict[str, Any]:
    env = environment()
    banks = {split: load_bank(split) for split in SPLITS}
    splits: dict[str, Any] = {}
    for split, rows in banks.items():
        acc, misses = accuracy(rows)
        kinds = Counter(row["kind"] for row in rows)
        per_kind = {kind: accuracy([r for r in rows if r["kind"] == kind])[0] for kind in sorted(kinds)}
        scored = [r for r in rows if "conflict" not in r["expect"]]
        ours_hard = sum(hard_view(reading(r["text"])) == hard_view(r["expect"]) for r in scored) / len(scored)
        legacy_hard = sum(legacy_hard_view(r["text"]) == hard_view(r["expect"]) for r in scored) / len(scored)
        splits[split] = {
            "sentences": len(rows), "intent_accuracy": acc, "per_kind": per_kind, "kinds": dict(kinds),
            "negation_or_direction_share": (kinds["negation"] + kinds["direction"]) / len(rows),
            "hard_filter_accuracy": {"understanding": ours_hard, "legacy_rules": legacy_hard},
            "misses": [{"text": m["text"], "expect": m["expect"], "got": m["got"]} for m in misses],
        }
    texts = [row["text"] for rows in banks.values() for row in rows]
    ours_us, legacy_us = _median_us(_safe_parse, texts, repeats), _median_us(legacy_hard_view, texts, repeats)
    return {
        "environment": env.__dict__ | {"loadavg_end": loadavg()},
        "method": "rules (lexicon + negation scope + copula predicates + unit patterns), no model call",
        "splits": splits,
        "sentence_overlap": {"train_in_test": sentence_overlap(banks["train"], banks["test"]),
                             "train_in_val": sentence_overlap(banks["train"], banks["val"]),
                             "val_in_test": sentence_overlap(banks["val"], banks["test"])},
        "latency_us_per_utterance": {"understanding": ours_us, "legacy_rules": legacy_us,
                                     "ratio": ours_us / legacy_us, "sentences": len(texts), "repeats": repeats},
        "peak_rss_mb": peak_rss_mb(),
    }


def markdown(result: dict[str, Any]) -> list[str]:
    env, splits, lat = result["environment"], result["splits"], result["latency_us_per_utterance"]
    lines = [
        "# Request understanding: intent accuracy on held-out wording",
        "",
        f"Run {env['date_utc']} on {env['machine']}, {env['cpus']} CPUs (shared), Python {env['python']}; "
        f"load {env['loadavg']} → {env['loadavg_end']}; peak RSS {fmt(result['peak_rss_mb'])} MB. "
        "Written by `benchmarks/understanding_bench.py`.",
        "",
        "Intent accuracy = the whole typed request of one utterance exactly right (every attribute, direction, "
        "intensity, bound and lift; a contradiction must name its attribute). Banks: `train` generated from "
        "templates (`understanding/banks.py`), `val` written by hand and used to tune the rules, `test` written "
        "by hand before the reader existed and never tuned on (see the note below).",
        "",
        *table(["split", "sentences", "intent accuracy", "negations + direction changes",
                "hard filters: understanding", "hard filters: previous rules"],
               [[split, s["sentences"], f"{100 * s['intent_accuracy']:.1f} %",
                 f"{100 * s['negation_or_direction_share']:.0f} %",
                 f"{100 * s['hard_filter_accuracy']['understanding']:.1f} %",
                 f"{100 * s['hard_filter_accuracy']['legacy_rules']:.1f} %"] for split, s in splits.items()]),
        "",
        "Per kind on `test`:",
        "",
        *table(["kind", "sentences", "intent accuracy"],
               [[kind, splits["test"]["kinds"][kind], f"{100 * acc:.1f} %"]
                for kind, acc in splits["test"]["per_kind"].items()]),
        "",
        f"Sentence overlap (normalised, exact): train→test {100 * result['sentence_overlap']['train_in_test']:.1f} %, "
        f"train→val {100 * result['sentence_overlap']['train_in_val']:.1f} %, "
        f"val→test {100 * result['sentence_overlap']['val_in_test']:.1f} %.",
        "",
        f"Time per utterance (median of {lat['repeats']} passes over {lat['sentences']} sentences): understanding "
        f"{fmt(lat['understanding'])} µs, previous rules {fmt(lat['legacy_rules'])} µs "
        f"(×{fmt(lat['ratio'])}); both far below the text model's ~4-5 ms per new sentence.",
        "",
        "Misses on `test`:",
        "",
        *([f"- `{m['text']}`: expected `{m['expect']}`, read `{m['got']}`" for m in splits["test"]["misses"]]
          or ["- none"]),
        "",
        "Honesty note: the same engineer wrote the test bank (first, committed before any parser code) and the "
        "lexicon, so the lexicon author had read the test sentences; the first measurement on `test`, before any "
        "tuning on `val`, was 142/149 = 95.3 %. The rules were then tuned on `val` only; three fixes also "
        "touched test constructions (apostrophe-less contractions, \"anything but\", \"nobody\"). No model was "
        "trained: the classifier route of issue #12 was not built, so `train` serves as a regression set.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    result = run(args.repeats)
    write_json(args.out / "understanding.json", result)
    write_markdown(args.out / "understanding.md", markdown(result))
    test = result["splits"]["test"]
    print(f"test intent accuracy {100 * test['intent_accuracy']:.1f} % on {test['sentences']} sentences",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
