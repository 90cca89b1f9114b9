"""PixelPCA: the label-free pixel view of the low-budget strategies."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from aalu_sk.representation import PixelPCA


def images(n=40, seed=0):
    return np.random.RandomState(seed).rand(n, 1, 6, 6).astype(np.float32)


def test_layouts_give_the_same_embedding():
    X = images()
    ref = PixelPCA(n_components=5).fit_transform(X)
    as_uint8 = np.round(X[:, 0] * 255).astype(np.uint8)
    for layout in (X[:, 0], X.reshape(40, -1), X.astype(np.float64)):
        np.testing.assert_allclose(
            np.abs(PixelPCA(n_components=5).fit_transform(layout)),
            np.abs(ref), atol=1e-4)
    # uint8 (n, H, W, C) is divided by 255 (then standardised anyway).
    u = PixelPCA(n_components=5).fit(as_uint8[..., None])
    assert u.input_shape_ == (6, 6, 1)
    np.testing.assert_allclose(
        u.transform(as_uint8[..., None]),
        PixelPCA(n_components=5).fit_transform(as_uint8 / 255.0), atol=1e-4)
    assert np.abs(u.scaler_.mean_ - (as_uint8.reshape(40, -1) / 255.0)
                  .mean(0)).max() < 1e-12


def test_is_standardised_pca_and_keeps_the_top_components():
    X = images()
    emb = PixelPCA(n_components=3).fit_transform(X)
    flat = X.reshape(40, -1).astype(np.float64)
    z = (flat - flat.mean(0)) / flat.std(0)
    var = np.linalg.svd(z - z.mean(0), compute_uv=False) ** 2 / 39
    np.testing.assert_allclose(emb.var(0, ddof=1), var[:3], rtol=1e-4)
    assert emb.dtype == np.float32


def test_fewer_components_than_asked_when_the_data_is_small():
    assert PixelPCA().fit(images(n=12)).n_components_ == 12
    assert PixelPCA().fit(np.random.rand(100, 7)).n_components_ == 7


def test_whiten_gives_unit_variance():
    emb = PixelPCA(n_components=4, whiten=True).fit_transform(images())
    np.testing.assert_allclose(emb.var(0, ddof=1), 1.0, rtol=1e-4)
    plain = PixelPCA(n_components=4).fit_transform(images())
    assert not np.allclose(plain.var(0, ddof=1), 1.0, rtol=0.1)


def test_seeded_clone_and_pickle():
    X = np.random.RandomState(0).rand(600, 700)  # randomized solver
    a = PixelPCA(n_components=5, random_state=0).fit(X)
    b = PixelPCA(n_components=5, random_state=0).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.transform(X[:5]), a.transform(X[:5]))
    assert clone(a).get_params() == a.get_params() and \
        not hasattr(clone(a), "pca_")


@pytest.mark.parametrize("params, match", [
    (dict(n_components=0), "n_components must be a positive integer"),
    (dict(n_components=2.5), "n_components"),
    (dict(whiten="no"), "whiten must be True or False"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        PixelPCA(**params).fit(images())


def test_transform_checks_fit_and_shape():
    with pytest.raises(NotFittedError):
        PixelPCA().transform(images())
    pca = PixelPCA(n_components=2).fit(images())
    with pytest.raises(ValueError, match=r"shape \(1, 5, 5\)"):
        pca.transform(np.zeros((3, 1, 5, 5)))
    with pytest.raises(ValueError, match="NaN"):
        pca.transform(np.full((3, 1, 6, 6), np.nan))
