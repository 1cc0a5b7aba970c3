"""One conformance suite, run against both real engines: Qdrant Edge on disk (in this process, and hosted
in a child process behind `HostedStore`), and qdrant-client's local mode (the Qdrant server API) on disk.
A backend passes only if it behaves identically on every case.

`qdrant-rest-standin` checks the bring-up's Qdrant stand-in (tests/deploy/qdrant_standin.py): the store is
opened as a server client (`open_store` with a URL and an API key, so REST, search params and the
`api-key` header are sent as to a real server), and every call crosses qdrant-client's REST transport to
local mode behind the stand-in's routes. Passing here is what lets the bring-up trust it."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from musechat.store import (
    CollectionBusyError,
    CollectionExistsError,
    CollectionNotFoundError,
    CollectionSpec,
    MatchAny,
    MatchValue,
    NearestQuery,
    PayloadIndexKind,
    PointRecord,
    Range,
    SearchFilter,
    StoreSettings,
    VectorStore,
    open_store,
)
from musechat.store.edge import EdgeStore
from musechat.store.hosted import HostedStore
from musechat.store.qdrant import QdrantServerStore

pytestmark = pytest.mark.integration

DIM = 8
GENRES = ["rock", "pop", "jazz", "ambient"]
N = 40

Opener = Callable[[], VectorStore]


def _open_qdrant_local(path: Path) -> VectorStore:
    from qdrant_client import QdrantClient

    return QdrantServerStore(QdrantClient(path=str(path)))


def _open_server(url: str, api_key: str) -> VectorStore:
    with warnings.catch_warnings():  # plain HTTP with a key: right for a loopback test, not for production
        warnings.filterwarnings("ignore", "Api key is used with an insecure connection", UserWarning)
        return open_store(StoreSettings(backend="qdrant", url=url, api_key=api_key))


@pytest.fixture(params=["edge", "edge-uncached", "edge-hosted", "qdrant-local", "qdrant-rest-standin"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Yields a function that opens (or reopens) the same on-disk store."""
    if request.param == "edge":
        yield lambda: EdgeStore(tmp_path / "edge")
    elif request.param == "edge-uncached":  # every search reads its hits' payloads from the engine
        yield lambda: EdgeStore(tmp_path / "edge", payload_cache_entries=0)
    elif request.param == "edge-hosted":  # the engine in a child process, every call through the pipe
        yield lambda: HostedStore.open(StoreSettings(backend="edge", path=tmp_path / "edge"))
    elif request.param == "qdrant-local":
        yield lambda: _open_qdrant_local(tmp_path / "qdrant-local")
    else:  # a server client over REST, the stand-in's local mode on disk behind it
        from tests.deploy.qdrant_standin import StandIn

        with StandIn(tmp_path / "standin", api_key="conformance-key") as url:
            yield lambda: _open_server(url, "conformance-key")


@pytest.fixture
def store(opener: Opener) -> Iterator[VectorStore]:
    s = opener()
    yield s
    s.close()


def _spec(name: str = "tracks_v1") -> CollectionSpec:
    return CollectionSpec(
        name=name,
        vectors={"audio": DIM, "text": DIM},
        payload_indexes={
            "genre": PayloadIndexKind.KEYWORD,
            "year": PayloadIndexKind.INTEGER,
            "bpm": PayloadIndexKind.FLOAT,
            "vocals": PayloadIndexKind.BOOL,
        },
    )


def _unit(rng: np.random.Generator) -> list[float]:
    v = rng.normal(size=DIM)
    return (v / np.linalg.norm(v)).tolist()


def _points(seed: int = 0, n: int = N) -> list[PointRecord]:
    rng = np.random.default_rng(seed)
    return [
        PointRecord(
            id=f"trk_{i:03d}",
            vectors={"audio": _unit(rng), "text": _unit(rng)},
            payload={
                "genre": GENRES[i % len(GENRES)],
                "year": 1990 + i,
                "bpm": 60.0 + 2.5 * i,
                "vocals": i % 3 == 0,
                "title": f"Song {i}",
            },
        )
        for i in range(n)
    ]


def _loaded(store: VectorStore, name: str = "tracks_v1", seed: int = 0) -> list[PointRecord]:
    store.create_collection(_spec(name))  # payload indexes are created here, before the bulk load
    pts = _points(seed)
    store.upsert(name, pts)
    store.optimize(name)
    return pts


def _all_ids(store: VectorStore, flt: SearchFilter | None, exclude: tuple[str, ...] = ()) -> set[str]:
    hits = store.search("tracks_v1", "audio", [1.0] * DIM, limit=N, filter=flt, exclude_ids=exclude)
    return {h.id for h in hits}


