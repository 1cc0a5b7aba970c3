"""MuseChat platform journeys for Locust, weighted as a platform calls the API.

Per simulated client: one video uploaded at start (202 + id, encoded asynchronously, polled until ready),
then a mix of 3-turn conversations (most traffic; a third ask for explanations), further video
submissions and catalog ingestion batches (rare, admin scope). Every HTTP answer is parsed with the
contract models, so a body that breaks the contract counts as a failure. Whole journeys are recorded as
request type JOURNEY (the unit of the gates in gates.yaml).

Run through loadtests/run.py (bounded, gated, reported); settings come from MUSECHAT_LOADTEST_* env.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from locust import HttpUser, between, events, tag, task
from pydantic import BaseModel, ValidationError

from loadtests.journeys import (
    JOURNEY_REQUEST_TYPE,
    feedback_body,
    start_body,
    track_batch,
    turn_body,
    write_test_video,
)
from loadtests.settings import LoadtestSettings
from musechat.contracts.api import (
    Explanation,
    FeedbackAccepted,
    SubmissionAccepted,
    TurnResponse,
    VideoState,
    VideoStatus,
)

Model = TypeVar("Model", bound=BaseModel)
SETTINGS = LoadtestSettings()
API_KEY = SETTINGS.key()
TURNS_PER_CONVERSATION = 3


class JourneyFailed(Exception):
    """One step of a journey failed; the step's own request is already recorded as failed."""


@events.init.add_listener
def _prepare_video(environment: Any, **_: Any) -> None:
    # One shared file, written once per Locust process before any user starts.
    write_test_video(SETTINGS.video_dir / "loadtest.mp4", SETTINGS.video_seconds)


class PlatformClient(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.rng = random.Random(SETTINGS.seed)
        self.client.headers["Authorization"] = f"Bearer {API_KEY}"
        self.video_id: str | None = None
        try:
            with self._journey("video_submission"):
                self.video_id = self._submit_video_and_wait()
        except JourneyFailed:
            self.video_id = None

    # -- journeys -------------------------------------------------------------------------------------

    @tag("conversation")
    @task(6)
    def conversation(self) -> None:
        self._conversation(explain=False)

    @tag("conversation", "explain")
    @task(3)
    def conversation_explained(self) -> None:
        self._conversation(explain=True)

    @tag("video")
    @task(2)
    def video_submission(self) -> None:
        try:
            with self._journey("video_submission"):
                video_id = self._submit_video_and_wait()
            self.video_id = self.video_id or video_id
        except JourneyFailed:
            pass

    @tag("catalog")
    @task(1)
    def catalog_ingestion(self) -> None:
        body = track_batch(self.rng, SETTINGS.catalog_batch_size, SETTINGS.catalog_audio_path)
        try:
            with self._journey("catalog_ingestion"):
                accepted = self._call("POST", "/v1/tracks:batch", "/v1/tracks:batch", SubmissionAccepted,
                                      json=body.model_dump(mode="json"), expect=(200, 202))
                if len(accepted.track_ids) != len(body.tracks):
                    raise JourneyFailed(f"{len(accepted.track_ids)} of {len(body.tracks)} tracks accepted")
        except JourneyFailed:
            pass

    # -- steps ----------------------------------------------------------------------------------------

    def _conversation(self, explain: bool) -> None:
        name = "conversation_explained" if explain else "conversation"
        try:
            with self._journey(name):
                if self.video_id is None:
                    raise JourneyFailed("no ready video for this client (its upload failed)")
                response = self._call("POST", "/v1/conversations", "/v1/conversations", TurnResponse,
                                      json=start_body(self.video_id, explain).model_dump(mode="json"),
                                      expect=(201,))
                self._read_explanation(response)
                for _ in range(TURNS_PER_CONVERSATION - 1):
                    turn = turn_body(self.rng, response.state, explain)
                    response = self._call(
                        "POST", f"/v1/conversations/{response.conversation_id}/turns",
                        "/v1/conversations/{id}/turns", TurnResponse, json=turn.model_dump(mode="json"))
                    self._read_explanation(response)
                if response.tracks:
                    feedback = feedback_body(response.tracks[0].track_id, response.state,
                                             accept=self.rng.random() < 0.7)
                    self._call("POST", f"/v1/conversations/{response.conversation_id}/feedback",
                               "/v1/conversations/{id}/feedback", FeedbackAccepted,
                               json=feedback.model_dump(mode="json"), expect=(200, 202))
        except JourneyFailed:
            pass

    def _read_explanation(self, response: TurnResponse) -> None:
        """An explained turn returns at once; the client then reads the explanation (JSON: the final event)."""
        if response.explanation is not None and response.explanation.stream:
            self._call("GET", response.explanation.stream, "/v1/explanations/{ticket}", Explanation,
                       headers={"Accept": "application/json"})

    def _submit_video_and_wait(self) -> str:
        path = SETTINGS.video_dir / "loadtest.mp4"
        with path.open("rb") as handle:
            state = self._call("POST", "/v1/videos", "/v1/videos", VideoState, expect=(200, 202),
                               files={SETTINGS.video_field: (path.name, handle, "video/mp4")})
        deadline = time.monotonic() + SETTINGS.video_ready_timeout_s
        while state.status == VideoStatus.PENDING:
            if time.monotonic() > deadline:
                raise JourneyFailed(f"video {state.video_id} not ready after {SETTINGS.video_ready_timeout_s}s")
            time.sleep(SETTINGS.poll_interval_s)
            state = self._call("GET", f"/v1/videos/{state.video_id}", "/v1/videos/{id}", VideoState)
        if state.status != VideoStatus.READY:
            raise JourneyFailed(f"video {state.video_id} failed: {state.reason}")
        return state.video_id

    def _call(self, method: str, path: str, name: str, model: type[Model],
              expect: tuple[int, ...] = (200,), **kwargs: Any) -> Model:
        with self.client.request(method, path, name=name, catch_response=True,
                                 timeout=SETTINGS.request_timeout_s, **kwargs) as response:
            if response.status_code not in expect:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                raise JourneyFailed(name)
            try:
                return model.model_validate_json(response.content)
            except ValidationError as error:
                response.failure(f"body breaks {model.__name__}: {error.errors()[0]['msg']}")
                raise JourneyFailed(name) from error

    @contextmanager
    def _journey(self, name: str) -> Iterator[None]:
        """Record the whole journey as one JOURNEY sample (failed if any step failed)."""
        started = time.perf_counter()
        error: Exception | None = None
        try:
            yield
        except JourneyFailed as failure:
            error = failure
            raise
        finally:
            events.request.fire(request_type=JOURNEY_REQUEST_TYPE, name=name,
                                response_time=(time.perf_counter() - started) * 1000.0,
                                response_length=0, exception=error, context={})
