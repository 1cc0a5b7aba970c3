import time
from pathlib import Path

import pytest

from musechat.gateway.auth import (
    SCOPE_CATALOG_WRITE,
    SCOPE_READ,
    ApiKeyRing,
    AuthError,
    hash_key,
    key_record,
    mint_key,
)
from musechat.gateway.state import ConversationState, StateError, StateSigner

pytestmark = pytest.mark.unit


@pytest.fixture
def ring(tmp_path: Path) -> tuple[ApiKeyRing, str, str]:
    reader, admin = mint_key(), mint_key()
    path = tmp_path / "keys.jsonl"
    path.write_text(key_record("reader", reader, [SCOPE_READ]) + "\n"
                    + key_record("admin", admin, [SCOPE_READ, SCOPE_CATALOG_WRITE]) + "\n")
    assert reader not in path.read_text() and admin not in path.read_text()  # stored hashed only
    return ApiKeyRing.from_file(path), reader, admin


def test_valid_key_with_scope_authenticates(ring: tuple[ApiKeyRing, str, str]) -> None:
    keys, reader, admin = ring
    assert keys.authenticate(f"Bearer {reader}", SCOPE_READ).name == "reader"
    assert keys.authenticate(f"bearer {admin}", SCOPE_CATALOG_WRITE).name == "admin"


@pytest.mark.parametrize(("header", "status", "code"), [
    (None, 401, "missing_api_key"), ("", 401, "missing_api_key"), ("Basic abc", 401, "invalid_api_key"),
    ("Bearer nope", 401, "invalid_api_key"), ("Bearer ", 401, "invalid_api_key"),
])
def test_missing_or_invalid_keys_are_401(ring: tuple[ApiKeyRing, str, str], header: str | None, status: int,
                                          code: str) -> None:
    with pytest.raises(AuthError) as caught:
        ring[0].authenticate(header, SCOPE_READ)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_key_without_scope_is_403(ring: tuple[ApiKeyRing, str, str]) -> None:
    keys, reader, _ = ring
    with pytest.raises(AuthError) as caught:
        keys.authenticate(f"Bearer {reader}", SCOPE_CATALOG_WRITE)
    assert caught.value.status == 403 and "catalog:write" in caught.value.message


def test_bad_key_file_lines_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "keys.jsonl"
    path.write_text('{"name": "x", "sha256": "ab", "scopes": ["read"]}\n')
    with pytest.raises(ValueError, match=":1: sha256"):
        ApiKeyRing.from_file(path)
    path.write_text('{"name": "x", "sha256": "' + "a" * 64 + '", "scopes": ["root"]}\n')
    with pytest.raises(ValueError, match="unknown scopes"):
        ApiKeyRing.from_file(path)


def _state(**overrides: object) -> ConversationState:
    values: dict[str, object] = {"conversation_id": "c1", "video_id": "v1", "turn": 2,
                                 "candidate_track_id": "t9", "excluded_track_ids": ["t1"]}
    values.update(overrides)
    return ConversationState.model_validate(values)


def test_state_round_trips_and_any_replica_with_the_secret_can_read_it() -> None:
    token = StateSigner(b"0123456789abcdef-secret").sign(_state())
    state = StateSigner(b"0123456789abcdef-secret").verify(token, "c1")
    assert state.candidate_track_id == "t9" and state.excluded_track_ids == ["t1"]


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: "s1.e30.abc",
    lambda t: "garbage",
])
def test_forged_or_malformed_tokens_are_rejected(mutate) -> None:  # type: ignore[no-untyped-def]
    signer = StateSigner(b"0123456789abcdef-secret")
    with pytest.raises(StateError):
        signer.verify(mutate(signer.sign(_state())), "c1")


def test_token_of_another_conversation_or_expired_is_rejected() -> None:
    signer = StateSigner(b"0123456789abcdef-secret", max_age_s=60)
    with pytest.raises(StateError, match="another conversation"):
        signer.verify(signer.sign(_state()), "c2")
    with pytest.raises(StateError, match="expired"):
        signer.verify(signer.sign(_state(issued_at=time.time() - 120)), "c1")


def test_remember_dedupes_and_bounds_the_exclusion_list() -> None:
    state = _state(excluded_track_ids=[f"t{i}" for i in range(199)])
    remembered = state.remember("t0", "new-1", "new-2")
    assert len(remembered) == 200 == len(set(remembered)) and remembered[-2:] == ["new-1", "new-2"]


def test_the_key_file_hot_reloads_adds_and_revocations_without_a_restart(tmp_path: Path) -> None:
    first, second = mint_key(), mint_key()
    path = tmp_path / "keys.jsonl"
    path.write_text(key_record("first", first, [SCOPE_READ], tenant="acme") + "\n")
    now = [0.0]
    ring = ApiKeyRing(ApiKeyRing.from_file(path)._keys, source=path, clock=lambda: now[0])
    assert ring.authenticate(f"Bearer {first}", SCOPE_READ).tenant == "acme"
    path.write_text(key_record("second", second, [SCOPE_READ], tenant="globex") + "\n")  # first revoked
    now[0] += 2.0
    assert ring.authenticate(f"Bearer {second}", SCOPE_READ).tenant == "globex"
    with pytest.raises(AuthError) as caught:
        ring.authenticate(f"Bearer {first}", SCOPE_READ)
    assert caught.value.status == 401
    path.write_text("{not json\n")  # a broken edit: the keys already loaded stay in force
    now[0] += 2.0
    assert ring.authenticate(f"Bearer {second}", SCOPE_READ).name == "second"


def test_keys_without_a_tenant_belong_to_the_default_tenant_and_bad_tenants_are_refused(tmp_path: Path) -> None:
    key = mint_key()
    path = tmp_path / "keys.jsonl"
    path.write_text('{"name": "old", "sha256": "' + hash_key(key) + '", "scopes": ["read"]}\n')
    assert ApiKeyRing.from_file(path).authenticate(f"Bearer {key}", SCOPE_READ).tenant == "default"
    with pytest.raises(ValueError, match="tenant"):
        key_record("x", key, [SCOPE_READ], tenant="Not A Tenant!")


def test_a_state_token_of_another_tenant_is_unknown() -> None:
    signer = StateSigner(b"k" * 32)
    token = signer.sign(_state(tenant="acme"))
    assert signer.verify(token, "c1", "acme").tenant == "acme"
    with pytest.raises(StateError, match="no such conversation"):
        signer.verify(token, "c1", "globex")
