"""The selector's cost: the convergence rule, warm starts, fast k-means."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from aalu_sk import AdversarialUncertaintySampler
from aalu_sk.strategies._batching import LossPlateau
from aalu_sk.strategies.selection import _kmeans, diverse_top_k


def far_cluster(seed=0, dim=8):
    """Labeled and pool features; pool rows 0-4 lie far from every label."""
    rng = np.random.RandomState(seed)
    f_l, f_u = rng.randn(40, dim), rng.randn(60, dim)
    f_u[:5] += 6
    return f_l, None, None, f_u, None


def sampler(**params):
    return AdversarialUncertaintySampler(**{
        "use_prediction": False, "ranking_weight": 0, "batch_size": 16,
        "hidden_dim": 64, "random_state": 0, "epochs": 10**4, **params})


# -- the rule ----------------------------------------------------------------
@pytest.mark.parametrize("tol, n_iter_no_change, expected", [
    (0.0, 1, 50), (0.0, 3, 100), (0.1, 2, 75)])
def test_a_flat_loss_stops_after_n_iter_no_change_windows(
        tol, n_iter_no_change, expected):
    monitor = LossPlateau(tol, n_iter_no_change, window=25)
    steps = next(i + 1 for i in range(1000)
                 if monitor.update(torch.tensor(1.0)))
    assert steps == expected
    assert monitor.curve == [1.0] * (expected // 25)


def test_a_loss_that_keeps_improving_never_stops():
    monitor = LossPlateau(0.05, 2, window=10)
    # 10% lower every window: always more than the 5% asked for
    assert not any(monitor.update(torch.tensor(0.9 ** (i // 10)))
                   for i in range(500))
    # a relative tolerance: the scale of the loss does not matter
    scaled = LossPlateau(0.05, 2, window=10)
    assert not any(scaled.update(torch.tensor(1e-3 * 0.9 ** (i // 10)))
                   for i in range(500))


def test_the_rule_waits_for_min_steps():
    monitor = LossPlateau(0.0, 1, window=25, min_steps=200)
    steps = next(i + 1 for i in range(1000)
                 if monitor.update(torch.tensor(1.0)))
    assert steps == 200


def test_tol_stops_before_the_cap_on_an_easy_problem():
    s = sampler(tol=0.05)
    scores = s.fit_scores(*far_cluster())
    assert s.converged_ and s.n_steps_ < 1000  # the default cap
    assert s.n_steps_ == sum(h["steps"] for h in s.history_) == \
        len(s.loss_curve_) * 25
    assert s.timings_["steps"] == s.n_steps_
    assert sorted(np.argsort(-scores)[:5].tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("cap", [1, 30, 80])
def test_the_cap_is_never_exceeded(cap):
    s = sampler(max_steps=cap, tol=0.0)
    s.fit_scores(*far_cluster())
    assert s.n_steps_ == cap and not s.converged_


def test_paper_preset_trains_its_full_epochs():
    # 60 pool rows, batch 16: 4 steps per epoch; no cap, no rule.
    s = sampler(preset="paper", epochs=30)
    s.fit_scores(*far_cluster())
    assert s.n_steps_ == 120 and not s.converged_ and s.loss_curve_ == []
    assert len(s.history_) == 30


def test_convergence_is_deterministic_for_a_seed():
    a, b, c = (sampler(tol=0.05), sampler(tol=0.05),
               sampler(tol=0.05, random_state=1))
    sa, sb = a.fit_scores(*far_cluster()), b.fit_scores(*far_cluster())
    c.fit_scores(*far_cluster())
    np.testing.assert_array_equal(sa, sb)
    assert a.n_steps_ == b.n_steps_ and a.loss_curve_ == b.loss_curve_
    assert a.loss_curve_ != c.loss_curve_


# -- warm starts -------------------------------------------------------------
def test_warm_start_continues_from_the_last_query():
    s = sampler(warm_start=True)
    s.fit_scores(*far_cluster())
    first = {k: v.clone() for k, v in s.vae_.state_dict().items()}
    assert not s.warm_started_
    s.set_params(lr=1e-12, max_steps=1).fit_scores(*far_cluster(seed=1))
    assert s.warm_started_
    assert all(torch.allclose(v, s.vae_.state_dict()[k], atol=1e-6)
               for k, v in first.items())


def test_warm_start_falls_back_to_cold_on_a_new_feature_space():
    s = sampler(warm_start=True, max_steps=5)
    s.fit_scores(*far_cluster(dim=8))
    s.fit_scores(*far_cluster(dim=12))  # no error
    assert not s.warm_started_ and s.vae_.encoder[0].in_features == 12
    s.fit_scores(*far_cluster(dim=12))
    assert s.warm_started_


def test_a_warm_strategy_resumes_from_a_pickle_and_clones_cold():
    s = sampler(warm_start=True, max_steps=30)
    s.fit_scores(*far_cluster())
    resumed = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(s.fit_scores(*far_cluster(seed=1)),
                                  resumed.fit_scores(*far_cluster(seed=1)))
    assert resumed.warm_started_
    fresh = clone(s)
    cold = sampler(max_steps=30)
    np.testing.assert_array_equal(fresh.fit_scores(*far_cluster(seed=1)),
                                  cold.fit_scores(*far_cluster(seed=1)))
    assert not fresh.warm_started_


# -- k-means ------------------------------------------------------------------
def separated(n_clusters, per_cluster=4, dim=16, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(n_clusters, dim) * 50
    truth = np.repeat(np.arange(n_clusters), per_cluster)
    return centers[truth] + rng.randn(truth.size, dim), truth


@pytest.mark.parametrize("method", ["exact", "faiss"])
def test_kmeans_finds_well_separated_clusters(method):
    pytest.importorskip("faiss") if method == "faiss" else None
    X, truth = separated(40)
    labels = _kmeans(X, 40, np.random.RandomState(0), method)
    assert adjusted_rand_score(truth, labels) > 0.95
    # seeded: the same generator state, the same labels
    np.testing.assert_array_equal(
        labels, _kmeans(X, 40, np.random.RandomState(0), method))


@pytest.mark.parametrize("method", ["exact", "faiss"])
def test_fast_and_exact_batches_cover_the_same_clusters(method, monkeypatch):
    pytest.importorskip("faiss") if method == "faiss" else None
    import aalu_sk.strategies.selection as selection

    X, truth = separated(40, per_cluster=4)
    # cluster c's members score 1 - c/100 (+ noise): the top 160 are all
    scores = 1 - truth / 100 + np.random.RandomState(1).rand(truth.size) / 1e3
    monkeypatch.setattr(selection, "_kmeans",
                        lambda X, k, rng, **kw: _kmeans(X, k, rng, method,
                                                        **kw))
    picked = diverse_top_k(scores, X, 40, random_state=0)
    covered = np.unique(truth[picked]).size
    assert covered >= 38  # one per cluster, give or take a split pair