def test_collections_lifecycle(store: VectorStore) -> None:
    assert store.list_collections() == []
    assert not store.collection_exists("tracks_v1")
    store.create_collection(_spec())
    assert store.collection_exists("tracks_v1")
    assert store.list_collections() == ["tracks_v1"]
    with pytest.raises(CollectionExistsError):
        store.create_collection(_spec())
    store.drop_collection("tracks_v1")
    assert not store.collection_exists("tracks_v1")
    with pytest.raises(CollectionNotFoundError):
        store.drop_collection("tracks_v1")
    with pytest.raises(CollectionNotFoundError):
        store.count("tracks_v1")


def test_upsert_is_idempotent_by_entity_id(store: VectorStore) -> None:
    pts = _loaded(store)
    store.upsert("tracks_v1", pts)
    assert store.count("tracks_v1") == N
    changed = [p.model_copy(update={"payload": {**p.payload, "title": "Renamed"}}) for p in pts[:5]]
    store.upsert("tracks_v1", changed)
    assert store.count("tracks_v1") == N
    got = store.retrieve("tracks_v1", [p.id for p in pts[:5]])
    assert [r.payload["title"] for r in got] == ["Renamed"] * 5


def test_a_search_after_a_write_sees_the_write(store: VectorStore) -> None:
    # Searched first, so a backend that keeps hits' payloads has them when the points change under it.
    pts = _loaded(store)
    before = {h.id: h.payload for h in store.search("tracks_v1", "audio", pts[0].vectors["audio"], limit=N)}
    assert before["trk_000"]["title"] == "Song 0"
    renamed = [p.model_copy(update={"payload": {**p.payload, "title": "Renamed", "vocals": not p.payload["vocals"]}})
               for p in pts[:3]]
    store.upsert("tracks_v1", renamed)
    store.delete("tracks_v1", ["trk_003"])
    after = {h.id: h.payload for h in store.search("tracks_v1", "audio", pts[0].vectors["audio"], limit=N,
                                                   with_payload=["title", "vocals"])}
    assert "trk_003" not in after
    for p in renamed:
        assert after[p.id] == {"title": "Renamed", "vocals": p.payload["vocals"]}
    assert after["trk_004"] == {"title": "Song 4", "vocals": pts[4].payload["vocals"]}


def test_named_vectors_are_searched_separately(store: VectorStore) -> None:
    pts = _loaded(store)
    target = pts[7]
    for name in ("audio", "text"):
        hits = store.search("tracks_v1", name, target.vectors[name], limit=3)
        assert hits[0].id == target.id
        assert hits[0].score == pytest.approx(1.0, abs=1e-4)
        assert hits[0].payload["title"] == "Song 7"
        assert "_entity_id" not in hits[0].payload
    # The same query vector ranks differently in the two spaces.
    by_audio = store.search("tracks_v1", "audio", target.vectors["audio"], limit=N)
    by_text = store.search("tracks_v1", "text", target.vectors["audio"], limit=N)
    assert [h.id for h in by_audio] != [h.id for h in by_text]


def test_payload_filters(store: VectorStore) -> None:
    pts = _loaded(store)
    pay = {p.id: p.payload for p in pts}

    def expect(pred: Callable[[dict], bool]) -> set[str]:
        return {i for i, p in pay.items() if pred(p)}

    cases: list[tuple[SearchFilter, set[str]]] = [
        (SearchFilter(must=[MatchValue(key="genre", value="rock")]), expect(lambda p: p["genre"] == "rock")),
        (
            SearchFilter(must=[MatchAny(key="genre", values=["jazz", "pop"])]),
            expect(lambda p: p["genre"] in {"jazz", "pop"}),
        ),
        (
            SearchFilter(must=[Range(key="year", gte=2000, lte=2010)]),
            expect(lambda p: 2000 <= p["year"] <= 2010),
        ),
        (SearchFilter(must=[Range(key="bpm", lte=80.0)]), expect(lambda p: p["bpm"] <= 80.0)),
        (SearchFilter(must=[MatchValue(key="vocals", value=True)]), expect(lambda p: p["vocals"])),
        (SearchFilter(must=[MatchValue(key="vocals", value=False)]), expect(lambda p: not p["vocals"])),
        (SearchFilter(must=[MatchValue(key="year", value=1995)]), expect(lambda p: p["year"] == 1995)),
        (
            SearchFilter(
                must=[MatchAny(key="genre", values=["rock", "pop"])],
                must_not=[MatchValue(key="vocals", value=True), Range(key="year", gte=2020)],
            ),
            expect(lambda p: p["genre"] in {"rock", "pop"} and not p["vocals"] and p["year"] < 2020),
        ),
    ]
    for flt, expected in cases:
        assert expected, "each case must select something"
        assert _all_ids(store, flt) == expected, flt
        assert store.count("tracks_v1", flt) == len(expected), flt
    # Payload comes back exactly as written, bools included.
    hit = store.search("tracks_v1", "audio", pts[0].vectors["audio"], limit=1)[0]
    assert hit.payload == pts[0].payload


