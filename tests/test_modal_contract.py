"""The modAL query protocol, on the modAL that is installed.

The default install resolves modAL-python 0.4.1; the ``modal042`` entry of
.ci/matrix.sh runs these same tests on 0.4.2.1. The two releases query
differently:

- 0.4.1's ``BaseLearner.query`` calls the strategy once and takes its
  answer as the indices; it has no ``return_metrics``.
- 0.4.2 unpacks ``(indices, scores)`` from the strategy, takes
  ``return_metrics=True`` (then returns the scores too) and, when the
  strategy call or the unpacking raises, calls the strategy a second time
  inside a bare ``except``.

Where the expected outcome differs, the test reads ``MODAL_042``, which
comes from the installed distribution's metadata (not from aalu_sk's own
detection, which the first test checks against it). The tests count the
strategy calls modAL makes and the selector trainings they cost.
"""

import importlib.metadata
import inspect

import numpy as np
import pytest
from modAL.models import ActiveLearner
from modAL.models.base import BaseLearner
from packaging.version import Version

import aalu_sk.strategies.base as base
from aalu_sk import (AdversarialUncertaintySampler, CoreSetSampler,
                     EntropySampler, ImageClassifier, ProbCoverSampler,
                     RandomSampler, TypiClustSampler, VAALSampler)

# Run on every scikit-learn / modAL release of the CI matrix (.ci/matrix.sh).
pytestmark = pytest.mark.contract

MODAL_VERSION = importlib.metadata.version("modAL-python")
MODAL_042 = Version(MODAL_VERSION) >= Version("0.4.2")
only_modal_042 = pytest.mark.skipif(
    not MODAL_042, reason=f"modAL-python {MODAL_VERSION} calls a strategy "
                          f"once and unpacks nothing (0.4.2 behaviour)")


def _aalu():
    return AdversarialUncertaintySampler(epochs=1, cold_start=None,
                                         random_state=0)


@pytest.fixture
def count_trainings(monkeypatch):
    """Count calls of AALU's selector training."""
    calls = []
    original = AdversarialUncertaintySampler._train

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AdversarialUncertaintySampler, "_train", counting)
    return calls


@pytest.fixture
def count_strategy_calls(monkeypatch):
    """Count the calls modAL makes of a strategy (the modAL protocol)."""
    calls = []
    original = base.BaseQueryStrategy.__call__

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(base.BaseQueryStrategy, "__call__", counting)
    return calls


def test_installed_modal_version_is_detected():
    # The version says what the installed query does ...
    takes_metrics = "return_metrics" in inspect.signature(
        BaseLearner.query).parameters
    assert takes_metrics == MODAL_042, MODAL_VERSION
    # ... and aalu_sk reads the version the same way.
    assert base.modal_expects_scores() == MODAL_042, MODAL_VERSION


@pytest.mark.parametrize("n", [1, 2, 3])
def test_installed_modal_query(split, fitted_net, count_trainings,
                               count_strategy_calls, n):
    X_l, y_l, X_u = split[:3]
    learner = ActiveLearner(estimator=fitted_net, query_strategy=_aalu(),
                            X_training=X_l, y_training=y_l,
                            bootstrap_init=False)
    idx, X_q = learner.query(X_u, n_instances=n)
    assert np.asarray(idx).shape == (n,) and len(set(np.asarray(idx))) == n
    np.testing.assert_array_equal(X_q, X_u[idx])
    # 0.4.2 unpacks (indices, scores) at the first try: no retry either.
    assert len(count_strategy_calls) == 1
    assert len(count_trainings) == 1


@pytest.mark.parametrize("make", [_aalu, lambda: RandomSampler(random_state=0)],
                         ids=["aalu", "random"])
def test_installed_modal_query_with_return_metrics(split, fitted_net,
                                                   count_strategy_calls,
                                                   make):
    X_l, y_l, X_u = split[:3]
    sampler = make()
    learner = ActiveLearner(estimator=fitted_net, query_strategy=sampler,
                            X_training=X_l, y_training=y_l)
    if MODAL_042:
        idx, X_q, metrics = learner.query(X_u, n_instances=3,
                                          return_metrics=True)
        assert np.asarray(idx).shape == (3,) and len(set(idx.tolist())) == 3
        np.testing.assert_array_equal(X_q, X_u[idx])
        np.testing.assert_allclose(metrics, sampler.scores_[idx])
        assert len(count_strategy_calls) == 1
    else:
        # 0.4.1 hands the keyword to the strategy, which takes only
        # n_instances.
        with pytest.raises(TypeError, match="return_metrics"):
            learner.query(X_u, n_instances=3, return_metrics=True)


@only_modal_042
def test_modal_042_retry_after_unpack_failure_does_not_retrain(
        split, fitted_net, count_trainings, count_strategy_calls,
        monkeypatch):
    """Even if version detection were wrong, modAL's retry reuses the answer.

    With bare indices (five of them), 0.4.2's unpacking fails and it calls
    the strategy again: the second call answers from the first.
    """
    monkeypatch.setattr(base, "modal_expects_scores", lambda: False)
    X_l, y_l, X_u = split[:3]
    learner = ActiveLearner(estimator=fitted_net, query_strategy=_aalu(),
                            X_training=X_l, y_training=y_l)
    idx, X_q = learner.query(X_u, n_instances=5)
    assert len(set(np.asarray(idx).tolist())) == 5
    np.testing.assert_array_equal(X_q, X_u[idx])
    assert len(count_strategy_calls) == 2
    assert len(count_trainings) == 1


