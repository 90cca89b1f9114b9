"""aalu_sk.skactiveml: our strategies under scikit-activeml's contract.

In the manner of scikit-activeml's own strategy tests (its
``TemplateSingleAnnotatorPoolQueryStrategy``): one test per constructor and
query parameter, candidates as None / indices / samples, batch sizes beyond
the candidates, utilities of shape (batch_size, n_samples) with NaN for
labeled samples, reproducibility with a RandomState, the classifier left
unchanged, and known answers from scikit-activeml's own strategies where
both compute the same thing (entropy, core-set).
"""

import inspect
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

skactiveml = pytest.importorskip("skactiveml")
from skactiveml.base import SingleAnnotatorPoolQueryStrategy  # noqa: E402
from skactiveml.classifier import (SklearnClassifier,  # noqa: E402
                                   SkorchClassifier)
from skactiveml.pool import CoreSet, UncertaintySampling  # noqa: E402
from skactiveml.utils import MISSING_LABEL  # noqa: E402

import aalu_sk.strategies  # noqa: E402
from aalu_sk import ImageClassifier  # noqa: E402
from aalu_sk import skactiveml as adapter  # noqa: E402
from aalu_sk.strategies import BaseQueryStrategy  # noqa: E402

pytestmark = pytest.mark.contract

FAST = {"AdversarialUncertaintySampler": dict(epochs=1, hidden_dim=32),
        "VAALSampler": dict(epochs=1, channels=(8, 16), hidden_dim=32)}
# Strategies whose picks are not simply the best scores: greedy or sampled.
NOT_BY_SCORE = ("CoreSetSampler", "BADGESampler", "TypiClustSampler",
                "ProbCoverSampler")


def _picks_by_score(qs):
    """Whether ``qs``'s picks are its top utilities (no diversity rule)."""
    return type(qs).__name__ not in NOT_BY_SCORE and \
        getattr(qs.strategy_, "config_", {}).get(
            "diversity", getattr(qs, "diversity", None)) is None


class Dummy:
    pass


def _qs(name, **params):
    return getattr(adapter, name)(**{"random_state": 0, **FAST.get(name, {}),
                                     **params})


@pytest.fixture(scope="module")
def images(digits):
    """120 digits, the first 30 labeled (NaN marks the rest)."""
    X, y_true = digits
    X, y_true = X[:120], y_true[:120].astype(float)
    y = np.full(120, MISSING_LABEL)
    y[:30] = y_true[:30]
    return X, y, y_true


@pytest.fixture
def image_clf():
    return ImageClassifier("small_cnn", num_classes=10, max_epochs=2,
                           batch_size=32, random_state=0)


