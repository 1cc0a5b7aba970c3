"""The explanation stream route and its signed tickets (FastAPI app, no server).

The LLM is a scripted stand-in here on purpose: these tests cover the route, the tickets and the facts
lookup; the real model is covered by tests/integration/explainer and the e2e conversation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from musechat.contracts.api import RecommendedTrack
from musechat.explain.data import TrackMeta
from musechat.explain.explainer import Explainer
from musechat.explain.grounding import CatalogTitleIndex
from musechat.explain.prompt import ExplainPrompt, answer_opener
from musechat.gateway.app import GatewayContext, create_app
from musechat.gateway.auth import SCOPE_READ, ApiKey, ApiKeyRing, hash_key
from musechat.gateway.core import GatewayCore
from musechat.gateway.explanations import HttpEngine, InProcessEngine, StreamingExplainer, TicketSigner
from musechat.gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit
KEY = "mck_unit-test-key"
PAYLOADS: dict[str, dict[str, Any]] = {
    "t-fast": {
        "track_id": "t-fast",
        "title": "Golden Harbor",
        "artist": "Mara Okafor",
        "duration_s": 130.0,
        "tags": ["piano", "slow"],
        "vocals": False,
        "facts": {
            "tempo_bpm": 150.0,
            "tempo_confidence": 0.9,
            "duration_s": 130.0,
            "vocals_probability": 0.05,
            "tag_scores": {"mtt:piano": 0.8, "mtt:slow": 0.12},
            "groups": {},
        },
    },
    "t-prev": {
        "track_id": "t-prev",
        "title": "Quiet Garden",
        "artist": "Noor Sato",
        "duration_s": 90.0,
        "tags": ["guitar"],
        "vocals": True,
        "facts": {
            "tempo_bpm": 96.0,
            "tempo_confidence": 0.9,
            "duration_s": 90.0,
            "vocals_probability": 0.9,
            "tag_scores": {"mtt:guitar": 0.7},
            "groups": {},
        },
    },
}


GOLDEN = TrackMeta(title="Golden Harbor", artist="Mara Okafor")


class ScriptedBackend:
    name = "scripted"

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[ExplainPrompt] = []

    def stream(self, prompt, music_features, adapter, max_tokens, timeout) -> Iterator[str]:
        self.prompts.append(prompt)
        for word in self.answers.pop(0).split(" "):
            yield word + " "

    def generate(self, *args: Any) -> str:
        return "".join(self.stream(*args))

    def load_adapter(self, name: str, path: Path) -> None:
        raise NotImplementedError

    def adapters(self) -> list[str]:
        return []


class Core:
    def __init__(self, port: StreamingExplainer) -> None:
        self.explainer = port


def make(backend: ScriptedBackend) -> tuple[TestClient, StreamingExplainer]:
    explainer = Explainer(backend, CatalogTitleIndex(["Golden Harbor", "Quiet Garden", "Blue Lanterns"]))
    port = StreamingExplainer(InProcessEngine(explainer), TicketSigner(b"k" * 32), PAYLOADS.get)
    settings = GatewaySettings(
        api_keys_file=Path("/nonexistent/keys.jsonl"),
        state_secret="s" * 32,
        ranker_url="http://127.0.0.1:9",
        upload_dir=Path("/tmp/unused"),
    )
    keys = ApiKeyRing([ApiKey("reader", hash_key(KEY), frozenset({SCOPE_READ}))])
    context = GatewayContext(core=cast(GatewayCore, Core(port)), keys=keys, settings=settings)
    client = TestClient(create_app(context), raise_server_exceptions=False, headers={"Authorization": f"Bearer {KEY}"})
    return client, port


def link(port: StreamingExplainer, words: str = "Faster, please.") -> str:
    track = RecommendedTrack(
        track_id="t-fast", title="Golden Harbor", artist="Mara Okafor", duration_s=130.0, tags=["piano"], score=0.9
    )
    out = port.explain(track, words, [words], ["Blue Lanterns"], previous="t-prev", video_id=None)
    assert out.text is None and out.stream is not None and out.stream.startswith("/v1/explanations/")
    return out.stream


def events(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]


def test_the_turn_gets_a_link_and_the_stream_carries_the_facts_checked_text() -> None:
    continuation = " It runs at 150 bpm, faster than Quiet Garden, as you asked."
    backend = ScriptedBackend(continuation)
    client, port = make(backend)
    got = events(client.get(link(port)))
    assert [e["kind"] for e in got][-1] == "final" and {e["kind"] for e in got[:-1]} == {"delta"}
    final = got[-1]["result"]
    assert final["text"] == answer_opener(GOLDEN) + continuation and final["grounded"] and not final["fallback"]
    prompt = backend.prompts[0].user  # measured facts from the payloads, the previous pick, the verdict
    assert "Tempo: 150 bpm, fast" in prompt and 'Previous pick: "Quiet Garden" by Noor Sato, 96 bpm' in prompt
    assert "Request met: yes (faster)" in prompt and "Vocals: none, instrumental" in prompt


def test_a_contradicting_text_is_retried_then_replaced_by_the_template() -> None:
    client, port = make(
        ScriptedBackend("Golden Harbor by Mara Okafor is slow, in line with what you asked.", " is slow with vocals.")
    )
    got = events(client.get(link(port)))
    final = got[-1]["result"]
    assert final["fallback"] and final["grounded"] and final["attempts"] == 2
    assert "slow" not in final["text"] and final["text"].startswith('I suggest "Golden Harbor" by Mara Okafor.')
    assert [e["kind"] for e in got].count("reset") == 2


def test_json_when_asked() -> None:
    client, port = make(ScriptedBackend(" It has piano."))
    response = client.get(link(port), headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json()["text"] == answer_opener(GOLDEN) + " It has piano."


def test_forged_or_foreign_tickets_are_unknown() -> None:
    client, port = make(ScriptedBackend())
    token = link(port).rsplit("/", 1)[1]
    body, _, mac = token.partition(".")
    forged = client.get(f"/v1/explanations/{body[:-2]}xx.{mac}")
    assert forged.status_code == 404 and forged.json()["error"] == "explanation_not_found"
    other = TicketSigner(b"o" * 32)
    with pytest.raises(Exception, match="not one this gateway issued"):
        other.verify(token, None)


def test_an_unreachable_explainer_service_yields_the_template() -> None:
    port = StreamingExplainer(HttpEngine("http://127.0.0.1:9", timeout_s=1.0), TicketSigner(b"k" * 32), PAYLOADS.get)
    body = port.body(link(port).rsplit("/", 1)[1], None)
    got = list(port.engine.stream(body))
    assert got[-1].kind == "final" and got[-1].result is not None and got[-1].result.fallback
    assert got[-1].text.startswith('I suggest "Golden Harbor" by Mara Okafor.') and "150 bpm" in got[-1].text


def test_the_in_process_engine_loads_every_catalog_title_and_artist() -> None:
    backend = ScriptedBackend(" It sounds like Lena Ito.", " It has piano.")
    explainer = Explainer(backend, CatalogTitleIndex())
    port = StreamingExplainer(InProcessEngine(explainer, lambda: ["Golden Harbor", "Mara Okafor", "Lena Ito"]),
                              TicketSigner(b"k" * 32), PAYLOADS.get)  # fmt: skip
    got = list(port.engine.stream(port.body(link(port).rsplit("/", 1)[1], None)))
    final = got[-1].result
    assert final is not None and final.attempts == 2 and final.text == answer_opener(GOLDEN, 2) + " It has piano."
    assert "Lena Ito" in backend.prompts[1].user  # the problem fed back: another catalog artist was named


def test_the_music_token_reads_the_track_features_collection(tmp_path: Path) -> None:
    """With a music token the body carries the track's features, read by id from `track_features` (the
    `tracks` payload no longer holds them); without one they are never fetched."""
    import numpy as np

    from musechat.catalog.track_features import write_track_features
    from musechat.contracts.catalog import TrackFeaturesPayload
    from musechat.contracts.features import FeatureMatrix
    from musechat.gateway.explanations import store_music
    from musechat.store.edge import EdgeStore

    features = FeatureMatrix.from_array(np.arange(12, dtype=np.float32).reshape(3, 4))
    engine = HttpEngine("http://127.0.0.1:9", timeout_s=1.0)
    with EdgeStore(tmp_path / "store") as store:
        write_track_features(store, [TrackFeaturesPayload(track_id="t-fast", features=features, feature_model="m")])
        with_music = StreamingExplainer(engine, TicketSigner(b"k" * 32), PAYLOADS.get, music=store_music(store))
        assert with_music.body(link(with_music).rsplit("/", 1)[1], None).music_features == features
        assert store_music(store)("t-prev") is None
    without = StreamingExplainer(engine, TicketSigner(b"k" * 32), PAYLOADS.get)
    assert without.body(link(without).rsplit("/", 1)[1], None).music_features is None