def test_installed_modal_surfaces_a_selector_error_once(
        split, fitted_net, count_strategy_calls, monkeypatch):
    """A failing selector trains once; 0.4.2's retry re-raises that error."""
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        raise RuntimeError("selector blew up")

    monkeypatch.setattr(AdversarialUncertaintySampler, "_train", failing)
    X_l, y_l, X_u = split[:3]
    learner = ActiveLearner(estimator=fitted_net, query_strategy=_aalu(),
                            X_training=X_l, y_training=y_l)
    with pytest.raises(RuntimeError, match="selector blew up"):
        learner.query(X_u, n_instances=2)
    assert len(calls) == 1
    assert len(count_strategy_calls) == (2 if MODAL_042 else 1)


def test_a_later_call_after_an_error_runs_again(split, fitted_net,
                                                count_trainings):
    """The retry guard answers only modAL's immediate retry."""
    X_l, y_l, X_u = split[:3]
    learner = ActiveLearner(estimator=fitted_net, query_strategy=_aalu(),
                            X_training=X_l, y_training=y_l)
    with pytest.raises(ValueError, match="n_instances"):
        learner.query(X_u, n_instances=10**6)
    idx, _ = learner.query(X_u, n_instances=2)
    assert len(idx) == 2 and len(count_trainings) == 1


@pytest.mark.parametrize("how", ["only_new", "bootstrap"])
def test_teach_variants_with_our_strategies(digits, how):
    """teach(only_new=True) and teach(bootstrap=True), then query again."""
    X, y = digits
    net = ImageClassifier("small_cnn", num_classes=10, max_epochs=1,
                          random_state=0)
    learner = ActiveLearner(estimator=net,
                            query_strategy=EntropySampler(random_state=0),
                            X_training=X[:40], y_training=y[:40],
                            bootstrap_init=how == "bootstrap")
    pool = np.arange(40, 200)
    idx, _ = learner.query(X[pool], n_instances=10)
    learner.teach(X[pool[idx]], y[pool[idx]], **{how: True})
    # modAL 0.4.1 adds the samples in either case; 0.4.2 fits on them but
    # leaves them out of X_training with only_new=True.
    added = how != "only_new" or not MODAL_042
    assert len(learner.X_training) == (50 if added else 40)
    if added:
        np.testing.assert_array_equal(learner.y_training[40:], y[pool[idx]])
    pool = np.delete(pool, idx)
    idx2, X_q = learner.query(X[pool], n_instances=10)
    assert len(set(np.asarray(idx2).tolist())) == 10
    np.testing.assert_array_equal(X_q, X[pool[idx2]])


def test_committee_is_refused_with_a_clear_message(split, fitted_net,
                                                   count_strategy_calls):
    from modAL.models import Committee

    X_l, y_l, X_u = split[:3]
    members = [ActiveLearner(estimator=fitted_net, X_training=X_l,
                             y_training=y_l)]
    committee = Committee(learner_list=members,
                          query_strategy=RandomSampler(random_state=0))
    with pytest.raises(TypeError, match="X_training"):
        committee.query(X_u, n_instances=2)
    assert len(count_strategy_calls) == (2 if MODAL_042 else 1)


def test_unexpected_query_arguments_are_refused(split, fitted_net,
                                                count_strategy_calls):
    X_l, y_l, X_u = split[:3]
    learner = ActiveLearner(estimator=fitted_net,
                            query_strategy=RandomSampler(random_state=0),
                            X_training=X_l, y_training=y_l)
    with pytest.raises(TypeError, match="unexpected query arguments"):
        learner.query(X_u, n_instances=2, temperature=3)
    assert len(count_strategy_calls) == (2 if MODAL_042 else 1)


STRATEGIES = {
    "aalu": _aalu,
    "random": lambda: RandomSampler(random_state=0),
    "entropy": lambda: EntropySampler(random_state=0),
    "coreset": lambda: CoreSetSampler(random_state=0),
    "vaal": lambda: VAALSampler(epochs=1, channels=(8, 16), random_state=0),
    "typiclust": lambda: TypiClustSampler(random_state=0),
    "probcover": lambda: ProbCoverSampler(random_state=0),
}


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_active_learning_loop_with_every_strategy(digits, name):
    """A few modAL cycles: picks are distinct, in range, never re-labeled."""
    X, y = digits
    rng = np.random.RandomState(0)
    order = rng.permutation(400)
    labeled_ids = list(order[:40])
    pool_ids = np.array(order[40:])
    net = ImageClassifier("small_cnn", num_classes=10, max_epochs=1,
                          random_state=0)
    learner = ActiveLearner(estimator=net, query_strategy=STRATEGIES[name](),
                            X_training=X[labeled_ids], y_training=y[labeled_ids])
    for _ in range(3):
        idx, X_q = learner.query(X[pool_ids], n_instances=10)
        idx = np.asarray(idx)
        assert len(set(idx.tolist())) == 10
        assert idx.min() >= 0 and idx.max() < len(pool_ids)
        picked = pool_ids[idx]
        assert not set(picked.tolist()) & set(labeled_ids)
        np.testing.assert_array_equal(X_q, X[picked])
        learner.teach(X[picked], y[picked])
        labeled_ids += picked.tolist()
        pool_ids = np.delete(pool_ids, idx)
    assert len(learner.X_training) == 70 and len(pool_ids) == 330