class EmbeddingNet(torch.nn.Module):
    """(logits, embeddings) for a SkorchClassifier."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Flatten(),
                                        torch.nn.Linear(64, 16),
                                        torch.nn.ReLU())
        self.head = torch.nn.Linear(16, 10)

    def forward(self, x):
        emb = self.body(x)
        return self.head(emb), emb


def _skorch_clf():
    return SkorchClassifier(
        EmbeddingNet,
        forward_outputs={"proba": (0, torch.nn.Softmax(dim=-1)),
                         "emb": (1, None)},
        criterion_output_keys="proba",
        neural_net_param_dict={"max_epochs": 3, "batch_size": 32,
                               "lr": 0.01, "train_split": None,
                               "verbose": 0,
                               "optimizer": torch.optim.Adam},
        classes=np.arange(10), random_state=0)


# -- every strategy, generically -----------------------------------------------------
def test_every_exported_strategy_has_an_adapter():
    exported = [n for n in aalu_sk.strategies.__all__
                if isinstance(getattr(aalu_sk.strategies, n), type) and
                issubclass(getattr(aalu_sk.strategies, n), BaseQueryStrategy)
                and n != "BaseQueryStrategy"]
    assert list(adapter.STRATEGY_NAMES) == exported
    for name in exported:
        cls = getattr(adapter, name)
        assert issubclass(cls, SingleAnnotatorPoolQueryStrategy)
        assert cls.strategy_class is getattr(aalu_sk.strategies, name)
        assert cls.__module__ == "aalu_sk.skactiveml" and \
            cls.__qualname__ == name


@pytest.mark.parametrize("name", adapter.STRATEGY_NAMES)
def test_init_params_mirror_the_strategy_and_round_trip(name):
    cls = getattr(adapter, name)
    own = inspect.signature(cls.strategy_class.__init__).parameters
    params = inspect.signature(cls.__init__).parameters
    assert list(params)[1:] == [*list(own)[1:], "clf_embedding_flag_name",
                                "missing_label"]
    for p in own:
        if p != "self":
            assert params[p].default == own[p].default, p
    qs = cls()
    assert np.isnan(qs.missing_label) and qs.clf_embedding_flag_name is None
    # scikit-activeml's test_init_param_test_assignments: stored unchanged.
    for p in list(params)[1:]:
        value = Dummy()
        assert getattr(cls(**{p: value}), p) is value
    again = clone(_qs(name, missing_label=-1))
    assert again.get_params() == _qs(name, missing_label=-1).get_params()
    assert pickle.loads(pickle.dumps(again)).get_params() == \
        again.get_params()


def test_a_strategy_of_your_own_is_wrapped_with_its_parameters(images):
    class LeastConfident(BaseQueryStrategy):
        """Query the least confident prediction."""

        needs_labeled = False

        def __init__(self, power=1.0, random_state=None):
            self.power = power
            self.random_state = random_state

        def _select(self, X_l, y_l, X_pool, estimator, n, rng):
            p = estimator.predict_proba(X_pool.reshape(len(X_pool), -1))
            scores = (1 - p.max(axis=1)) ** self.power
            return np.argsort(-scores, kind="stable")[:n], scores

    cls = adapter.make_skactiveml_strategy(LeastConfident)
    assert cls.__name__ == "LeastConfident"
    assert sorted(cls(power=2).get_params()) == [
        "clf_embedding_flag_name", "missing_label", "power", "random_state"]
    X, y, _ = images
    Xf = X.reshape(len(X), -1)
    clf = SklearnClassifier(LogisticRegression(max_iter=500),
                            classes=np.arange(10))
    idx, util = cls(power=2, random_state=0).query(
        Xf, y, clf, batch_size=2, return_utilities=True)
    proba = clone(clf).fit(Xf, y).predict_proba(Xf)
    expected = (1 - proba.max(axis=1)) ** 2
    expected[:30] = np.nan
    np.testing.assert_allclose(util[0], expected)
    assert idx[0] == np.nanargmax(expected)


@pytest.mark.parametrize("bad", [object, BaseQueryStrategy, LogisticRegression])
def test_only_strategy_classes_can_be_wrapped(bad):
    with pytest.raises(TypeError, match="subclass of BaseQueryStrategy"):
        adapter.make_skactiveml_strategy(bad)


def test_without_a_diversity_rule_aalu_picks_its_top_utilities(images,
                                                                image_clf):
    X, y, _ = images
    qs = _qs("AdversarialUncertaintySampler", diversity=None,
             cold_start=None)
    idx, util = qs.query(X, y, image_clf, batch_size=4, return_utilities=True)
    assert _picks_by_score(qs)
    for i, row in enumerate(util):
        assert row[idx[i]] == np.nanmax(row), i


@pytest.mark.parametrize("name", adapter.STRATEGY_NAMES)
def test_query_batch_with_utilities(name, images, image_clf):
    X, y, _ = images
    qs = _qs(name)
    idx, util = qs.query(X, y, image_clf, batch_size=4,
                         return_utilities=True)
    assert idx.shape == (4,) and len(set(idx.tolist())) == 4
    assert np.all(np.isnan(y[idx]))                  # unlabeled picks only
    assert util.shape == (4, len(X))
    # Row i: NaN for the labeled samples and the i earlier picks.
    assert [int(np.isnan(row).sum()) for row in util] == [30, 31, 32, 33]
    assert np.all(np.isnan(util[:, :30]))
    if _picks_by_score(qs):
        for i, row in enumerate(util):
            assert row[idx[i]] == np.nanmax(row), (name, i)
    if name == "CoreSetSampler":     # greedy: its first pick is the farthest
        assert util[0, idx[0]] == np.nanmax(util[0])
    # The given classifier is left unfitted (a clone was fit).
    assert not getattr(image_clf, "initialized_", False)


# -- known answers from scikit-activeml's own strategies ---------------------------------
def _features(images):
    X, y, _ = images
    return X.reshape(len(X), -1).astype(np.float64), y


def test_entropy_matches_scikit_activeml_uncertainty_sampling(images):
    X, y = _features(images)
    clf = SklearnClassifier(LogisticRegression(max_iter=500),
                            classes=np.arange(10))
    ours = _qs("EntropySampler").query(X, y, clf, batch_size=3,
                                       return_utilities=True)
    theirs = UncertaintySampling(method="entropy", random_state=0).query(
        X, y, clf, batch_size=3, return_utilities=True)
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)


def test_core_set_first_pick_matches_scikit_activeml_core_set(images):
    X, y = _features(images)
    clf = SklearnClassifier(GaussianNB(), classes=np.arange(10))
    ours = _qs("CoreSetSampler", device="cpu").query(
        X, y, clf, batch_size=3, return_utilities=True)
    theirs = CoreSet(random_state=0).query(X, y, batch_size=3,
                                           return_utilities=True)
    # Same k-center greedy in the same space (no embeddings: the input).
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1][0], theirs[1][0], rtol=1e-5)


def test_skorch_embeddings_are_the_features(images):
    X, y, _ = images
    clf = _skorch_clf().fit(X, y)
    qs = _qs("CoreSetSampler", device="cpu",
             clf_embedding_flag_name={"extra_outputs": "emb"})
    idx, util = qs.query(X, y, clf, fit_clf=False, batch_size=1,
                         return_utilities=True)
    emb = clf.predict_proba(X, extra_outputs="emb")[1]
    d = np.linalg.norm(emb[30:, None] - emb[None, :30], axis=2).min(axis=1)
    np.testing.assert_allclose(util[0, 30:], d, rtol=1e-4)
    assert idx[0] == 30 + np.argmax(d)


def test_low_budget_strategies_embed_with_the_clf_representation(images):
    """TypiClust and ProbCover read no fitted model but use clf's view."""
    X, y, _ = images

    from aalu_sk.representation import PixelPCA

    view = PixelPCA(n_components=5, random_state=0).fit(X)
    qs = adapter.ProbCoverSampler(delta=0.5, random_state=0)
    idx = qs.query(X, y, ImageClassifier("small_cnn", num_classes=10,
                                         representation=view),
                   batch_size=3)
    assert qs.strategy_.representation_ is view
    assert np.all(np.isnan(y[idx]))
    qs.query(X, y, batch_size=3)
    assert type(qs.strategy_.representation_).__name__ == "PixelPCA"