def test_exclude_ids(store: VectorStore) -> None:
    pts = _loaded(store)
    first = store.search("tracks_v1", "audio", pts[3].vectors["audio"], limit=5)
    rejected = (first[0].id, first[1].id)
    again = store.search("tracks_v1", "audio", pts[3].vectors["audio"], limit=5, exclude_ids=rejected)
    assert not {h.id for h in again} & set(rejected)
    assert [h.id for h in again[:3]] == [h.id for h in first[2:5]]
    rock = SearchFilter(must=[MatchValue(key="genre", value="rock")])
    assert _all_ids(store, rock, exclude=("trk_000",)) == _all_ids(store, rock) - {"trk_000"}


def test_search_without_payload_still_returns_entity_ids(store: VectorStore) -> None:
    pts = _loaded(store)
    hits = store.search("tracks_v1", "audio", pts[2].vectors["audio"], limit=3, with_payload=False)
    assert hits[0].id == "trk_002"
    assert all(h.payload == {} for h in hits)


def test_search_returns_only_the_payload_keys_asked_for(store: VectorStore) -> None:
    pts = _loaded(store)
    hits = store.search("tracks_v1", "audio", pts[4].vectors["audio"], limit=3,
                        with_payload=["title", "vocals", "not_a_key"])
    assert hits[0].id == "trk_004"
    assert hits[0].payload == {"title": "Song 4", "vocals": False}  # bools decoded, a missing key absent
    by_id = {p.id: p.payload for p in pts}
    assert all(h.payload == {k: by_id[h.id][k] for k in ("title", "vocals")} for h in hits)
    bare = store.search("tracks_v1", "audio", pts[4].vectors["audio"], limit=3, with_payload=[])
    assert [h.id for h in bare] == [h.id for h in hits]
    assert all(h.payload == {} for h in bare)
    with pytest.raises(TypeError, match="string"):
        store.search("tracks_v1", "audio", pts[4].vectors["audio"], with_payload="title")
    with pytest.raises(ValueError, match="reserved"):
        store.search("tracks_v1", "audio", pts[4].vectors["audio"], with_payload=["_entity_id"])


def test_search_many_answers_each_query_as_search_does(store: VectorStore) -> None:
    pts = _loaded(store)
    rock = SearchFilter(must=[MatchValue(key="genre", value="rock")])
    queries = [
        NearestQuery(vector=pts[1].vectors["audio"], limit=4),
        NearestQuery(vector=pts[2].vectors["audio"], limit=3, filter=rock, exclude_ids=("trk_000", "trk_004")),
        NearestQuery(vector=pts[5].vectors["audio"], limit=N + 5),
    ]
    batched = store.search_many("tracks_v1", "audio", queries, with_payload=["title"])
    single = [store.search("tracks_v1", "audio", q.vector, limit=q.limit, filter=q.filter,
                           exclude_ids=q.exclude_ids, with_payload=["title"]) for q in queries]
    assert [[h.id for h in hits] for hits in batched] == [[h.id for h in hits] for hits in single]
    assert [[h.payload for h in hits] for hits in batched] == [[h.payload for h in hits] for hits in single]
    assert batched[0][0].id == "trk_001" and len(batched[0]) == 4
    assert batched[1] and {h.id for h in batched[1]}.isdisjoint({"trk_000", "trk_004"})
    assert all(h.payload["title"].startswith("Song") for h in batched[1])
    assert len(batched[2]) == N
    assert store.search_many("tracks_v1", "audio", []) == []
    with pytest.raises(ValueError, match="limit"):
        NearestQuery(vector=pts[1].vectors["audio"], limit=0)
    with pytest.raises(ValueError, match="audio"):
        store.search_many("tracks_v1", "audio", [queries[0], NearestQuery(vector=[0.1, 0.2])])


