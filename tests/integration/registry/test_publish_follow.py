"""Publishing through the model registry on the real embedded engine (qdrant-edge): the indexer's
model-published handler rebuilds the index and flips the alias while a stream of turns is ranked, and no
turn pairs one model's query tower with another model's track vectors; A→B→A→B ends on B; a restart
comes back on the published version, not the environment's; gc keeps the retention."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import numpy as np
import pytest

from musechat.catalog.indexer import collection_for
from musechat.catalog.reindex import ModelPublishedHandler
from musechat.catalog.track_features import read_track_features
from musechat.contracts.catalog import TRACKS_COLLECTION, ModelPublished
from musechat.contracts.conversation import VIDEOS_COLLECTION, VideoPayload
from musechat.contracts.envelope import EventEnvelope
from musechat.contracts.ranking import RankRequest, RankResponse
from musechat.contracts.topics import Topic
from musechat.fusion.model import FusionConfig, FusionModel, InputDims, load_checkpoint, save_checkpoint
from musechat.ranker.core import FusionRanker, FusionVectorizer
from musechat.registry.registry import ModelRegistry
from musechat.store.edge import EdgeStore
from tests.fixtures_ranker import MUSIC_DIM, TEXT_DIM, VIDEO_DIM, RankerWorld, build_ranker_world

pytestmark = pytest.mark.integration


class _Indexer:
    """Stands in for the track indexer, whose only part in a publish is `use(vectorizer)`."""

    def __init__(self) -> None:
        self.versions: list[str] = []

    def use(self, vectorizer: FusionVectorizer) -> None:
        self.versions.append(vectorizer.version)


def _second_checkpoint(root: Path) -> Path:
    import torch

    torch.manual_seed(1)
    config = FusionConfig(variant="musechat", d_model=32, n_heads=2,
                          dims=InputDims(video=VIDEO_DIM, music=MUSIC_DIM, text=TEXT_DIM))
    save_checkpoint(FusionModel(config).eval(), root / "fusion-b")
    return root / "fusion-b"


def _published(registry: ModelRegistry, version: str) -> EventEnvelope[ModelPublished]:
    # A fresh id per publish: the consumer dedupes on ids, and re-publishing a version must not be a no-op.
    return EventEnvelope[ModelPublished](
        id=f"model-published:{version}:{uuid.uuid4().hex}", type=Topic.MODEL_PUBLISHED.event_type,
        source="tests", subject="fusion",
        data=ModelPublished(checkpoint=str(registry.checkpoint(version)), version=version))


def _expected_scores(store: EdgeStore, version_model: FusionModel, response: RankResponse,
                     request: RankRequest) -> np.ndarray:
    """Cosine of the version's turn-1 query and the version's music vector of each returned track."""
    import torch

    [video] = store.retrieve(VIDEOS_COLLECTION, [request.video_id])
    features = VideoPayload.model_validate(video.payload).features
    assert features is not None
    v = torch.from_numpy(features.to_array()[None].astype(np.float32))
    with torch.inference_mode():
        query = version_model.encode_query(v, torch.ones(v.shape[:2], dtype=torch.bool)).numpy()[0]
    tracks = {track_id: record.features.to_array() for track_id, record in
              read_track_features(store, [t.track_id for t in response.tracks], tracks_collection=None).items()}
    music = FusionVectorizerFromModel(version_model).embed_many([tracks[t.track_id] for t in response.tracks])
    cosine = music @ query / (np.linalg.norm(music, axis=1) * np.linalg.norm(query))
    return np.asarray(cosine)


class FusionVectorizerFromModel(FusionVectorizer):
    def __init__(self, model: FusionModel) -> None:
        super().__init__(model, "check")


@pytest.fixture
def world(tmp_path: Path) -> RankerWorld:
    return build_ranker_world(tmp_path)


def test_publish_under_a_stream_never_mixes_towers_and_a_b_a_b_ends_on_b(
        world: RankerWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    a = registry.register(world.checkpoint).version
    b = registry.register(_second_checkpoint(tmp_path), parent=a).version
    assert a != b
    store = EdgeStore(world.store_path)
    indexer = _Indexer()
    handler = ModelPublishedHandler(store, indexer, registry, retention=1)
    try:
        handler.handle(_published(registry, a))
        assert store.resolve(TRACKS_COLLECTION) == collection_for(a) and registry.live() == a
        ranker = FusionRanker.load(store, world.checkpoint, registry=registry)
        turn1 = [RankRequest(video_id="vid-a", limit=5), RankRequest(video_id="vid-b", limit=5)]
        later = [RankRequest(video_id="vid-a", candidate_track_id="trk-3", text_tokens=world.words[5])]
        served: list[tuple[RankRequest, RankResponse]] = []
        errors: list[BaseException] = []
        stop = threading.Event()

        def stream() -> None:
            while not stop.is_set():
                try:
                    requests = turn1 + later
                    for request, answer in zip(requests, ranker.rank_many(requests), strict=True):
                        assert isinstance(answer, RankResponse), answer
                        served.append((request, answer))
                except BaseException as error:  # every failure of the stream is the finding
                    errors.append(error)
                    return

        thread = threading.Thread(target=stream)
        thread.start()
        for version in (b, a, b):  # A→B→A→B: each one a real flip, even for a version published before
            handler.handle(_published(registry, version))
            assert store.resolve(TRACKS_COLLECTION) == collection_for(version)
            assert registry.live() == version
        stop.set()
        thread.join(timeout=60)
        assert not errors, errors
        # Turns were served on both sides of the flips, and every one from a matching pair of towers.
        assert {r.model_version for _, r in served} == {a, b}, len(served)
        mismatched = [r for _, r in served if collection_for(r.model_version) != r.index_collection]
        assert mismatched == []
        assert indexer.versions == [a, b, a, b]
        assert [entry.version for entry in registry.state().history] == [a, b, a, b]
        # The scores prove it: they equal the reported version's query and music towers' cosine (a
        # mismatched pair would score with the other model's track vectors).
        models = {v: load_checkpoint(registry.checkpoint(v))[0] for v in (a, b)}
        checked = 0
        for request, response in served[-60:]:
            if request.candidate_track_id is None and response.index_collection in store.list_collections():
                expected = _expected_scores(store, models[response.model_version], response, request)
                assert np.allclose([t.score for t in response.tracks], expected, atol=2e-2), response.model_version
                checked += 1
        assert checked > 0
        # gc, retention 1: B's collection (live) and A's (the previous live) stay; the original one is gone.
        tracks_collections = {c for c in store.list_collections() if c.startswith(f"{TRACKS_COLLECTION}-")}
        assert tracks_collections == {collection_for(a), collection_for(b)}
        assert ranker.rank(turn1[0]).model_version == b
    finally:
        store.close()

    # A restart comes back on the published version (B), not on the environment's checkpoint (A).
    store = EdgeStore(world.store_path)
    try:
        restarted = FusionRanker.load(store, world.checkpoint, registry=registry)
        assert restarted.version == b
        assert restarted.rank(turn1[0]).model_version == b
    finally:
        store.close()
    from musechat.catalog.runtime import default_vectorizer
    from musechat.catalog.settings import IndexerSettings

    monkeypatch.setenv("MUSECHAT_MODEL_REGISTRY_DIR", str(registry.root))
    assert default_vectorizer(IndexerSettings(fusion_checkpoint=world.checkpoint)).version == b
