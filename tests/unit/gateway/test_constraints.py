import pytest

from musechat.contracts.api import TrackFilters
from musechat.gateway.constraints import merge_filters, parse_constraints

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text", [
    "slower, no vocals please", "Could it be instrumental?", "same vibe but without singing",
    "drop the vocals", "I want nobody singing", "less vocals",
])
def test_vocal_negations_ask_for_instrumental_tracks(text: str) -> None:
    filters = parse_constraints(text)
    assert filters.vocals is False
    assert filters.exclude_tags == []  # one indexed flag, not a list of vocal tags


@pytest.mark.parametrize("text", ["more vocals please", "I love the singer", "a male voice would be nice"])
def test_mentions_of_vocals_are_soft_preferences_not_filters(text: str) -> None:
    assert parse_constraints(text) == TrackFilters()


@pytest.mark.parametrize(("text", "max_s", "min_s"), [
    ("under a minute", 60, None),
    ("shorter than 90 seconds", 90, None),
    ("at most 2 minutes and longer than 30 s", 120, 30),
    ("keep it below 45s", 45, None),
    ("at least half a minute", None, 30),
    ("no longer than 1.5 min", 90, None),
])
def test_durations(text: str, max_s: float | None, min_s: float | None) -> None:
    filters = parse_constraints(text)
    assert filters.max_duration_s == max_s
    assert filters.min_duration_s == min_s


def test_instrument_negation() -> None:
    filters = parse_constraints("great, but without drums")
    assert "drums" in filters.exclude_tags and filters.vocals is None


def test_merge_accumulates_and_keeps_the_tighter_bound() -> None:
    merged = merge_filters(TrackFilters(exclude_tags=["rock"], max_duration_s=120, licences=["CC0-1.0"]),
                           TrackFilters(exclude_tags=["vocals", "rock"], max_duration_s=60, min_duration_s=10))
    assert merged.exclude_tags == ["rock", "vocals"]
    assert merged.max_duration_s == 60 and merged.min_duration_s == 10
    assert merged.licences == ["CC0-1.0"]


def test_merge_keeps_an_earlier_vocals_choice_until_a_later_one_replaces_it() -> None:
    instrumental = parse_constraints("no vocals, please")
    assert merge_filters(instrumental, parse_constraints("a bit faster")).vocals is False
    assert merge_filters(instrumental, TrackFilters(vocals=True)).vocals is True