def test_exact_search_ranks_by_true_cosine(store: VectorStore) -> None:
    pts = _loaded(store)
    query = [0.3, -0.2, 0.9, 0.1, 0.0, 0.5, -0.4, 0.2]
    rock = SearchFilter(must=[MatchValue(key="genre", value="rock")])
    [hits] = store.search_many("tracks_v1", "audio", [NearestQuery(
        vector=query, limit=3, filter=rock, exclude_ids=("trk_000",), exact=True)], with_payload=False)

    def cosine(v: list[float]) -> float:
        a, b = np.asarray(v), np.asarray(query)
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    allowed = [p for p in pts if p.payload["genre"] == "rock" and p.id != "trk_000"]
    want = sorted(allowed, key=lambda p: -cosine(p.vectors["audio"]))[:3]
    assert [h.id for h in hits] == [p.id for p in want]
    assert [h.score for h in hits] == pytest.approx([cosine(p.vectors["audio"]) for p in want], abs=1e-5)


def test_count_retrieve_delete(store: VectorStore) -> None:
    pts = _loaded(store)
    assert store.count("tracks_v1") == N
    assert store.count("tracks_v1", SearchFilter(must=[MatchValue(key="genre", value="jazz")])) == N // 4
    got = store.retrieve("tracks_v1", ["trk_005", "nope", "trk_001"])
    assert [r.id for r in got] == ["trk_005", "trk_001"]
    assert got[0].payload == pts[5].payload
    # Cosine vectors are stored normalised; ours already are, so they come back unchanged.
    assert np.allclose(got[0].vectors["audio"], pts[5].vectors["audio"], atol=1e-6)
    assert np.allclose(got[0].vectors["text"], pts[5].vectors["text"], atol=1e-6)
    store.delete("tracks_v1", ["trk_005", "trk_001", "never_existed"])
    assert store.count("tracks_v1") == N - 2
    assert store.retrieve("tracks_v1", ["trk_005", "trk_001"]) == []
    assert "trk_005" not in _all_ids(store, None)


def test_points_without_vectors_are_stored_but_never_found(store: VectorStore) -> None:
    _loaded(store)
    store.upsert("tracks_v1", [PointRecord(id="pending_1", vectors={}, payload={"genre": "jazz", "status": "pending"})])
    assert store.count("tracks_v1") == N + 1
    [record] = store.retrieve("tracks_v1", ["pending_1"])
    assert record.payload["status"] == "pending" and record.vectors == {}
    assert "pending_1" not in {h.id for h in store.search("tracks_v1", "audio", _unit(np.random.default_rng(9)), N + 1)}
    store.upsert("tracks_v1", [PointRecord(id="pending_1", vectors={"audio": _unit(np.random.default_rng(3))},
                                           payload={"status": "ready"})])
    assert store.count("tracks_v1") == N + 1
    assert "pending_1" in {h.id for h in store.search("tracks_v1", "audio", _unit(np.random.default_rng(9)), N + 1)}


def test_scroll(store: VectorStore) -> None:
    pts = _loaded(store)
    everything = list(store.scroll("tracks_v1", batch_size=7))  # several batches
    assert sorted(r.id for r in everything) == sorted(p.id for p in pts)
    assert all(r.vectors == {} for r in everything)
    assert {r.id: r.payload for r in everything} == {p.id: p.payload for p in pts}

    jazz = SearchFilter(must=[MatchValue(key="genre", value="jazz")])
    some = list(store.scroll("tracks_v1", filter=jazz, fields=["year", "vocals"], with_vectors=True))
    assert sorted(r.id for r in some) == sorted(p.id for p in pts if p.payload["genre"] == "jazz")
    by_id = {p.id: p for p in pts}
    for r in some:
        assert r.payload == {k: by_id[r.id].payload[k] for k in ("year", "vocals")}
        assert np.allclose(r.vectors["text"], by_id[r.id].vectors["text"], atol=1e-6)


def test_bad_input_is_rejected_clearly(store: VectorStore) -> None:
    _loaded(store)
    with pytest.raises(ValueError, match="dimensions"):
        store.upsert("tracks_v1", [PointRecord(id="x", vectors={"audio": [1.0, 0.0]})])
    with pytest.raises(ValueError, match="unknown vector"):
        store.upsert("tracks_v1", [PointRecord(id="x", vectors={"video": [1.0] * DIM})])
    with pytest.raises(ValueError, match="unknown vector"):
        store.search("tracks_v1", "video", [1.0] * DIM)
    with pytest.raises(ValueError, match="dimensions"):
        store.search("tracks_v1", "audio", [1.0] * (DIM + 1))
    with pytest.raises(ValueError, match="limit"):
        store.search("tracks_v1", "audio", [1.0] * DIM, limit=0)
    with pytest.raises(CollectionNotFoundError):
        store.search("missing", "audio", [1.0] * DIM)
    assert store.count("tracks_v1") == N


