"""The learning loop's metrics: turns served with matching or mismatched towers, the live model's age,
gate verdicts. (Quartets written: `musechat_dataset_quartets_total` in dataset/writer.py.)

Alert on `musechat_turns_served_total{towers="mismatched"}` rising (must stay 0: a turn whose query tower
is not the model that built the index it searched) and on `musechat_model_live_age_seconds` exceeding the
retrain period (the loop stopped closing)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge

from musechat.contracts.ranking import RankResponse

if TYPE_CHECKING:
    from musechat.registry.registry import ModelRegistry

TURNS_SERVED = Counter(
    "musechat_turns_served",
    "Conversation turns answered, by whether the query tower's model built the index it searched.",
    ["towers"],  # matched, mismatched
)
_MATCHED, _MISMATCHED = TURNS_SERVED.labels(towers="matched"), TURNS_SERVED.labels(towers="mismatched")
LIVE_MODEL_AGE = Gauge("musechat_model_live_age_seconds",
                       "Seconds since the registry's live fusion model went live (NaN without one).")
GATE_VERDICTS = Counter("musechat_model_gate_verdicts", "Evaluation-gate verdicts given by this process "
                        "(the trainer job; push it, or read musechat_model_versions from a long-lived one).",
                        ["verdict"])  # passed, refused
MODEL_VERSIONS = Gauge("musechat_model_versions", "Registered fusion model versions by gate verdict.",
                       ["gate"])  # passed, refused, none

_collections: dict[str, str] = {}


def index_of(version: str) -> str:
    """The collection that `version`'s music tower builds (memoised: one hash per version)."""
    if version not in _collections:
        from musechat.catalog.indexer import collection_for

        _collections[version] = collection_for(version)
    return _collections[version]


def observe_served(ranked: RankResponse) -> None:
    """Count a served turn as matched when its model built the collection it searched."""
    (_MATCHED if index_of(ranked.model_version) == ranked.index_collection else _MISMATCHED).inc()


def track_registry(registry: ModelRegistry) -> None:
    """Let the registry gauges read the registry at each scrape (a few small file reads): the live model's
    age, and the versions by gate verdict (the trainer job that gave them is gone by scrape time)."""
    def age() -> float:
        since = registry.state().live_since
        return time.time() - datetime.fromisoformat(since).timestamp() if since else float("nan")

    def versions(verdict: str) -> Callable[[], float]:
        def count() -> float:
            gates = [m.gate for m in registry.versions()]
            return float(sum(1 for g in gates if ("none" if g is None else "passed" if g.passed else "refused")
                             == verdict))
        return count

    LIVE_MODEL_AGE.set_function(age)
    for verdict in ("passed", "refused", "none"):
        MODEL_VERSIONS.labels(gate=verdict).set_function(versions(verdict))
