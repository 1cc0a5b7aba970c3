"""Retry delays: capped exponential backoff with "equal jitter".

Half of each delay is fixed so delays still grow with the attempt number; the other half is random so
many consumers failing on the same dependency do not retry in lockstep.
"""

from __future__ import annotations

import random


def backoff_delay(attempt: int, initial_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based) before the next one.

    The un-jittered ceiling is `min(max_s, initial_s * 2**(attempt-1))`; the result lies in
    [ceiling / 2, ceiling].
    """
    if attempt < 1:
        raise ValueError(f"attempt is 1-based, got {attempt}")
    if initial_s < 0 or max_s < 0:
        raise ValueError(f"backoff bounds must be >= 0, got initial_s={initial_s}, max_s={max_s}")
    # Cap the exponent so a very large attempt number cannot overflow the float.
    ceiling = min(max_s, initial_s * 2.0 ** min(attempt - 1, 62))
    half = ceiling / 2.0
    return half + (rng or random).uniform(0.0, half)