def test_persistence_across_reopen(opener: Opener) -> None:
    first = opener()
    pts = _loaded(first)
    first.set_alias("tracks", "tracks_v1")
    first.delete("tracks_v1", ["trk_000"])
    first.close()

    second = opener()
    try:
        assert second.list_collections() == ["tracks_v1"]
        assert second.resolve("tracks") == "tracks_v1"
        assert second.count("tracks") == N - 1
        hit = second.search("tracks", "text", pts[9].vectors["text"], limit=1)[0]
        assert (hit.id, hit.payload) == ("trk_009", pts[9].payload)
    finally:
        second.close()


def test_blue_green_alias_switch(store: VectorStore) -> None:
    _loaded(store, "tracks_v1", seed=0)
    store.set_alias("tracks", "tracks_v1")
    assert store.resolve("tracks") == "tracks_v1"
    assert store.resolve("tracks_v1") == "tracks_v1"
    assert store.collection_exists("tracks")
    assert store.count("tracks") == N

    # v2: new model -> new vectors for the same entities, plus one new track.
    store.create_collection(_spec("tracks_v2"))
    v2 = [*_points(seed=1), PointRecord(id="trk_new", vectors={"audio": [1.0] * DIM, "text": [1.0] * DIM})]
    store.upsert("tracks_v2", v2)
    store.optimize("tracks_v2")
    assert store.count("tracks") == N  # readers still on v1 while v2 is built

    with pytest.raises(CollectionBusyError):
        store.drop_collection("tracks_v1")  # an alias still points to it
    store.set_alias("tracks", "tracks_v2")
    assert store.resolve("tracks") == "tracks_v2"
    assert store.count("tracks") == N + 1
    hit = store.search("tracks", "audio", v2[4].vectors["audio"], limit=1)[0]
    assert hit.id == v2[4].id and hit.score == pytest.approx(1.0, abs=1e-4)
    assert store.retrieve("tracks", ["trk_new"])[0].id == "trk_new"

    store.drop_collection("tracks_v1")
    assert store.list_collections() == ["tracks_v2"]
    assert store.count("tracks") == N + 1

    with pytest.raises(ValueError, match="alias"):
        store.drop_collection("tracks")
    with pytest.raises(CollectionExistsError):
        store.set_alias("tracks_v2", "tracks_v2")
    with pytest.raises(CollectionNotFoundError):
        store.set_alias("other", "tracks_v9")


def _records(n: int = 12) -> list[PointRecord]:
    """Points of a record collection: a large opaque payload each (like `track_features`), no vector."""
    rng = np.random.default_rng(5)
    return [PointRecord(id=f"trk_{i:03d}", vectors={},
                        payload={"blob": rng.bytes(3000).hex(), "model": "m@1", "rows": int(i % 12) + 1})
            for i in range(n)]


def test_record_collection_without_vectors(opener: Opener) -> None:
    """A collection with no vectors (payload on disk): written, read, scrolled, counted and deleted by id,
    persisted across a reopen, never searched (the per-track features collection)."""
    spec = CollectionSpec(name="track_features", vectors={}, payload_on_disk=True)
    pts = _records()
    first = opener()
    try:
        first.create_collection(spec)
        assert first.list_collections() == ["track_features"]
        first.upsert("track_features", pts)
        first.upsert("track_features", pts[:3])  # idempotent by entity id
        first.optimize("track_features")
        assert first.count("track_features") == len(pts)
        got = first.retrieve("track_features", ["trk_007", "nope", "trk_002"])
        assert [(r.id, r.payload, r.vectors) for r in got] == [("trk_007", pts[7].payload, {}),
                                                               ("trk_002", pts[2].payload, {})]
        assert {r.id: r.payload for r in first.scroll("track_features", batch_size=5)} == {
            p.id: p.payload for p in pts}
        assert [r.payload for r in first.scroll("track_features", fields=["model"])][:1] == [{"model": "m@1"}]
        with pytest.raises(ValueError, match="without vectors"):
            first.search("track_features", "audio", [1.0] * DIM)
        with pytest.raises(ValueError, match="without vectors"):
            first.upsert("track_features", [PointRecord(id="x", vectors={"audio": [1.0] * DIM})])
        first.delete("track_features", ["trk_000", "never_existed"])
        assert first.count("track_features") == len(pts) - 1
    finally:
        first.close()
    second = opener()
    try:
        assert second.count("track_features") == len(pts) - 1
        assert second.retrieve("track_features", ["trk_011"])[0].payload == pts[11].payload
        assert second.retrieve("track_features", ["trk_000"]) == []
        second.drop_collection("track_features")
        assert second.list_collections() == []
    finally:
        second.close()
