from __future__ import annotations

import pytest

from musechat.explain.data import TrackMeta
from musechat.explain.grounding import CatalogTitleIndex, check_grounding, template_explanation
from musechat.explain.tags import TAG_VOCABULARY, find_tag_mentions, mention_is_faithful

pytestmark = pytest.mark.unit

TRACK = TrackMeta(
    title="Deliverer",
    artist="Weston Skaggs",
    album="Hollow Roads",
    tags=("rock", "indie", "alternative", "pop", "guitar", "male vocalists"),
)
CATALOG = CatalogTitleIndex(["Deliverer", "Blue Sky Mine", "Home", "Paper Lanterns", "Weston"])
PAPER_EXAMPLE = (
    "I suggest Deliverer by Weston Skaggs. The song combines elements of rock, indie, and alternative "
    "with a touch of pop. It features guitar and male vocals, which align with your preferences."
)


def test_the_papers_example_is_grounded() -> None:
    result = check_grounding(PAPER_EXAMPLE, TRACK, CATALOG)
    assert result.ok, result.problems
    assert result.cited_tags == ("rock", "indie", "alternative", "pop", "guitar", "male vocals")


def test_missing_title_or_artist_is_reported() -> None:
    result = check_grounding("A rock song with guitar by Weston Skaggs.", TRACK, CATALOG)
    assert not result.ok
    assert result.artist_present and not result.title_present
    assert result.problems == ("does not name the title 'Deliverer'",)


def test_naming_another_catalog_track_is_a_hallucination() -> None:
    text = "I suggest Deliverer by Weston Skaggs, which sounds like blue sky mine with more guitar."
    result = check_grounding(text, TRACK, CATALOG)
    assert result.other_titles == ("Blue Sky Mine",)
    assert not result.ok


def test_one_word_titles_match_only_with_catalog_capitalisation() -> None:
    casual = check_grounding("Deliverer by Weston Skaggs feels like home.", TRACK, CATALOG)
    named = check_grounding("Deliverer by Weston Skaggs, much like Home.", TRACK, CATALOG)
    assert casual.ok
    assert named.other_titles == ("Home",)


def test_a_catalog_title_that_is_a_tag_word_is_judged_as_the_tag() -> None:
    # a real catalog has a track called "sad" (Wesnoth's music/sad.ogg): saying a sad track is sad names no track
    catalog = CATALOG.merged(["sad", "piano"])
    sad = TrackMeta(title="Deliverer", artist="Weston Skaggs", tags=("rock", "sad"))
    assert check_grounding("Deliverer by Weston Skaggs is sad and rock.", sad, catalog).ok
    wrong = check_grounding("Deliverer by Weston Skaggs is built on piano.", sad, catalog)
    assert wrong.other_titles == () and not wrong.ok  # an unfaithful tag claim, not a name


def test_titles_inside_the_artist_name_do_not_count() -> None:
    # "Weston" is also a catalog title, but here it is part of the recommended artist's name.
    assert check_grounding("Deliverer by Weston Skaggs.", TRACK, CATALOG).ok


def test_request_titles_extend_the_catalog() -> None:
    text = "Deliverer by Weston Skaggs beats Golden Harbor."  # "beats" here is no tag claim
    # Issue #16: a name the facts lack is a problem even outside the catalog ("Taylor Swift").
    assert check_grounding(text, TRACK, CATALOG).other_titles == ()
    assert check_grounding(text, TRACK, CATALOG.merged(["Golden Harbor"])).other_titles == ("Golden Harbor",)


def test_tags_the_track_lacks_are_unfaithful() -> None:
    result = check_grounding("Deliverer by Weston Skaggs has piano and female vocals.", TRACK, CATALOG)
    assert result.unfaithful_tags == ("piano", "female vocals")
    assert result.problems == ("cites tags the track does not have: piano, female vocals",)
    assert result.contradictions == ("piano", "female vocals")


def test_tag_words_inside_the_title_are_not_tag_claims() -> None:
    track = TrackMeta(title="Piano Man", artist="Ada Quinn", tags=("pop",))
    assert check_grounding('"Piano Man" by Ada Quinn is pop.', track, CatalogTitleIndex()).ok


def test_empty_text_fails() -> None:
    assert check_grounding("  ", TRACK, CATALOG).problems == ("empty explanation",)


def test_synonyms_and_compounds_are_faithful() -> None:
    assert mention_is_faithful("male vocals", ["male vocalists"])
    assert mention_is_faithful("alternative rock", ["alternative", "rock"])
    assert not mention_is_faithful("hard rock", ["rock"])
    assert not mention_is_faithful("no vocals", ["male vocalists"])


def test_longest_mention_wins() -> None:
    mentions = [m.surface for m in find_tag_mentions("no vocals, Hip-Hop and male vocalists", TAG_VOCABULARY)]
    assert mentions == ["no vocals", "hip hop", "male vocalists"]


def test_template_is_grounded_and_deterministic() -> None:
    text = template_explanation(TRACK, "more guitar please")
    assert text == template_explanation(TRACK, "more guitar please")
    assert text.startswith('I suggest "Deliverer" by Weston Skaggs.')
    assert check_grounding(text, TRACK, CATALOG).ok


def test_template_without_tags() -> None:
    track = TrackMeta(title="Quiet Garden", artist="Noor Sato")
    assert template_explanation(track) == 'I suggest "Quiet Garden" by Noor Sato.'


def test_a_tag_the_facts_state_is_faithful_even_where_it_is_also_an_alias() -> None:
    # the real catalog's facts carry groups like "orchestral", which the check also reads as an alias of
    # strings/classical: a track whose facts say "orchestral" may be called orchestral (and an orchestra)
    from musechat.explain.facts import ExplainContext
    from musechat.explain.grounding import contradicting_phrases

    track = TrackMeta(title="Love Theme", artist="Wesnoth", tags=("calm", "orchestral", "ambient"), vocals=False)
    text = "Love Theme by Wesnoth is calm and orchestral, played by an orchestra."
    assert check_grounding(text, track, CATALOG).ok, check_grounding(text, track, CATALOG).problems
    banned = contradicting_phrases(ExplainContext(track=track))
    assert "orchestral" not in banned and "orchestra" not in banned
    assert "orchestral" in contradicting_phrases(ExplainContext(track=TrackMeta(title="X", artist="Y", tags=("rock",))))
