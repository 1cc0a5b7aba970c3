"""Conversation state as a signed token the client echoes: any gateway replica can serve any turn, and a
restart loses nothing (no sticky sessions, no session store). The Kafka conversation.turn events remain
the durable log. HMAC-SHA256 over the JSON body; the secret comes from settings (env or mounted file).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from musechat.contracts.api import TrackFilters
from musechat.contracts.conversation import DEFAULT_TENANT
from musechat.contracts.request import UnderstoodRequest
from musechat.errors import MuseChatError
from musechat.lru import ExpiringLru

TOKEN_VERSION = "s1"
MAX_REMEMBERED = 200  # excluded tracks kept per conversation; bounds the token size


class StateError(MuseChatError):
    """The token is missing, forged, expired, or belongs to another conversation or tenant: to the caller,
    all of these are an unknown conversation (404), so a token reveals nothing about other tenants."""

    status, code = 404, "conversation_not_found"

    def __init__(self, message: str) -> None:
        super().__init__(f"unknown conversation state: {message}")


class ConversationState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str
    video_id: str
    turn: int = Field(ge=1)
    candidate_track_id: str | None = Field(description="Top track of the last turn: the next turn's candidate.")
    excluded_track_ids: list[str] = Field(default_factory=list,
                                          description="Rejected or already suggested-and-answered tracks.")
    filters: TrackFilters = Field(default_factory=TrackFilters)
    understood: UnderstoodRequest | None = Field(
        default=None, description="The standing request the next turn's words merge into (None: from `filters`).")
    issued_at: float = Field(default_factory=time.time)
    tenant: str = Field(default=DEFAULT_TENANT, description="The tenant of the key that started it.")
    version: int = Field(default=0, ge=0, description="Bumped by every turn and feedback: an older token is stale.")
    recommended_track_ids: list[str] = Field(default_factory=list,
                                             description="The last turn's tracks: what feedback may name.")

    def remember(self, *track_ids: str) -> list[str]:
        merged = list(dict.fromkeys([*self.excluded_track_ids, *track_ids]))
        return merged[-MAX_REMEMBERED:]


class StaleStateError(MuseChatError):
    status, code = 409, "stale_state"


class VersionBook:
    """The latest state version of each recent conversation: optimistic concurrency for state tokens.

    A turn or feedback advances the conversation from the version its token carries; when another request
    advanced it first (two tabs, concurrent feedback) the later one is a 409 `stale_state` instead of
    silently forking the conversation and losing the other's update. An exact replay of the request that
    made the last advance (a client retrying after a lost response) is not stale: it gets the same version
    again and is flagged, so the caller answers it without publishing its event twice. The check runs when
    the answer is ready, so a failed request never consumes a version. Kept in this process for
    `max_age_s` (an LRU): across replicas, or after a restart, an older token is not detected — the
    signed token alone stays the source of truth (no sticky sessions).
    """

    def __init__(self, max_entries: int = 100_000, max_age_s: float = 24 * 3600.0) -> None:
        # conversation id -> (latest version, the request key that advanced it there)
        self._latest: ExpiringLru[str, tuple[int, str | None]] = ExpiringLru(max_entries, max_age_s)
        self._lock = threading.Lock()

    def advance(self, conversation_id: str, from_version: int, request_key: str | None = None) -> tuple[int, bool]:
        """(the new version, whether this request replays the one that made the last advance)."""
        with self._lock:
            entry = self._latest.get(conversation_id)
            if entry is not None:
                latest, last_key = entry
                if request_key is not None and latest == from_version + 1 and last_key == request_key:
                    return latest, True
                if latest != from_version:
                    raise StaleStateError(f"the conversation moved on (version {latest}, this state is "
                                          f"{from_version}): send the `state` of the latest response")
            self._latest.put(conversation_id, (from_version + 1, request_key))
        return from_version + 1, False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StateSigner:
    def __init__(self, secret: bytes, max_age_s: float = 7 * 24 * 3600) -> None:
        if len(secret) < 16:
            raise ValueError("the conversation state secret must be at least 16 bytes")
        self._secret = secret
        self._max_age_s = max_age_s

    def _mac(self, body: str) -> str:
        return _b64(hmac.digest(self._secret, f"{TOKEN_VERSION}.{body}".encode(), hashlib.sha256))

    def sign(self, state: ConversationState) -> str:
        body = _b64(json.dumps(state.model_dump(mode="json"), separators=(",", ":")).encode())
        return f"{TOKEN_VERSION}.{body}.{self._mac(body)}"

    def verify(self, token: str, conversation_id: str, tenant: str | None = None) -> ConversationState:
        try:
            version, body, mac = token.split(".")
        except ValueError as error:
            raise StateError("malformed state token: send the `state` of the previous response") from error
        if version != TOKEN_VERSION or not hmac.compare_digest(mac, self._mac(body)):
            raise StateError("state token is not valid: send the `state` of the previous response unchanged")
        try:
            state = ConversationState.model_validate_json(_unb64(body))
        except (ValidationError, ValueError) as error:
            raise StateError("state token is not valid") from error
        if state.conversation_id != conversation_id:
            raise StateError("state token belongs to another conversation")
        if tenant is not None and state.tenant != tenant:
            raise StateError("no such conversation for this API key")
        if time.time() - state.issued_at > self._max_age_s:
            raise StateError("conversation expired: start a new one")
        return state
