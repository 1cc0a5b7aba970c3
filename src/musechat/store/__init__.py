"""Vector store: one interface (`VectorStore`), backends Qdrant Edge (embedded) and Qdrant server.

Importing this package is cheap: engine modules load only when a backend is opened.
"""

from musechat.store.base import (
    CollectionBusyError,
    CollectionExistsError,
    CollectionNotFoundError,
    CollectionSpec,
    Condition,
    Hit,
    MatchAny,
    MatchValue,
    NearestQuery,
    PayloadIndexKind,
    PointRecord,
    Range,
    SearchFilter,
    StoreError,
    VectorStore,
    point_uuid,
)
from musechat.store.settings import StoreSettings, open_store

__all__ = [
    "CollectionBusyError",
    "CollectionExistsError",
    "CollectionNotFoundError",
    "CollectionSpec",
    "Condition",
    "Hit",
    "MatchAny",
    "MatchValue",
    "NearestQuery",
    "PayloadIndexKind",
    "PointRecord",
    "Range",
    "SearchFilter",
    "StoreError",
    "StoreSettings",
    "VectorStore",
    "open_store",
    "point_uuid",
]