def test_vaal_utilities_are_its_negated_scores(images):
    X, y, _ = images
    qs = _qs("VAALSampler")
    idx, util = qs.query(X, y, batch_size=2, return_utilities=True)
    scores = qs.strategy_.scores_          # "probability labeled"
    assert qs.strategy_.lower_scores_first and np.all((scores > 0) &
                                                      (scores < 1))
    np.testing.assert_allclose(util[0, 30:], -scores)
    assert idx[0] == 30 + np.argmin(scores)


# -- one test per query parameter ------------------------------------------------------
def test_query_param_X(images, image_clf):
    X, y, _ = images
    qs = _qs("EntropySampler")
    for bad, error in [("string", (ValueError, TypeError)),
                       (Dummy, (ValueError, TypeError)),
                       (np.vstack([X, X]), ValueError)]:
        with pytest.raises(error):
            qs.query(bad, y, image_clf)


def test_query_param_y(images, image_clf):
    X, y, _ = images
    qs = _qs("EntropySampler")
    for bad, error in [(np.nan, TypeError), (Dummy, TypeError),
                       (np.vstack([y, y]), ValueError)]:
        with pytest.raises(error):
            qs.query(X, bad, image_clf)
    words = np.full(len(y), None, dtype=object)
    words[:2] = ["A", "B"]
    with pytest.raises(ValueError, match="integer labels"):
        _qs("EntropySampler", missing_label=None).query(X, words, image_clf)


