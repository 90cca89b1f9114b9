"""Bad input gets a clear error naming the problem, and changes nothing.

Each case either works as documented or raises ValueError/TypeError whose
message names the parameter; after a failed call the learner, the sampler
and the estimator are as they were.
"""

import copy

import numpy as np
import pytest
import torch
from modAL.models import ActiveLearner
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from aalu_sk import (AdversarialUncertaintySampler, CoreSetSampler,
                     EntropySampler, ImageClassifier, RandomSampler,
                     VAALSampler)


def snapshot(learner):
    sampler, net = learner.query_strategy, learner.estimator
    state = {k: copy.deepcopy(v) for k, v in vars(sampler).items()
             if k != "_last_call"}
    weights = {k: v.clone() for k, v in net.module_.state_dict().items()}
    return state, weights, learner.X_training.copy(), learner.y_training.copy()


def assert_unchanged(learner, before):
    state, weights, X, y = before
    after = {k: v for k, v in vars(learner.query_strategy).items()
             if k != "_last_call"}
    assert after.keys() == state.keys()
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value)
    for k, v in learner.estimator.module_.state_dict().items():
        assert torch.equal(v, weights[k])
    np.testing.assert_array_equal(learner.X_training, X)
    np.testing.assert_array_equal(learner.y_training, y)


@pytest.fixture
def learner(split, fitted_net):
    X_l, y_l = split[0], split[1]
    sampler = AdversarialUncertaintySampler(epochs=1, cold_start=None, random_state=0)
    learner = ActiveLearner(estimator=fitted_net, query_strategy=sampler,
                            X_training=X_l, y_training=y_l)
    # a first good query, so there are fitted attributes to protect
    learner.query(split[2], n_instances=2)
    return learner


def pool_with(split, value):
    X = split[2].copy()
    X[3, 0, 2, 2] = value
    return X


BAD_POOLS = {
    "nan": (lambda s: pool_with(s, np.nan), ValueError,
            r"X_pool.*NaN.*in sample 3\)"),
    "inf": (lambda s: pool_with(s, np.inf), ValueError,
            r"X_pool.*infinite.*in sample 3\)"),
    "empty": (lambda s: s[2][:0], ValueError, "X_pool is empty"),
    "flat vectors": (lambda s: s[2].reshape(len(s[2]), -1), ValueError,
                     "shape"),
    "other image size": (lambda s: np.zeros((5, 1, 6, 6), np.float32),
                         ValueError, "shape"),
    "object dtype": (lambda s: s[2].astype(object), TypeError,
                     "X_pool must hold real numbers"),
    "complex dtype": (lambda s: s[2].astype(complex), TypeError,
                      "X_pool must hold real numbers"),
    "strings": (lambda s: np.array([["a", "b"]] * 4), TypeError,
                "X_pool must hold real numbers"),
}


@pytest.mark.parametrize("case", list(BAD_POOLS))
def test_bad_pool(case, learner, split):
    make, exc, match = BAD_POOLS[case]
    before = snapshot(learner)
    with pytest.raises(exc, match=match):
        learner.query(make(split), n_instances=1)
    assert_unchanged(learner, before)


@pytest.mark.parametrize("n, exc, match", [
    (0, ValueError, "n_instances must be at least 1; got 0"),
    (-3, ValueError, "n_instances must be at least 1; got -3"),
    (2.5, TypeError, "n_instances must be a positive integer; got 2.5"),
    ("3", TypeError, "n_instances must be a positive integer"),
    (True, TypeError, "n_instances must be a positive integer"),
    (10**6, ValueError, "larger than the pool"),
])
def test_bad_n_instances(n, exc, match, learner, split):
    before = snapshot(learner)
    with pytest.raises(exc, match=match):
        learner.query(split[2], n_instances=n)
    assert_unchanged(learner, before)


def test_numpy_integer_n_instances_works(learner, split):
    idx, _ = learner.query(split[2], n_instances=np.int64(3))
    assert len(idx) == 3


def test_nan_in_labeled_images(split, fitted_net):
    X_l = split[0].copy()
    X_l[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="X_labeled contains NaN"):
        AdversarialUncertaintySampler(epochs=1, cold_start=None).query(
            X_l, split[1], split[2], fitted_net, 1)


def test_nan_in_task_features():
    class NanFeatures(LogisticRegression):
        def transform(self, X):
            out = np.asarray(X, dtype=float).copy()
            out[0, 0] = np.nan
            return out

    X = np.random.RandomState(0).rand(20, 3)
    clf = NanFeatures().fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="features_labeled contains NaN"):
        AdversarialUncertaintySampler(epochs=1, cold_start=None).query(
            X, np.arange(20) % 2, X, clf, 1)


def test_empty_labeled_set_is_refused_by_aalu_and_vaal(split, fitted_net):
    X_u = split[2]
    for sampler in (AdversarialUncertaintySampler(epochs=1, cold_start=None),
                    VAALSampler(epochs=1)):
        with pytest.raises(ValueError, match="X_labeled is empty"):
            sampler.query(X_u[:0], np.zeros(0, int), X_u, fitted_net, 1)


def test_empty_labeled_set_works_where_it_means_something(split, fitted_net):
    X_u = split[2]
    for sampler in (RandomSampler(random_state=0),
                    EntropySampler(random_state=0),
                    CoreSetSampler(random_state=0)):
        idx = sampler.query(X_u[:0], np.zeros(0, int), X_u, fitted_net, 4)
        assert len(set(idx.tolist())) == 4


