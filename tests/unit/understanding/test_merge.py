"""A conversation's standing request: later words replace earlier ones (never only tighten), lifts
release, turn-scoped directions drop, and the result is always a valid store filter."""

from __future__ import annotations

import pytest

from musechat.contracts.api import TrackFilters
from musechat.contracts.request import UnderstoodRequest
from musechat.understanding import from_filters, to_filters, understand

pytestmark = pytest.mark.unit


def _converse(*turns: str, start: UnderstoodRequest | None = None) -> UnderstoodRequest:
    request = start
    for text in turns:
        request = understand(text, request)
    assert request is not None
    return request


def test_a_later_duration_replaces_an_earlier_one_that_can_no_longer_hold() -> None:
    """The issue's HTTP 500: "longer than 2 minutes" then "under a minute" made min > max."""
    request = _converse("longer than 2 minutes", "Actually, under a minute please")
    assert (request.min_duration_s, request.max_duration_s) == (None, 60)
    assert request.replaces == ["duration"]
    filters = to_filters(request)
    assert (filters.min_duration_s, filters.max_duration_s) == (None, 60)
    back = _converse("Actually, under a minute please", "longer than 2 minutes", start=request)
    assert (back.min_duration_s, back.max_duration_s) == (120, None)


def test_compatible_bounds_accumulate() -> None:
    request = _converse("longer than 30 seconds", "a bit faster", "under two minutes")
    assert (request.min_duration_s, request.max_duration_s) == (30, 120)
    assert request.replaces == []


def test_vocals_lift_and_replacement() -> None:
    no_vocals = _converse("No vocals, please.")
    assert to_filters(no_vocals).vocals is False
    lifted = understand("vocals are fine now", no_vocals)
    assert lifted.vocals is None and lifted.lifted == ["vocals"] and to_filters(lifted).vocals is None
    replaced = understand("Add some singing, the instrumental felt empty.", no_vocals)
    assert replaced.vocals == "on" and replaced.replaces == ["vocals"] and to_filters(replaced).vocals is None


def test_removals_persist_directions_do_not() -> None:
    request = _converse("no guitar, a bit faster", "more piano")
    assert request.instruments["guitar"].direction == "none"
    assert request.instruments["piano"].direction == "more"
    assert request.tempo is None  # "faster" was relative to the previous pick
    assert "guitar" in to_filters(request).exclude_tags
    later = understand("slower", request)
    assert "piano" not in later.instruments and later.tempo is not None and later.tempo.direction == "slower"
    assert understand("the guitar is fine again", later).instruments == {}


def test_a_length_direction_is_turn_scoped_and_sits_beside_bounds() -> None:
    request = _converse("under 3 minutes", "a shorter one")
    assert request.duration_direction == "shorter" and request.max_duration_s == 180.0
    assert "duration" in request.attribute_keys()
    later = understand("faster", request)
    assert later.duration_direction is None and later.max_duration_s == 180.0


def test_api_filters_seed_the_request_and_survive_the_words() -> None:
    start = from_filters(TrackFilters(exclude_tags=["rock"], licences=["CC0-1.0"], max_duration_s=120))
    request = _converse("no drums", "longer than 3 minutes", start=start)
    filters = to_filters(request)
    assert "rock" in filters.exclude_tags and "drums" in filters.exclude_tags
    assert filters.licences == ["CC0-1.0"]
    assert (filters.min_duration_s, filters.max_duration_s) == (180, None)


def test_bpm_range_persists_until_replaced_or_lifted() -> None:
    request = _converse("around 120 bpm", "more piano")
    assert request.tempo is not None and (request.tempo.min_bpm, request.tempo.max_bpm) == (110, 130)
    replaced = understand("under 90 bpm", request)
    assert replaced.tempo is not None and (replaced.tempo.min_bpm, replaced.tempo.max_bpm) == (None, 90)
    assert replaced.replaces == ["tempo"]
    assert understand("any tempo is fine", replaced).tempo is None


def test_an_api_vocals_filter_stays_a_filter_until_words_about_vocals_replace_it() -> None:
    start = from_filters(TrackFilters(vocals=True))
    assert to_filters(start).vocals is True
    later = _converse("a bit faster", "no guitar", start=start)
    assert to_filters(later).vocals is True
    assert to_filters(understand("a female singer", later)).vocals is None  # now a preference for one voice
    assert to_filters(understand("vocals are fine now", later)).vocals is None
    assert to_filters(understand("no vocals", later)).vocals is False


def test_merge_filters_never_makes_a_bound_pair_that_cannot_hold() -> None:
    from musechat.gateway.constraints import merge_filters, parse_constraints

    merged = merge_filters(parse_constraints("longer than 2 minutes"), parse_constraints("under a minute"))
    assert (merged.min_duration_s, merged.max_duration_s) == (None, 60)


@pytest.mark.parametrize("words", ["actually, vocals are fine", "ok the singing is alright"])
def test_calling_a_removed_attribute_fine_releases_it(words: str) -> None:
    request = _converse("no vocals and no guitar", words)
    assert request.vocals is None and request.lifted == ["vocals"]
    assert request.instruments["guitar"].direction == "none"
    assert to_filters(request).vocals is None


def test_calling_an_attribute_fine_that_was_not_removed_is_praise() -> None:
    request = _converse("more piano", "the piano is fine, but faster")
    assert request.lifted == [] and request.tempo is not None and request.tempo.direction == "faster"
    assert understand("the guitar is ok").lifted == []  # no conversation yet: nothing to release


@pytest.mark.parametrize("words", ["fine, bring the drums back, I overreacted earlier", "you can bring drums back in",
                                   "the drums can come back"])
def test_bringing_back_what_was_removed_releases_it(words: str) -> None:
    request = _converse("no drums and no vocals", words)
    assert "drums" not in request.instruments and request.lifted == ["instrument.drums"]
    assert request.vocals == "off" and to_filters(request).vocals is False


def test_bringing_back_what_was_not_removed_asks_for_it_again() -> None:
    request = _converse("slower please", "bring back the piano")
    assert request.instruments["piano"].direction == "more" and request.lifted == []
    assert understand("bring back the vocals").vocals == "on"  # first words: nothing to release


def test_start_over_releases_everything_the_words_set_but_keeps_the_same_turns_asks() -> None:
    standing = _converse("no vocals, no drums, under a minute, cc0 only", "between 90 and 110 bpm")
    cleared = understand("start over", standing)
    assert to_filters(cleared) == TrackFilters()
    assert cleared.tempo is None
    again = understand("forget all that, no piano", standing)
    assert to_filters(again).exclude_tags == list(to_filters(understand("no piano")).exclude_tags)
    assert again.vocals is None and again.max_duration_s is None


@pytest.mark.parametrize("words", ["CC-BY is fine too", "also CC-BY", "or cc by"])
def test_a_licence_named_as_an_addition_widens_the_allowed_set(words: str) -> None:
    request = _converse("CC0 only", words)
    assert request.licences == ["CC-BY-4.0", "CC0-1.0"]
    assert sorted(to_filters(request).licences) == ["CC-BY-4.0", "CC0-1.0"]
    assert _converse("CC0 only", "CC-BY only").licences == ["CC-BY-4.0"]  # named alone, it replaces


def test_a_clause_ending_in_too_means_also_not_excess() -> None:
    assert _converse("no jazz", "jazz is fine too").lifted == ["genre.jazz"]
    assert understand("the drums are too loud").instruments["drums"].direction == "less"
