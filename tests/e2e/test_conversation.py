"""The demo's conversation through the real HTTP API, broker and Qdrant engine (issue: conversations)."""

from __future__ import annotations

from statistics import mean

import pytest

from musechat.contracts.catalog import VOCAL_TAGS
from musechat.demo.run import DEMO_VIDEO, converse, follow_explanations, submit_and_wait
from musechat.demo.world import render_video
from tests.e2e.conftest import System

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def video_id(system: System, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("videos") / "demo-video.mp4"
    render_video(DEMO_VIDEO, path)
    with system.client() as client:
        return submit_and_wait(client, path)


def _bpm(system: System, tracks: list[dict]) -> float:  # type: ignore[type-arg]
    return mean(system.world.track(t["track_id"]).bpm for t in tracks)


def test_faster_raises_the_tempo_and_no_vocals_removes_vocal_tags(system: System, video_id: str) -> None:
    with system.client() as client:
        history = converse(client, video_id, turns=("Faster, please.", "No vocals, please."), limit=3)
    first, faster, no_vocals = history
    assert [turn["turn"] for turn in history] == [1, 2, 3]
    assert all(len(turn["tracks"]) == 3 for turn in history)
    assert _bpm(system, faster["tracks"]) > _bpm(system, first["tracks"]), (first["tracks"], faster["tracks"])
    for track in no_vocals["tracks"]:
        assert not set(track["tags"]) & set(VOCAL_TAGS), track
    assert no_vocals["applied_filters"]["vocals"] is False


def test_a_rejected_track_never_comes_back(system: System, video_id: str) -> None:
    with system.client() as client:
        start = client.post("/v1/conversations", json={"video_id": video_id, "limit": 5}).json()
        conversation, state = start["conversation_id"], start["state"]
        rejected = start["tracks"][1]["track_id"]
        state = client.post(f"/v1/conversations/{conversation}/feedback",
                            json={"track_id": rejected, "verdict": "reject", "state": state}).json()["state"]
        seen_candidates = {start["tracks"][0]["track_id"]}
        for text in ("Something slower.", "More piano, please.", "Faster again."):
            turn = client.post(f"/v1/conversations/{conversation}/turns",
                               json={"text": text, "state": state, "limit": 10}).json()
            returned = {t["track_id"] for t in turn["tracks"]}
            assert rejected not in returned
            assert not returned & seen_candidates  # a suggestion the user answered is not offered again
            seen_candidates.add(turn["tracks"][0]["track_id"])
            state = turn["state"]


def test_conversations_need_no_session_state_on_the_server(system: System, video_id: str) -> None:
    """The signed state token carries the conversation: replaying turn 2 from turn 1's state gives the
    same answer (any replica, or a restarted gateway, can serve it)."""
    with system.client() as client:
        start = client.post("/v1/conversations", json={"video_id": video_id, "limit": 3}).json()
        body = {"text": "Faster, please.", "state": start["state"], "limit": 3}
        url = f"/v1/conversations/{start['conversation_id']}/turns"
        once, again = client.post(url, json=body).json(), client.post(url, json=body).json()
    assert [t["track_id"] for t in once["tracks"]] == [t["track_id"] for t in again["tracks"]]



def test_turns_carry_a_grounded_explanation_of_the_top_track(system: System, video_id: str) -> None:
    # Issue #16 (on purpose): the turn returns its tracks at once with a `stream` link; the text streams.
    with system.client() as client:
        history = converse(client, video_id, turns=("More piano, please.",), limit=3, explain=True)
        assert all(turn["explanation"]["text"] is None and turn["explanation"]["stream"] for turn in history)
        history = follow_explanations(client, history)
    for turn in history:
        explanation, top = turn["explanation"], turn["tracks"][0]
        assert explanation is not None and explanation["text"], explanation  # the in-process explainer is on
        assert explanation["grounded"] or explanation["fallback"]
        assert top["title"] in explanation["text"] and top["artist"] in explanation["text"]
        for other in turn["tracks"][1:]:
            assert other["title"] not in explanation["text"] or other["title"] == top["title"]
