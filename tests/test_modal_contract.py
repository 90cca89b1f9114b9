"""The modAL query protocol, for the installed modAL (0.4.1) and for 0.4.2.

modAL 0.4.2's ``BaseLearner.query`` unpacks ``(indices, scores)`` from the
strategy and, if anything fails, calls the strategy again inside a bare
``except``. ``Learner042`` reproduces those semantics; the tests count
selector trainings per query.
"""

import numpy as np
import pytest
from modAL.models import ActiveLearner
from modAL.utils.data import retrieve_rows

import aalu_sk.strategies.base as base
from aalu_sk import (AdversarialUncertaintySampler, CoreSetSampler,
                     EntropySampler, ImageClassifier, ProbCoverSampler,
                     RandomSampler, TypiClustSampler, VAALSampler)

# Run on every scikit-learn / modAL release of the CI matrix (.ci/matrix.sh),
# the real modAL 0.4.2 included.
pytestmark = pytest.mark.contract


class Learner042:
    """The query semantics of modAL-python 0.4.2.x, on a fitted estimator."""

    def __init__(self, estimator, query_strategy, X_training, y_training):
        self.estimator, self.query_strategy = estimator, query_strategy
        self.X_training, self.y_training = X_training, y_training

    def query(self, X_pool, *query_args, return_metrics=False, **query_kwargs):
        try:
            query_result, query_metrics = self.query_strategy(
                self, X_pool, *query_args, **query_kwargs)
        except:  # noqa: E722  (modAL's own bare except)
            query_metrics = None
            query_result = self.query_strategy(
                self, X_pool, *query_args, **query_kwargs)
        if return_metrics:
            return query_result, retrieve_rows(X_pool, query_result), \
                query_metrics
        return query_result, retrieve_rows(X_pool, query_result)


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


def test_installed_modal_version_is_detected():
    import importlib.metadata

    version = importlib.metadata.version("modAL-python")
    assert base.modal_expects_scores() == (
        tuple(int(p) for p in version.split(".")[:3]) >= (0, 4, 2))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_installed_modal_query(split, fitted_net, count_trainings, n):
    X_l, y_l, X_u = split[:3]
    learner = ActiveLearner(
        estimator=fitted_net,
        query_strategy=AdversarialUncertaintySampler(epochs=1, cold_start=None, random_state=0),
        X_training=X_l, y_training=y_l, bootstrap_init=False)
    idx, X_q = learner.query(X_u, n_instances=n)
    assert np.asarray(idx).shape == (n,) and len(set(np.asarray(idx))) == n
    np.testing.assert_array_equal(X_q, X_u[idx])
    assert len(count_trainings) == 1


@pytest.mark.parametrize("n", [1, 2, 3])
def test_modal_042_semantics_train_once(split, fitted_net, count_trainings,
                                        monkeypatch, n):
    monkeypatch.setattr(base, "modal_expects_scores", lambda: True)
    X_l, y_l, X_u = split[:3]
    sampler = AdversarialUncertaintySampler(epochs=1, cold_start=None, random_state=0)
    learner = Learner042(fitted_net, sampler, X_l, y_l)
    idx, X_q, metrics = learner.query(X_u, n_instances=n, return_metrics=True)
    assert np.asarray(idx).shape == (n,) and len(set(idx.tolist())) == n
    np.testing.assert_array_equal(X_q, X_u[idx])
    np.testing.assert_allclose(metrics, sampler.scores_[idx])
    assert len(count_trainings) == 1


def test_modal_042_retry_after_unpack_failure_does_not_retrain(
        split, fitted_net, count_trainings, monkeypatch):
    """Even if version detection were wrong, a retry reuses the answer."""
    monkeypatch.setattr(base, "modal_expects_scores", lambda: False)
    X_l, y_l, X_u = split[:3]
    sampler = AdversarialUncertaintySampler(epochs=1, cold_start=None, random_state=0)
    idx, _ = Learner042(fitted_net, sampler, X_l, y_l).query(X_u,
                                                             n_instances=5)
    assert len(set(np.asarray(idx).tolist())) == 5
    assert len(count_trainings) == 1


def test_modal_042_error_is_raised_once_and_not_retrained(
        split, fitted_net, monkeypatch):
    monkeypatch.setattr(base, "modal_expects_scores", lambda: True)
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        raise RuntimeError("selector blew up")

    monkeypatch.setattr(AdversarialUncertaintySampler, "_train", failing)
    X_l, y_l, X_u = split[:3]
    learner = Learner042(fitted_net, AdversarialUncertaintySampler(epochs=1, cold_start=None),
                         X_l, y_l)
    with pytest.raises(RuntimeError, match="selector blew up"):
        learner.query(X_u, n_instances=2)
    assert len(calls) == 1


def test_a_later_call_after_an_error_runs_again(split, fitted_net,
                                                count_trainings):
    """The retry guard answers only modAL's immediate retry."""
    X_l, y_l, X_u = split[:3]
    sampler = AdversarialUncertaintySampler(epochs=1, cold_start=None, random_state=0)
    learner = ActiveLearner(estimator=fitted_net, query_strategy=sampler,
                            X_training=X_l, y_training=y_l)
    with pytest.raises(ValueError, match="n_instances"):
        learner.query(X_u, n_instances=10**6)
    idx, _ = learner.query(X_u, n_instances=2)
    assert len(idx) == 2 and len(count_trainings) == 1


def test_installed_modal_surfaces_a_selector_error_once(split, fitted_net,
                                                       monkeypatch):
    """With the installed modAL (0.4.2 retries a failing strategy)."""
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        raise RuntimeError("selector blew up")

    monkeypatch.setattr(AdversarialUncertaintySampler, "_train", failing)
    X_l, y_l, X_u = split[:3]
    learner = ActiveLearner(estimator=fitted_net,
                            query_strategy=AdversarialUncertaintySampler(
                                epochs=1, cold_start=None, random_state=0),
                            X_training=X_l, y_training=y_l)
    with pytest.raises(RuntimeError, match="selector blew up"):
        learner.query(X_u, n_instances=2)
    assert len(calls) == 1


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
    added = how != "only_new" or not base.modal_expects_scores()
    assert len(learner.X_training) == (50 if added else 40)
    if added:
        np.testing.assert_array_equal(learner.y_training[40:], y[pool[idx]])
    pool = np.delete(pool, idx)
    idx2, X_q = learner.query(X[pool], n_instances=10)
    assert len(set(np.asarray(idx2).tolist())) == 10
    np.testing.assert_array_equal(X_q, X[pool[idx2]])


def test_committee_is_refused_with_a_clear_message(split, fitted_net):
    from modAL.models import Committee

    X_l, y_l, X_u = split[:3]
    members = [ActiveLearner(estimator=fitted_net, X_training=X_l,
                             y_training=y_l)]
    committee = Committee(learner_list=members,
                          query_strategy=RandomSampler(random_state=0))
    with pytest.raises(TypeError, match="X_training"):
        committee.query(X_u, n_instances=2)


def test_unexpected_query_arguments_are_refused(split, fitted_net):
    X_l, y_l, X_u = split[:3]
    learner = ActiveLearner(estimator=fitted_net,
                            query_strategy=RandomSampler(random_state=0),
                            X_training=X_l, y_training=y_l)
    with pytest.raises(TypeError, match="unexpected query arguments"):
        learner.query(X_u, n_instances=2, temperature=3)


STRATEGIES = {
    "aalu": lambda: AdversarialUncertaintySampler(epochs=1, cold_start=None, random_state=0),
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
