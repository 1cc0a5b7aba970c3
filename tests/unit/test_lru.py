"""The bounded, expiring LRU behind the hot-path caches (text encodings, features, store payloads)."""

from __future__ import annotations

import pytest

from musechat.lru import ExpiringLru

pytestmark = pytest.mark.unit


def test_least_recently_used_goes_first_when_full() -> None:
    lru: ExpiringLru[str, int] = ExpiringLru(2, 60.0)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # "b" is now the least recently used
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == (1, None, 3)


def test_entries_expire_after_their_age_limit() -> None:
    now = [0.0]
    lru: ExpiringLru[str, int] = ExpiringLru(4, 10.0, clock=lambda: now[0])
    lru.put("a", 1)
    now[0] = 10.5
    assert lru.get("a") is None
    assert len(lru) == 0


def test_discard_forgets_one_entry_and_ignores_unknown_keys() -> None:
    lru: ExpiringLru[str, int] = ExpiringLru(4, float("inf"))
    lru.put("a", 1)
    lru.put("b", 2)
    lru.discard("a")
    lru.discard("never-put")
    assert (lru.get("a"), lru.get("b")) == (None, 2)


def test_bad_bounds_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ExpiringLru(0, 1.0)
    with pytest.raises(ValueError, match="max_age_s"):
        ExpiringLru(1, 0.0)