def test_query_param_y_with_another_missing_label(images, image_clf):
    X, y, y_true = images
    y_int = np.where(np.isnan(y), -1, y).astype(int)
    idx = _qs("EntropySampler", missing_label=-1).query(X, y_int, image_clf,
                                                        batch_size=5)
    assert np.all(y_int[idx] == -1)


def test_query_param_clf(images, image_clf):
    X, y, _ = images
    qs = _qs("AdversarialUncertaintySampler")
    for bad in [np.nan, "state", Dummy(), GaussianNB()]:
        with pytest.raises(TypeError, match="clf"):
            qs.query(X, y, bad)
    with pytest.raises(TypeError, match="reads the task model"):
        qs.query(X, y)
    # Strategies that read no model take none.
    assert _qs("RandomSampler").query(X, y, batch_size=2).shape == (2,)
    other = SklearnClassifier(GaussianNB(), missing_label=-1)
    with pytest.raises(ValueError):
        _qs("EntropySampler").query(X.reshape(len(X), -1), y, other)


def test_query_param_fit_clf(images, image_clf):
    X, y, _ = images
    qs = _qs("EntropySampler")
    with pytest.raises(TypeError, match="fit_clf"):
        qs.query(X, y, image_clf, fit_clf="yes")
    labeled = ~np.isnan(y)
    fitted = clone(image_clf).fit(X[labeled], y[labeled].astype(int))
    a = qs.query(X, y, fitted, fit_clf=False, return_utilities=True)
    b = qs.query(X, y, image_clf, fit_clf=True, return_utilities=True)
    # fit_clf=True fits the same (seeded) model as fitting it by hand.
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5)
    with pytest.raises(ValueError, match="needs labeled samples"):
        qs.query(X, np.full(len(y), np.nan), image_clf)


def test_query_param_candidates(images, image_clf):
    X, y, _ = images
    qs = _qs("AdversarialUncertaintySampler")
    unlabeled = np.flatnonzero(np.isnan(y))
    idx1, u1 = qs.query(X, y, image_clf, return_utilities=True)
    idx2, u2 = qs.query(X, y, image_clf, candidates=unlabeled,
                        return_utilities=True)
    np.testing.assert_array_equal(idx1, idx2)
    np.testing.assert_allclose(u1, u2)
    one = unlabeled[:1]
    idx3, u3 = qs.query(X, y, image_clf, candidates=one,
                        return_utilities=True)
    assert idx3.tolist() == one.tolist()
    assert np.flatnonzero(~np.isnan(u3[0])).tolist() == one.tolist()
    # Samples instead of indices: utilities per candidate sample.
    idx4, u4 = qs.query(X, y, image_clf, candidates=X[unlabeled],
                        return_utilities=True)
    assert u4.shape == (1, len(unlabeled))
    assert unlabeled[idx4[0]] == idx1[0]
    for bad, error in [(np.nan, ValueError), (Dummy, TypeError)]:
        with pytest.raises(error):
            qs.query(X, y, image_clf, candidates=bad)