def test_learner_without_initial_data_is_a_clear_error(split, fitted_net):
    learner = ActiveLearner(
        estimator=ImageClassifier("small_cnn", num_classes=10),
        query_strategy=AdversarialUncertaintySampler(epochs=1, cold_start=None))
    with pytest.raises(ValueError, match="X_labeled is empty"):
        learner.query(split[2], n_instances=1)


def test_single_class_labeled_set_works(split):
    X_l, y_l, X_u = split[0][:20], np.zeros(20, int), split[2]
    net = ImageClassifier("small_cnn", num_classes=10, max_epochs=1,
                          random_state=0).fit(X_l, y_l)
    idx = AdversarialUncertaintySampler(epochs=1, cold_start=None, random_state=0).query(
        X_l, y_l, X_u, net, 3)
    assert len(set(idx.tolist())) == 3


@pytest.mark.parametrize("y, exc, match", [
    (np.array(["a", "b"] * 30), TypeError, "integer class labels"),
    (np.arange(60) - 1, ValueError, "negative labels"),
    (np.full(60, 10), ValueError, "num_classes=10"),
    (np.zeros(59, int), ValueError, "59 labels for 60 samples"),
])
def test_bad_labels_for_image_classifier(split, fitted_net, y, exc, match):
    with pytest.raises(exc, match=match):
        AdversarialUncertaintySampler(epochs=1, cold_start=None).query(
            split[0], y, split[2], fitted_net, 1)
    with pytest.raises(exc, match=match):
        ImageClassifier("small_cnn", num_classes=10).fit(split[0], y)


def test_string_labels_work_with_a_sklearn_classifier():
    rng = np.random.RandomState(0)
    X = rng.rand(30, 4)
    y = np.array(["cat", "dog", "eel"])[np.arange(30) % 3]
    clf = LogisticRegression().fit(X, y)
    idx = AdversarialUncertaintySampler(epochs=1, cold_start=None, random_state=0).query(
        X, y, rng.rand(20, 4), clf, 2)
    assert len(idx) == 2


def test_pool_and_labeled_shapes_must_match(split, fitted_net):
    with pytest.raises(ValueError, match="X_pool samples have shape"):
        AdversarialUncertaintySampler(epochs=1, cold_start=None).query(
            split[0], split[1], np.zeros((4, 3, 8, 8), np.float32),
            fitted_net, 1)


def test_wrong_rank_images_for_the_classifier():
    with pytest.raises(ValueError, match="must be images"):
        ImageClassifier("small_cnn").fit(np.zeros((4, 64), np.float32),
                                         [0, 1, 0, 1])
    with pytest.raises(ValueError, match="must be images"):
        ImageClassifier("small_cnn").fit(np.zeros((2, 1, 1, 8, 8)), [0, 1])


@pytest.mark.parametrize("convert", [
    lambda a: a.tolist(),
    lambda a: torch.as_tensor(a),
], ids=["list", "torch"])
def test_lists_and_tensors_work_like_arrays(convert, split, fitted_net):
    X_l, y_l, X_u = split[:3]
    ref = AdversarialUncertaintySampler(epochs=1, cold_start=None, random_state=0).query(
        X_l, y_l, X_u, fitted_net, 5)
    got = AdversarialUncertaintySampler(epochs=1, cold_start=None, random_state=0).query(
        convert(X_l), convert(y_l), convert(X_u), fitted_net, 5)
    np.testing.assert_array_equal(ref, got)


def test_pandas_works_with_a_sklearn_classifier():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X, X_u = rng.rand(30, 4), rng.rand(20, 4)
    y = np.arange(30) % 2
    clf = LogisticRegression().fit(X, y)
    ref = EntropySampler(random_state=0).query(X, y, X_u, clf, 3)
    got = EntropySampler(random_state=0).query(
        pd.DataFrame(X), pd.Series(y), pd.DataFrame(X_u), clf, 3)
    np.testing.assert_array_equal(ref, got)


@pytest.mark.parametrize("sampler", [
    AdversarialUncertaintySampler(epochs=1, cold_start=None), EntropySampler(),
    CoreSetSampler()], ids=lambda s: type(s).__name__)
def test_unfitted_estimator(sampler, split):
    net = ImageClassifier("small_cnn", num_classes=10)
    with pytest.raises(NotFittedError, match="not fitted"):
        sampler.query(split[0], split[1], split[2], net, 1)
    with pytest.raises(NotFittedError, match="not fitted"):
        sampler.query(split[0].reshape(60, -1), split[1],
                      split[2].reshape(240, -1), LogisticRegression(), 1)


def test_missing_estimator(split):
    with pytest.raises(ValueError, match="estimator"):
        EntropySampler().query(split[0], split[1], split[2], None, 1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has CUDA")
@pytest.mark.parametrize("make", [
    lambda: AdversarialUncertaintySampler(epochs=1, cold_start=None, device="cuda"),
    lambda: VAALSampler(epochs=1, device="cuda"),
    lambda: CoreSetSampler(device="cuda")])
def test_cuda_requested_without_cuda(make, split, fitted_net):
    with pytest.raises(ValueError, match="CUDA"):
        make().query(split[0], split[1], split[2], fitted_net, 1)
