"""Grounded decoding's ban list agrees with the grounding check, and the token-level ban rule."""

from __future__ import annotations

import re

import pytest

from musechat.explain.backends.base import BanForms, NextTokenBans, PhraseTokens, phrase_variants
from musechat.explain.data import ExplanationExample, TrackMeta
from musechat.explain.datasets import contradiction_examples, facts_examples
from musechat.explain.facts import ExplainContext
from musechat.explain.grounding import CatalogTitleIndex, check_grounding, contradicting_phrases, template_explanation
from musechat.explain.prompt import build_prompt, context_of

pytestmark = pytest.mark.unit

EXAMPLES = [*facts_examples(40, seed=10_000), *contradiction_examples(20, seed=20_000)]


def _context(ex: ExplanationExample) -> ExplainContext:
    return context_of(ex.track, ex.user_words, previous=ex.previous, video=ex.video)


@pytest.mark.parametrize("ex", EXAMPLES[:20] + EXAMPLES[-10:], ids=lambda e: e.track.title)
def test_every_banned_phrase_is_a_contradiction_the_check_reports(ex: ExplanationExample) -> None:
    context = _context(ex)
    banned = contradicting_phrases(context)
    assert banned
    for phrase in banned:
        # In a sentence about the video when it is a video word: bright/dark are checked in context.
        text = f'Try "{ex.track.title}" by {ex.track.artist}. The video and the track: {phrase}.'
        result = check_grounding(text, ex.track, CatalogTitleIndex(), context=context)
        assert result.contradictions, f"{phrase!r} banned but the check accepts {text!r}"


@pytest.mark.parametrize("ex", EXAMPLES, ids=lambda e: e.track.title)
def test_the_template_writes_no_banned_phrase(ex: ExplanationExample) -> None:
    """True facts are never banned: the grounded template uses none of the phrases."""
    context = _context(ex)
    text = template_explanation(ex.track, ex.user_words, context).lower()
    for name in (ex.track.title, ex.track.artist):
        text = text.replace(name.lower(), " ")
    used = [p for p in contradicting_phrases(context) if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text)]
    assert not used, f"{used} banned, yet the grounded template says them: {text!r}"


def test_a_request_not_met_bans_match_praise_and_as_you_asked() -> None:
    ex = next(e for e in EXAMPLES if _context(e).met is False)
    banned = contradicting_phrases(_context(ex))
    assert {"a good match", "as you asked", "a perfect fit"} <= set(banned)


def test_tempo_and_vocals_words_follow_the_facts() -> None:
    fast = TrackMeta(title="Red Sky", artist="Ana Bell", tags=("rock",), tempo_bpm=150.0, vocals=True)
    slow_before = TrackMeta(title="Old Road", artist="Joe Park", tags=("folk",), tempo_bpm=80.0, vocals=False)
    banned = set(contradicting_phrases(ExplainContext(track=fast, previous=slow_before)))
    assert {"slow", "slower", "calm", "instrumental", "no vocals"} <= banned
    assert not {"fast", "faster", "vocals", "singer", "rock"} & banned


def test_an_instrumental_can_be_called_so_but_not_sung() -> None:
    """"vocals" is wrong for an instrumental, yet "no vocals" is true: the ban waits for a claiming lead word,
    as a ban matches anywhere in the text ("no vocals" once came out "no vocALLA")."""
    track = TrackMeta(title="Red Sky", artist="Ana Bell", tags=("rock",), tempo_bpm=150.0, vocals=False)
    banned = contradicting_phrases(ExplainContext(track=track))
    assert {"has vocals", "with vocals", "the singing", "the vocalist", "is built on vocals"} - set(banned) == {
        "is built on vocals"  # "on vocals" is banned, which covers it
    } and "on vocals" in banned
    # "a singer" ends the true "without a singer": banned after one more claim word
    assert {"brings a singer", "has a singer"} <= set(banned) and "a singer" not in banned
    true_text = (" it has no vocals, no singing and no lyrics, without a singer, no singer or vocalist"
                 " and without a vocalist; it is instrumental.")
    assert not [p for p in banned if f" {p}" in true_text]


