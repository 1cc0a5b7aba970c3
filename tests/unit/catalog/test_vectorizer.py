import numpy as np
import pytest

from musechat.catalog.vectorizer import INDEX_DIM, FixedProjection

pytestmark = pytest.mark.unit


def test_same_features_same_unit_vector_and_version_names_the_projection() -> None:
    features = np.random.default_rng(0).standard_normal((5, 40)).astype(np.float32)
    a, b = FixedProjection(seed=3), FixedProjection(seed=3)
    va, vb = a.embed(features), b.embed(features)
    assert va.shape == (INDEX_DIM,)
    np.testing.assert_allclose(va, vb)
    assert np.isclose(np.linalg.norm(va), 1.0, atol=1e-5)
    assert "fixed-projection" in a.version and "seed=3" in a.version


def test_different_tracks_are_not_collinear() -> None:
    rng = np.random.default_rng(1)
    projection = FixedProjection()
    cosines = [float(projection.embed(rng.standard_normal((3, 64))) @ projection.embed(rng.standard_normal((3, 64))))
               for _ in range(20)]
    assert max(abs(c) for c in cosines) < 0.6


@pytest.mark.parametrize("shape", [(0, 8), (8,)])
def test_bad_shapes_are_rejected(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="expected"):
        FixedProjection().embed(np.ones(shape, dtype=np.float32))


def test_constant_features_are_rejected() -> None:
    with pytest.raises(ValueError, match="constant"):
        FixedProjection().embed(np.ones((2, 8), dtype=np.float32))


def test_a_track_is_unchanged_when_bytes_metadata_and_models_are() -> None:
    from musechat.catalog.indexer import same_track

    stored = {"content_sha256": "ab", "title": "T", "artist": "A", "album": None, "licence": None,
              "feature_model": "f1", "index_model": "i1", "tag_scores": [0.5000001]}
    assert same_track(stored, {**stored, "tag_scores": [0.5000002]})  # float noise of a re-encode
    assert not same_track(stored, {**stored, "title": "T2"})
    assert not same_track(stored, {**stored, "index_model": "i2"})
    assert not same_track(stored, {**stored, "content_sha256": "cd"})
    unhashed = {**stored, "content_sha256": None}
    assert not same_track(unhashed, {**unhashed, "tag_scores": [0.6]})
