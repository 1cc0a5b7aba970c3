from __future__ import annotations

import random

import pytest

from musechat.bus.backoff import backoff_delay

pytestmark = pytest.mark.unit


def test_delays_stay_within_half_to_full_exponential_ceiling() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (5, 3.2), (6, 5.0), (30, 5.0)]:
        for _ in range(200):
            delay = backoff_delay(attempt, 0.2, 5.0, rng)
            assert ceiling / 2 <= delay <= ceiling


def test_delays_are_jittered_not_constant() -> None:
    rng = random.Random(1)
    delays = {round(backoff_delay(3, 0.2, 5.0, rng), 6) for _ in range(50)}
    assert len(delays) > 40


def test_same_seed_gives_same_delays() -> None:
    a = [backoff_delay(n, 0.1, 2.0, random.Random(42)) for n in range(1, 8)]
    b = [backoff_delay(n, 0.1, 2.0, random.Random(42)) for n in range(1, 8)]
    assert a == b


def test_huge_attempt_number_is_capped_not_overflowing() -> None:
    assert 2.5 <= backoff_delay(10_000, 0.2, 5.0, random.Random(0)) <= 5.0


def test_zero_initial_means_no_wait() -> None:
    assert backoff_delay(3, 0.0, 5.0) == 0.0


@pytest.mark.parametrize(("attempt", "initial", "maximum"), [(0, 0.2, 5.0), (1, -0.1, 5.0), (1, 0.2, -1.0)])
def test_invalid_arguments_are_rejected(attempt: int, initial: float, maximum: float) -> None:
    with pytest.raises(ValueError, match=r"attempt|bounds"):
        backoff_delay(attempt, initial, maximum)