def test_words_of_the_names_are_never_banned() -> None:
    """The answer must copy the title: a tempo word in it cannot be banned (the check masks the title)."""
    track = TrackMeta(title="Slow Rivers", artist="Ana Bell", tags=("rock",), tempo_bpm=150.0)
    banned = contradicting_phrases(ExplainContext(track=track))
    assert "slow" not in banned and "slower" in banned


def test_the_prompt_carries_the_ban_list() -> None:
    ex = EXAMPLES[0]
    prompt = build_prompt(ex.track, ex.user_words, previous=ex.previous, video=ex.video)
    assert prompt.banned == contradicting_phrases(_context(ex))


def test_phrase_variants_cover_case_and_hyphen() -> None:
    assert phrase_variants("laid back") == ["Laid back", "Laid-back", "laid back", "laid-back"]


def test_next_token_bans_complete_only_matching_prefixes() -> None:
    bans = NextTokenBans([(5,), (1, 2, 3), (7, 2, 4)])
    assert bans.banned([]) == {5}
    assert bans.banned([9, 1, 2]) == {5, 3}
    assert bans.banned([7, 2]) == {5, 4}
    assert bans.banned([2]) == {5}


class _WordTokenizer:
    """One id per character: enough to see which strings PhraseTokens encodes."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        self.seen.append(text)
        return [ord(c) for c in text]


def test_phrase_tokens_encode_each_variant_after_a_space_once() -> None:
    tokenizer = _WordTokenizer()
    tokens = PhraseTokens(tokenizer)
    first = tokens.sequences(["slow", "a good match"])
    assert tokens.sequences(["slow"]) == [s for s in first if len(s) == len(" slow")]
    assert sorted("".join(map(chr, s)) for s in first) == sorted(
        [" Slow", " slow", " A good match", " A-good-match", " a good match", " a-good-match"]
    )
    assert len(tokenizer.seen) == len(set(tokenizer.seen))  # each string encoded once, then cached


class _VocabTokenizer:
    """Greedy longest match over a small vocabulary, one id per piece (characters otherwise)."""

    VOCAB = (" features", " vocal", " voc", " vo", " sing", " singer", "AL", " no")

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        ids, i = [], 0
        while i < len(text):
            piece = max((v for v in self.VOCAB if text.startswith(v, i)), key=len, default=text[i])
            ids.append(hash(piece) % 100_000)
            i += len(piece)
        return ids


def test_a_claim_word_spelt_in_pieces_is_banned_after_its_lead_words_only() -> None:
    """"features vocAL" (" features", " voc", "AL") passed the ban on " features", " vocal": the last word's
    starts that are one token (3+ letters) are banned after the same lead words, never on their own."""
    forms = BanForms(_VocabTokenizer())
    assert {"features voc", "Features voc", "features vocal"} <= set(forms.forms("features vocal"))
    assert "features vo" not in forms.forms("features vocal")  # two letters: too short to be a claim
    assert forms.forms("vocal") == ("Vocal", "vocal")  # a lone word keeps its whole-word ban
    bans = NextTokenBans(PhraseTokens(_VocabTokenizer()).sequences(["features vocal"]))
    tok = _VocabTokenizer()
    assert set(tok.encode(" voc")) <= bans.banned(tok.encode(" it features"))
    assert not set(tok.encode(" voc")) & bans.banned(tok.encode(" it has no"))


def test_the_explainer_bans_with_its_own_vocabulary_and_can_turn_it_off() -> None:
    from musechat.explain.explainer import Explainer, ExplainRequest

    ex = next(e for e in EXAMPLES if _context(e).met is False)
    req = ExplainRequest(track=ex.track, user_words=ex.user_words, previous=ex.previous, video=ex.video)
    on = Explainer(object(), vocabulary=("guitar", "saxophone")).prompt(req, music=False)  # type: ignore[arg-type]
    off = Explainer(object(), grounded_decoding=False).prompt(req, music=False)  # type: ignore[arg-type]
    assert "a good match" in on.banned and off.banned == ()
    assert on.user == off.user
    assert ("guitar" in on.banned) == ("guitar" not in ex.track.norm_tags)
