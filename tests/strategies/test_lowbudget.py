"""TypiClustSampler and ProbCoverSampler: the view they embed with, the
strategy contract (zero labels, no estimator, scores, seeds) and modAL.

The selection itself is tested in test_coverage.py; here the classes'
own work: which embedding they choose, and that their picks are the pure
functions' picks on it, mapped to pool positions.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer

from aalu_sk import ProbCoverSampler, TypiClustSampler
from aalu_sk.representation import PixelPCA
from aalu_sk.strategies import make_strategy
from aalu_sk.strategies.coverage import l2_normalize, probcover, typiclust

SAMPLERS = [TypiClustSampler, ProbCoverSampler]
IDENTITY = FunctionTransformer()


def blob_pool(seed=0):
    """Three blobs (sizes 40, 30, 20) of 2-d points, far apart."""
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(40, 2), rng.randn(30, 2) + [20, 0],
                   rng.randn(20, 2) + [0, 20]]) + [50, 50]
    return X, np.repeat([0, 1, 2], [40, 30, 20])


class EmbeddingModel(LogisticRegression):
    """A task model with its own label-free representation: column 1 only."""

    def __init__(self, representation="column 1"):
        super().__init__()
        self.representation = representation

    def embed(self, X):
        return np.asarray(X, dtype=np.float32)[:, 1:2]


@pytest.mark.parametrize("cls", SAMPLERS)
def test_works_from_zero_labels_without_an_estimator(cls):
    X, blob = blob_pool()
    extra = {"n_classes": 3} if cls is ProbCoverSampler else {}
    qs = cls(representation=IDENTITY, normalize=False, random_state=0,
             **extra)
    picks = qs.query(None, None, X, None, 3)
    assert sorted(blob[picks].tolist()) == [0, 1, 2]
    assert qs.scores_.shape == (90,) and np.isfinite(qs.scores_).all()
    empty = qs.query(X[:0], np.zeros(0, int), X, None, 3)
    assert empty.tolist() == picks.tolist()


def test_typiclust_skips_the_labeled_blob_and_maps_to_pool_positions():
    X, blob = blob_pool()
    qs = TypiClustSampler(representation=IDENTITY, normalize=False,
                          random_state=0)
    X_l = X[[0, 40]]  # one sample of blobs 0 and 1
    picks = qs.query(X_l, [0, 1], np.delete(X, [0, 40], axis=0), None, 1)
    rest = np.delete(blob, [0, 40])
    assert rest[picks].tolist() == [2]
    # scores_ are pool positions: the pick is blob 2's most typical.
    assert np.argmax(np.where(rest == 2, qs.scores_, -np.inf)) == picks[0]


def test_probcover_picks_outside_the_covered_blob():
    X, blob = blob_pool()
    qs = ProbCoverSampler(representation=IDENTITY, delta=8.0,
                          normalize=False, random_state=0)
    centre = int(np.argmin(np.linalg.norm(X[:40] - X[:40].mean(0), axis=1)))
    pool = np.delete(X, [centre], axis=0)
    picks = qs.query(X[[centre]], [0], pool, None, 2)
    rest = np.delete(blob, [centre])
    assert rest[picks].tolist() == [1, 2]  # larger uncovered blob first
    assert qs.delta_ == 8.0 and qs.scores_[rest == 0].max() == 0
    # the labeled blob 0 and the picked 1 and 2: every sample is covered
    assert qs.coverage_ == 1.0
    small = ProbCoverSampler(representation=IDENTITY, delta=1e-9,
                             normalize=False, random_state=0)
    small.query(X[[centre]], [0], pool, None, 2)
    assert small.coverage_ == 3 / len(X)  # each ball holds its centre only


def test_picks_are_the_pure_functions_on_the_view():
    X, _ = blob_pool()
    X_l, pool = X[:3], X[3:]
    for qs, pure in [
            (TypiClustSampler(random_state=3), lambda e, rng: typiclust(
                e, np.arange(3), 5, random_state=rng)[0]),
            (ProbCoverSampler(delta=0.3, random_state=3),
             lambda e, rng: probcover(e, np.arange(3), 5, 0.3,
                                      random_state=rng)[0])]:
        picks = qs.query(X_l, [0, 0, 0], pool, None, 5)
        rng = np.random.RandomState(3)
        view = PixelPCA(random_state=rng.randint(2**31 - 1)).fit(X)
        assert isinstance(qs.representation_, PixelPCA)
        emb = l2_normalize(view.transform(X))
        assert (pure(emb, rng) - 3).tolist() == picks.tolist()


# -- the view: representation, then estimator.embed, then PixelPCA ------------------------
def test_an_unfitted_representation_is_cloned_and_fit_on_all_samples():
    X, _ = blob_pool()
    rep = PCA(n_components=1)
    qs = TypiClustSampler(representation=rep, random_state=0)
    qs.query(X[:5], np.zeros(5, int), X[5:], None, 2)
    assert not hasattr(rep, "components_")  # the parameter is untouched
    assert qs.representation_ is not rep and \
        qs.representation_.n_samples_ == 90


def test_a_fitted_representation_is_used_as_given():
    X, blob = blob_pool()
    rep = PCA(n_components=1).fit(X * [0, 1])  # reads column 1
    qs = ProbCoverSampler(representation=rep, delta=4.0, normalize=False,
                          random_state=0)
    picks = qs.query(None, None, X, None, 2)
    assert qs.representation_ is rep
    # Along column 1 blobs 0 and 1 coincide (y ~ 50) and blob 2 is apart:
    # the first ball covers the 70 points of blobs 0 + 1.
    assert blob[picks[0]] in (0, 1) and blob[picks[1]] == 2


def test_the_estimators_own_representation_comes_next():
    X, blob = blob_pool()
    model = EmbeddingModel().fit(X, blob)
    qs = ProbCoverSampler(delta=4.0, normalize=False, random_state=0)
    picks = qs.query(None, None, X, model, 2)
    assert qs.representation_ == "column 1"
    assert blob[picks[0]] in (0, 1) and blob[picks[1]] == 2
    # Without one, PixelPCA: all three blobs are apart.
    model.representation = None
    qs.query(None, None, X, model, 2)
    assert isinstance(qs.representation_, PixelPCA)


@pytest.mark.parametrize("cls", SAMPLERS)
def test_bad_representation_and_normalize_are_refused(cls):
    X, _ = blob_pool()
    with pytest.raises(TypeError, match="representation must be a "
                                        "scikit-learn transformer"):
        cls(representation="pca", delta=0.5).query(None, None, X, None, 1) \
            if cls is ProbCoverSampler else \
            cls(representation="pca").query(None, None, X, None, 1)
    with pytest.raises(ValueError, match="normalize must be True or False"):
        cls(normalize="yes").query(None, None, X, None, 1)


# -- ProbCover's number of pseudo-classes -----------------------------------------
def test_probcover_n_classes_from_the_estimator_or_the_labels():
    X, blob = blob_pool()
    qs = ProbCoverSampler(representation=IDENTITY, random_state=0)
    with pytest.raises(ValueError, match="set n_classes"):
        qs.query(None, None, X, None, 2)
    qs.query(X[:2], [0, 1], X[2:], None, 2)          # two distinct labels
    assert qs.n_classes_ == 2
    qs.query(None, None, X, LogisticRegression().fit(X, blob), 2)
    assert qs.n_classes_ == 3                          # its classes_
    with pytest.raises(ValueError, match="set n_classes"):
        qs.query(None, None, X, EmbeddingModel(), 2)  # unfitted: no classes_
    qs.set_params(n_classes=4).query(None, None, X, None, 2)
    assert qs.n_classes_ == 4
    qs.set_params(delta=0.5).query(None, None, X, None, 2)
    assert qs.n_classes_ is None and qs.delta_ == 0.5


# -- the strategy contract ---------------------------------------------------------
@pytest.mark.parametrize("cls", SAMPLERS)
def test_seeded_picklable_and_registered(cls):
    X = np.random.RandomState(0).rand(120, 1, 4, 4).astype(np.float32)
    make = lambda s: cls(random_state=s, **(  # noqa: E731
        {"n_classes": 4} if cls is ProbCoverSampler else {}))
    a = make(1).query(None, None, X, None, 6)
    assert a.tolist() == make(1).query(None, None, X, None, 6).tolist()
    assert a.tolist() != make(2).query(None, None, X, None, 6).tolist()
    qs = make(1)
    qs.query(None, None, X, None, 6)
    again = pickle.loads(pickle.dumps(qs))
    np.testing.assert_array_equal(again.scores_, qs.scores_)
    assert "scores_" not in clone(qs).__dict__
    name = "typiclust" if cls is TypiClustSampler else "probcover"
    assert type(make_strategy(name, random_state=4)) is cls
    with pytest.raises(ValueError, match="forms its batches itself"):
        make_strategy(name + "+div")


@pytest.mark.contract
@pytest.mark.parametrize("cls", SAMPLERS)
def test_modal_active_learner_from_zero_labels(cls):
    from modAL.models import ActiveLearner

    X, blob = blob_pool()
    qs = cls(representation=IDENTITY, normalize=False, random_state=0,
             **({"n_classes": 3} if cls is ProbCoverSampler else {}))
    learner = ActiveLearner(estimator=LogisticRegression(),
                            query_strategy=qs)
    idx, X_q = learner.query(X, n_instances=3)
    idx = np.asarray(idx)
    assert sorted(blob[idx].tolist()) == [0, 1, 2]
    learner.teach(X[idx], blob[idx])
    pool = np.delete(np.arange(90), idx)
    idx2 = np.asarray(learner.query(X[pool], n_instances=3)[0])
    assert not set(pool[idx2].tolist()) & set(idx.tolist())
    assert len(learner.X_training) == 3 and learner.score(X, blob) == 1.0
