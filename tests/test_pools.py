"""The pool protocol (aalu_sk/pools.py): LocalPool and strategies on it."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from aalu_sk import EntropySampler
from aalu_sk.pools import COLUMNS, LocalPool, compute_columns, top_batch
from aalu_sk.strategies import make_strategy
from aalu_sk.strategies.base import BaseQueryStrategy
from aalu_sk.strategies.selection import (diverse_top_k, k_center_greedy,
                                          kmeans_pp_gradient_embeddings,
                                          tie_break_keys, top_k)


@pytest.fixture(scope="module")
def flat_digits():
    data = load_digits()
    X = (data.images / 16.0).reshape(len(data.images), -1)
    idx = np.random.RandomState(0).permutation(len(X))
    X_l, y_l, X_p = X[idx[:60]], data.target[idx[:60]], X[idx[60:300]]
    return X_l, y_l, X_p, LogisticRegression(max_iter=300).fit(X_l, y_l)


def _arrays(seed=0, n=60):
    rng = np.random.RandomState(seed)
    return {"features": rng.rand(n, 5).astype(np.float32),
            "proba": rng.dirichlet(np.ones(4), n).astype(np.float32)}


def first_proba(columns):
    """A scorer with many ties: the first probability, rounded."""
    return np.round(columns["proba"][:, 0], 1)


# -- LocalPool ---------------------------------------------------------------
def test_gather_returns_the_rows_in_order_and_all_rows_uncopied():
    cols = _arrays()
    pool = LocalPool(cols)
    assert pool.n_pool == 60 and pool.columns == ("features", "proba")
    rows = pool.gather([7, 0, 59], ["proba"])
    np.testing.assert_array_equal(rows["proba"], cols["proba"][[7, 0, 59]])
    assert pool.gather(None, ["features"])["features"] is cols["features"]


@pytest.mark.parametrize("n", [1, 9, 60])
def test_top_with_ties_is_top_k(n):
    cols = _arrays(1)
    scores = first_proba(cols)
    assert len(np.unique(scores)) < 10  # many ties
    pool = LocalPool(cols)
    positions, rows = pool.top(first_proba, tie_break_keys(60, 4), n,
                               columns=["features"])
    np.testing.assert_array_equal(positions,
                                  top_k(scores, n, np.random.RandomState(4)))
    np.testing.assert_array_equal(rows["features"],
                                  cols["features"][positions])
    np.testing.assert_array_equal(pool.scores(first_proba), scores)


def test_top_returns_a_scorers_extra_columns_and_scores_once():
    calls = []

    def scorer(columns):
        calls.append(1)
        return -columns["features"][:, 0], {"double": 2 * columns["proba"]}

    cols = _arrays(2)
    pool = LocalPool(cols)
    positions, rows = pool.top(scorer, tie_break_keys(60, 0), 3, ["double"])
    np.testing.assert_array_equal(positions,
                                  np.argsort(cols["features"][:, 0])[:3])
    np.testing.assert_array_equal(rows["double"],
                                  2 * cols["proba"][positions])
    pool.scores(scorer)
    assert len(calls) == 1


def test_top_refuses_nan_scores():
    pool = LocalPool(_arrays())
    with pytest.raises(ValueError, match="NaN"):
        pool.top(lambda c: np.full(60, np.nan), np.arange(60), 1)


@pytest.mark.parametrize("n_labeled", [0, 4])
def test_k_center_greedy_step_is_the_pure_function(n_labeled):
    cols = _arrays(3)
    labeled = np.random.RandomState(9).rand(n_labeled, 5).astype(np.float32)
    picked, initial = LocalPool(cols).k_center_greedy(
        labeled if n_labeled else None, 8, np.random.RandomState(5),
        batch_size=7)
    expected, dist = k_center_greedy(cols["features"], labeled, 8,
                                     random_state=5, batch_size=7)
    np.testing.assert_array_equal(picked, expected)
    np.testing.assert_allclose(initial, dist)


def test_kmeans_pp_step_is_the_pure_function():
    cols = _arrays(4)
    expected, norms = kmeans_pp_gradient_embeddings(
        cols["proba"], cols["features"], 10, random_state=6)
    rng = np.random.RandomState(6)
    first = top_k(norms, 1, rng)[0]
    picked, _ = LocalPool(cols).kmeans_pp(first, 10, rng)
    np.testing.assert_array_equal(picked, expected)


def test_top_batch_with_diversity_is_diverse_top_k():
    cols = _arrays(5, n=120)
    scores = first_proba(cols)
    picked, got = top_batch(LocalPool(cols), first_proba, 6,
                            np.random.RandomState(2), "kmeans")
    np.testing.assert_array_equal(picked, diverse_top_k(
        scores, cols["features"], 6, random_state=2))
    np.testing.assert_array_equal(got, scores)


def test_columns_come_from_one_task_model_pass(flat_digits):
    X_l, y_l, X_p, clf = flat_digits

    class Counting(LogisticRegression):
        passes = 0

        def predict_proba(self, X):
            Counting.passes += 1
            return super().predict_proba(X)

    counted = Counting(max_iter=300).fit(X_l, y_l)
    out = compute_columns(counted, X_p, ("features", "proba"))
    assert Counting.passes == 1
    np.testing.assert_allclose(out["proba"], clf.predict_proba(X_p),
                               rtol=1e-6)
    assert sorted(compute_columns(counted, X_p, ("proba",))) == ["proba"]
    assert compute_columns(None, X_p, ()) == {}  # no column: no pass
    with pytest.raises(ValueError, match="columns=.*logits"):
        compute_columns(clf, X_p, ("logits",))
    assert set(COLUMNS) >= {"features", "proba", "image"}


def test_a_memory_mapped_pool_gives_the_same_picks(flat_digits, tmp_path):
    X_l, y_l, X_p, clf = flat_digits
    np.save(tmp_path / "pool.npy", X_p)
    mapped = np.load(tmp_path / "pool.npy", mmap_mode="r")
    for name in ("entropy", "coreset", "badge"):
        expected = make_strategy(name, random_state=0).query(
            X_l, y_l, X_p, clf, 7)
        got = make_strategy(name, random_state=0).query(X_l, y_l, mapped,
                                                        clf, 7)
        np.testing.assert_array_equal(got, expected)


# -- picks are those of the code before the pool protocol --------------------
#: Recorded with the strategies' own ``_select`` before they were ported to
#: the pool protocol (aalu_sk 0.1.0 main, c87932e), on ``flat_digits``.
BEFORE = {
    "entropy": [25, 49, 96, 192, 17, 62, 184, 162, 163, 160],
    "margin": [32, 9, 47, 184, 43, 210, 160, 217, 192, 220],
    "coreset": [49, 114, 155, 129, 97, 83, 229, 175, 25, 70],
    "badge": [62, 235, 213, 180, 154, 9, 190, 176, 106, 121],
}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_picks_are_unchanged_by_the_pool_protocol(flat_digits, name):
    X_l, y_l, X_p, clf = flat_digits
    picked = make_strategy(name, random_state=1).query(X_l, y_l, X_p, clf,
                                                       10)
    assert picked.tolist() == BEFORE[name]


def test_random_picks_are_unchanged_by_the_pool_protocol():
    picked = make_strategy("random", random_state=0).query(
        None, None, np.zeros((240, 3)), None, 12)
    assert picked.tolist() == [149, 210, 52, 20, 72, 70, 164, 8, 103, 122,
                               225, 109]


# -- a strategy of your own ---------------------------------------------------
class LeastConfidentScorer:
    """1 - max p: module-level, so it pickles to Ray workers."""

    def __call__(self, columns):
        return 1.0 - columns["proba"].max(axis=1)


class LeastConfident(BaseQueryStrategy):
    """A user strategy written against the pool protocol only."""

    needs_labeled = False

    def __init__(self, random_state=None):
        self.random_state = random_state

    def pool_columns(self):
        return ("proba",)

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        return top_batch(pool, LeastConfidentScorer(), n_instances, rng)


def test_a_strategy_of_your_own_runs_on_a_local_pool(flat_digits):
    X_l, y_l, X_p, clf = flat_digits
    picked = LeastConfident(random_state=0).query(X_l, y_l, X_p, clf, 5)
    confidence = clf.predict_proba(X_p).max(axis=1)
    np.testing.assert_array_equal(np.sort(picked),
                                  np.sort(np.argsort(confidence)[:5]))
    # the same strategy on a pool of precomputed columns
    pool = LocalPool({"proba": clf.predict_proba(X_p)})
    strategy = LeastConfident(random_state=0)
    np.testing.assert_array_equal(
        strategy.query_pool(pool, X_l, y_l, clf, 5), picked)
    np.testing.assert_allclose(strategy.scores_, 1 - confidence, rtol=1e-6)


def test_a_pool_without_the_strategys_columns_is_refused(flat_digits):
    X_l, y_l, X_p, clf = flat_digits
    pool = LocalPool({"features": X_p})
    with pytest.raises(ValueError, match=r"reads the pool's \['proba'\], "
                                         r"but this LocalPool holds"):
        EntropySampler().query_pool(pool, X_l, y_l, clf, 1)
    with pytest.raises(ValueError, match="n_instances=300 is larger"):
        EntropySampler().query_pool(pool, X_l, y_l, clf, 300)


def test_a_strategy_without_a_selection_says_what_to_implement():
    class Nothing(BaseQueryStrategy):
        needs_labeled = needs_estimator = False

        def __init__(self, random_state=None):
            self.random_state = random_state

    with pytest.raises(NotImplementedError, match="_select_from_pool"):
        Nothing().query(None, None, np.zeros((4, 2)), None, 1)
