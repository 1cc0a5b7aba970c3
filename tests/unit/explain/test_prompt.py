from __future__ import annotations

import pytest

from musechat.explain.data import TrackMeta, Turn
from musechat.explain.facts import RequestFacts, VideoFacts
from musechat.explain.prompt import (
    ANSWER_OPENERS,
    MUSIC_PLACEHOLDER,
    RetryHint,
    answer_opener,
    build_prompt,
    split_at_music,
)

pytestmark = pytest.mark.unit

TRACK = TrackMeta(title="Deliverer", artist="Weston Skaggs", album="Hollow Roads", tags=("rock", "guitar"))
FAST = TrackMeta(
    title="Golden Harbor",
    artist="Mara Okafor",
    tags=("piano", "fast", "synth"),
    tempo_bpm=148.4,
    vocals=False,
    duration_s=130,
)
PREVIOUS = TrackMeta(title="Quiet Garden", artist="Noor Sato", tags=("guitar",), tempo_bpm=96)


def test_prompt_carries_the_facts_once_each() -> None:
    video = VideoFacts(cuts_per_min=20, motion=0.1, brightness=0.2, warmth=-0.1, saturation=0.5)
    history = [Turn("user", "Faster, please.")]  # the gateway's history repeats the words: not shown twice
    prompt = build_prompt(FAST, "Faster, please.", history, previous=PREVIOUS, video=video)
    assert prompt.user.splitlines() == [
        'Track: "Golden Harbor" by Mara Okafor',
        "Tempo: 148 bpm, fast",
        "Vocals: none, instrumental",
        "Length: 2:10",
        "Sounds: piano, synth",  # tempo and vocal tags are stated by their measured lines instead
        'Previous pick: "Quiet Garden" by Noor Sato, 96 bpm; this one is faster',  # stated, not left to compare
        "Video: rapid cuts, lots of motion, dark, cool colours",
        "User: Faster, please.",
        "Request met: yes (faster)",
    ]
    assert prompt.user.count("Faster, please.") == 1
    assert not prompt.has_music_slot and prompt.answer_prefix == answer_opener(FAST) and not prompt.is_retry
    assert [m["role"] for m in prompt.messages()] == ["system", "user"]


def test_the_album_is_not_in_the_prompt() -> None:
    assert "Hollow Roads" not in build_prompt(TRACK, "x").user


def test_request_not_met_is_said() -> None:
    prompt = build_prompt(FAST, "Something calmer.", previous=PREVIOUS)
    assert "Request met: no (slower)" in prompt.user


def test_an_understood_request_replaces_the_word_parser() -> None:
    request = RequestFacts(words="hmm", asks=())
    assert "Request met" not in build_prompt(FAST, "hmm", request=request).user


def test_retry_feeds_problems_back_and_gives_the_start() -> None:
    prompt = build_prompt(TRACK, "x", retry=RetryHint(("cites tags the track does not have: piano",)))
    assert "Your last answer was wrong: cites tags the track does not have: piano." in prompt.user
    assert prompt.is_retry and prompt.answer_prefix == answer_opener(TRACK, 2) != answer_opener(TRACK)


def test_music_slot_only_when_asked() -> None:
    prompt = build_prompt(TRACK, "x", music=True)
    assert prompt.has_music_slot
    before, after = split_at_music(prompt.user)
    assert before.endswith("Music: ") and after.startswith("\n")


def test_split_requires_exactly_one_placeholder() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        split_at_music(f"{MUSIC_PLACEHOLDER} {MUSIC_PLACEHOLDER}")


def test_track_needs_title_and_artist() -> None:
    with pytest.raises(ValueError, match="title"):
        TrackMeta(title=" ", artist="a")


def test_the_answer_opener_names_the_pick_exactly_is_stable_and_varies_across_tracks() -> None:
    tracks = [TrackMeta(title=f"Gentle Comets {i}", artist="Milo Varga") for i in range(40)]
    openers = [answer_opener(t) for t in tracks]
    assert all(f'"{t.title}" by Milo Varga' in o for t, o in zip(tracks, openers, strict=True))
    assert openers == [answer_opener(t) for t in tracks]  # the same track always starts the same way
    assert len({o.replace(t.title, "{T}") for t, o in zip(tracks, openers, strict=True)}) >= len(ANSWER_OPENERS) - 2


def test_training_prompts_give_no_start_the_reference_is_the_whole_answer() -> None:
    from musechat.explain.datasets import facts_examples
    from musechat.explain.train import training_prompt

    for ex in facts_examples(20, seed=3):
        prompt = training_prompt(ex, music=False)
        served = build_prompt(ex.track, ex.user_words, previous=ex.previous, video=ex.video)
        assert prompt.answer_prefix == "" and served.answer_prefix
        assert prompt.user == served.user and prompt.banned == served.banned
        assert f'"{ex.title}" by {ex.artist}' in ex.reference or ex.reference.startswith(f"{ex.title} by {ex.artist}")


def test_real_catalog_examples_read_payload_facts_as_the_gateway_does_and_their_references_pass_the_check() -> None:
    from musechat.explain.datasets import catalog_examples
    from musechat.explain.explainer import Explainer, ExplainRequest
    from musechat.explain.grounding import CatalogTitleIndex

    def payload(title: str, tempo: float, confidence: float, scores: dict[str, float], vocals: float) -> dict:
        facts = {"version": 1, "tempo_bpm": tempo, "tempo_confidence": confidence, "loudness_db": -12.0,
                 "duration_s": 200.0, "vocals_probability": vocals, "tag_scores": scores}
        return {"track_id": title, "title": title, "artist": "Debian Package", "facts": facts}

    payloads = [payload("Heroes Rite", 77.7, 0.9, {"mtt:strings": 0.4, "mtt:classical": 0.5, "mtt:metal": 0.001}, 0.04),
                payload("Metal Madness", 150.0, 0.9, {"msd:metal": 0.7, "mtt:guitar": 0.5, "mtt:strings": 0.01}, 0.3),
                payload("Suspense", 121.0, 0.1, {"mtt:ambient": 0.3}, 0.05)]  # fmt: skip
    examples = catalog_examples(payloads, seed=1, per_track=2)
    assert len(examples) == 6 and [e.user_words for e in examples[:3]] == ["", "", ""]
    assert all(e.previous is not None and e.user_words for e in examples[3:])
    by_title = {e.title: e for e in examples}
    assert "strings" in by_title["Heroes Rite"].tags and "metal" not in by_title["Heroes Rite"].tags
    assert by_title["Suspense"].tempo_bpm is None  # below the tempo confidence the gateway trusts
    explainer = Explainer(object(), CatalogTitleIndex([n for p in payloads for n in (p["title"], p["artist"])]))  # type: ignore[arg-type]
    for ex in examples:
        req = ExplainRequest(track=ex.track, user_words=ex.user_words, previous=ex.previous, video=ex.video)
        assert explainer.check(ex.reference, req).ok, (ex.reference, explainer.check(ex.reference, req).problems)
    with pytest.raises(ValueError, match="at least 2 tracks"):
        catalog_examples(payloads[:1])