def test_query_param_batch_size(images, image_clf):
    X, y, _ = images
    qs = _qs("EntropySampler")
    for bad, error in [(0, ValueError), (1.2, TypeError)]:
        with pytest.raises(error):
            qs.query(X, y, image_clf, batch_size=bad)
    with pytest.warns(UserWarning, match="batch_size"):
        idx, util = qs.query(X, y, image_clf, batch_size=200,
                             return_utilities=True)
    assert sorted(idx.tolist()) == list(range(30, 120))
    assert util.shape == (90, 120)
    assert np.isnan(util[-1]).sum() == 30 + 89


def test_query_param_return_utilities(images, image_clf):
    X, y, _ = images
    qs = _qs("EntropySampler")
    for bad in ["string", Dummy]:
        with pytest.raises(TypeError):
            qs.query(X, y, image_clf, return_utilities=bad)
    assert qs.query(X, y, image_clf, return_utilities=False).shape == (1,)


def test_init_param_clf_embedding_flag_name(images):
    X, y, _ = images
    clf = _skorch_clf()
    with pytest.raises(TypeError, match="clf_embedding_flag_name"):
        _qs("EntropySampler", clf_embedding_flag_name=3).query(
            X, y, clf, batch_size=1)
    with pytest.raises(TypeError, match=r"\(proba, embeddings\)"):
        _qs("CoreSetSampler", clf_embedding_flag_name={}).query(
            X, y, clf, batch_size=1)
    idx = _qs("AdversarialUncertaintySampler",
              clf_embedding_flag_name={"extra_outputs": "emb"}).query(
        X, y, clf, batch_size=3)
    assert np.all(np.isnan(y[idx]))


def test_init_param_missing_label(images, image_clf):
    X, y, _ = images
    with pytest.raises(TypeError):
        _qs("EntropySampler", missing_label=Dummy).query(X, y, image_clf)


def test_init_param_random_state(images, image_clf):
    X, y, _ = images
    for bad in [np.nan, "state"]:
        with pytest.raises(ValueError):
            _qs("RandomSampler", random_state=bad).query(X, y)
    # scikit-activeml's convention: a RandomState gives the same query
    # each time (it is copied, not consumed).
    qs = _qs("AdversarialUncertaintySampler",
             random_state=np.random.RandomState(0))
    a = qs.query(X, y, image_clf, batch_size=3, return_utilities=True)
    b = qs.query(X, y, image_clf, batch_size=3, return_utilities=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1])
    c = _qs("RandomSampler", random_state=1).query(X, y, batch_size=5)
    d = _qs("RandomSampler", random_state=2).query(X, y, batch_size=5)
    assert c.tolist() != d.tolist()


@pytest.mark.parametrize("name", adapter.STRATEGY_NAMES)
def test_every_init_and_query_parameter_has_a_test(name):
    """scikit-activeml's meta-test, for the parameters the adapter adds.

    The strategies' own parameters have theirs in tests/test_api.py.
    """
    cls = getattr(adapter, name)
    tested = {n for n in globals() if n.startswith("test_")}
    for p in list(inspect.signature(cls.query).parameters)[1:]:
        assert f"test_query_param_{p}" in tested, p
    for p in ("clf_embedding_flag_name", "missing_label", "random_state"):
        assert f"test_init_param_{p}" in tested, p


# -- the loop a scikit-activeml user writes ------------------------------------------------
@pytest.mark.parametrize("make_clf", [_skorch_clf, lambda: ImageClassifier(
    "small_cnn", num_classes=10, max_epochs=2, batch_size=32,
    random_state=0)], ids=["SkorchClassifier", "ImageClassifier"])
def test_active_learning_cycles(images, make_clf):
    X, _, y_true = images
    y = np.full(len(X), MISSING_LABEL)
    y[:20] = y_true[:20]
    clf = make_clf()
    qs = adapter.AdversarialUncertaintySampler(epochs=1, hidden_dim=32,
                                               cold_start=None,
                                               random_state=0)
    for _ in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            idx = qs.query(X, y, clf, batch_size=10)
        assert np.all(np.isnan(y[idx])) and len(set(idx.tolist())) == 10
        y[idx] = y_true[idx]
    assert int((~np.isnan(y)).sum()) == 50
