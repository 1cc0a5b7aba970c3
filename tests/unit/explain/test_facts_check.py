"""Issue #16's failure cases, each as a check: facts, the request, names, numbers, the video, the album."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from musechat.explain.data import TrackMeta
from musechat.explain.facts import RequestFacts, VideoFacts, facts_from_payload, request_met, video_facts
from musechat.explain.grounding import CatalogTitleIndex, check_grounding, template_explanation
from musechat.explain.prompt import context_of

pytestmark = pytest.mark.unit

FAST = TrackMeta(title="Golden Harbor", artist="Mara Okafor", album="Piano Fast Sessions",
                 tags=("piano", "synth", "slow"), tempo_bpm=150, vocals=False, duration_s=130)
PREVIOUS = TrackMeta(title="Quiet Garden", artist="Noor Sato", tags=("guitar",), tempo_bpm=96, vocals=True)
CATALOG = CatalogTitleIndex(["Golden Harbor", "Quiet Garden", "Blue Lanterns", "Mara Okafor", "Noor Sato",
                             "Weston Skaggs"])
DARK_CUTS = VideoFacts(cuts_per_min=20, motion=0.1, brightness=0.2, warmth=-0.1, saturation=0.5)


def check(text: str, words: str = "", video: VideoFacts | None = None, track: TrackMeta = FAST):
    return check_grounding(text, track, CATALOG, context=context_of(track, words, previous=PREVIOUS, video=video))


def test_a_fact_true_text_passes() -> None:
    text = ('"Golden Harbor" by Mara Okafor runs at 150 bpm, faster than Quiet Garden, and it is instrumental '
            "with piano and synth, as you asked.")
    assert check(text, "Faster, please.").ok


def test_a_low_scoring_tag_contradicted_by_the_measured_tempo_fails() -> None:
    # The case: a 150 bpm track after "Faster, please." described as slow.
    result = check("Golden Harbor by Mara Okafor is tagged slow and synth, in line with what you asked for.",
                   "Faster, please.")
    assert not result.ok and any("'slow'" in c for c in result.contradictions)


def test_as_you_asked_only_when_the_request_was_met() -> None:
    text = "Golden Harbor by Mara Okafor has piano, in line with what you asked for."
    assert check(text, "Faster, please.").ok
    calmer = check(text, "Something calmer.")
    assert not calmer.ok and "the request not met" in calmer.problems[0]


def test_praise_as_a_match_contradicts_an_unmet_request() -> None:
    # The eval's case: "is a good match" after a request the facts say the track does not meet.
    text = "Golden Harbor by Mara Okafor is a good match with piano."
    assert check(text, "Faster, please.").ok
    assert check(text).ok  # no request: praise claims nothing
    calmer = check(text, "Something calmer.")
    assert not calmer.ok and any("'a good match' (the request not met)" in c for c in calmer.contradictions)


def test_vocals_against_the_measured_verdict() -> None:
    assert not check("Golden Harbor by Mara Okafor has vocals.").ok
    assert check("Golden Harbor by Mara Okafor is an instrumental piece without vocals.").ok


def test_other_artists_invented_names_words_and_numbers_fail() -> None:
    result = check("Golden Harbor by Mara Okafor is like Weston Skaggs and Taylor Swift, with saxophone, "
                   "from a 2022 UK-based band.")
    assert not result.ok
    assert "Weston Skaggs" in result.other_titles
    assert "saxophone" in result.unfaithful_tags
    assert {"2022", "Taylor Swift"} <= set(result.hallucinations)


def test_the_previous_pick_may_be_named() -> None:
    assert check("Golden Harbor by Mara Okafor is faster than Quiet Garden by Noor Sato.").ok


def test_the_album_is_masked() -> None:
    assert check('Golden Harbor by Mara Okafor, from the album "Piano Fast Sessions".').ok


def test_video_claims_against_the_measured_video() -> None:
    text = "Golden Harbor by Mara Okafor suits the dark video with quick cuts."
    assert check(text, video=DARK_CUTS).ok
    assert not check(text).ok  # no video measured: nothing may be said about it
    bright = VideoFacts(cuts_per_min=1, motion=0.01, brightness=0.9, warmth=0.1, saturation=0.5)
    assert not check(text, video=bright).ok


def test_light_words_count_as_video_claims_only_about_the_picture() -> None:
    """"dark" could describe the music: it is a video claim only beside a word about the picture (video,
    shots, colours, lighting, ...); elsewhere it is a claim about the music, which has no such fact."""
    assert check("Golden Harbor by Mara Okafor brings a dark, cool colour.", video=DARK_CUTS).ok
    assert check("Golden Harbor by Mara Okafor goes with the dark lighting.", video=DARK_CUTS).ok
    assert not check("Golden Harbor by Mara Okafor is dark.", video=DARK_CUTS).ok


def test_the_template_is_true_and_honest_about_the_request() -> None:
    for words in ("Faster, please.", "Something calmer.", ""):
        ctx = context_of(FAST, words, previous=PREVIOUS, video=DARK_CUTS)
        text = template_explanation(FAST, words, ctx)
        assert check_grounding(text, FAST, CATALOG, context=ctx).ok, text
        assert ("in line with what you asked" in text) == (words == "Faster, please.")


def test_request_parser_and_verdicts() -> None:
    assert request_met(RequestFacts.from_words("No vocals, please."), FAST, PREVIOUS) is True
    assert request_met(RequestFacts.from_words("Something calmer."), FAST, PREVIOUS) is False
    assert request_met(RequestFacts.from_words("More piano"), FAST, None) is True
    assert request_met(RequestFacts.from_words("lovely"), FAST, None) is None


def test_facts_from_the_measured_payload() -> None:
    payload: dict[str, Any] = {"title": "T", "artist": "A", "duration_s": 31.0, "tags": ["slow"], "vocals": True,
               "facts": {"tempo_bpm": 151.2, "tempo_confidence": 0.8, "duration_s": 30.5, "vocals_probability": 0.1,
                         "tag_scores": {"mtt:piano": 0.7, "mtt:slow": 0.128, "msd:male vocalists": 0.6,
                                        "msd:electronic": 0.35},
                         "groups": {"calm": 0.1}}}
    meta = facts_from_payload(payload)
    assert meta.tempo_bpm == 151.2 and meta.vocals is False and meta.duration_s == 30.5
    assert meta.tags == ("piano", "electronic")  # "slow" under threshold; vocal tags yield to the verdict
    unsure = facts_from_payload({**payload, "facts": {**payload["facts"], "tempo_confidence": 0.1}})
    assert unsure.tempo_bpm is None
    legacy = facts_from_payload({"title": "T", "artist": "A", "duration_s": 31.0, "tags": ["slow"], "vocals": True})
    assert legacy.tags == ("slow",) and legacy.vocals is True and legacy.tempo == "slow"


def test_video_facts_from_frames() -> None:
    rng = np.random.default_rng(0)
    dark = np.full((20, 16, 16, 3), 30, dtype=np.uint8)
    bright = np.full((20, 16, 16, 3), 230, dtype=np.uint8)
    bright[..., 2] = 120  # warm: more red than blue
    cutting = np.concatenate([dark[:5], bright[:5], dark[:5], bright[:5]])
    still = dark + rng.integers(0, 2, dark.shape, dtype=np.uint8)
    assert video_facts(still, fps=5).light == "dark" and video_facts(still, fps=5).pacing == "few cuts"
    cuts = video_facts(cutting, fps=5)
    assert cuts.cuts_per_min == pytest.approx(3 / (20 / 5) * 60) and cuts.pacing == "rapid cuts"
    assert video_facts(bright, fps=5).colour == "warm colours" and video_facts(bright, fps=5).light == "bright"
    with pytest.raises(ValueError, match="frames"):
        video_facts(np.zeros((3, 4, 4)), fps=5)
