"""scikit-learn conventions: params, clone, pickle, RNG hygiene, determinism.

Every constructor parameter of every public strategy has a test in
``PARAM_TESTS``; ``test_every_parameter_has_a_test`` fails when one is added
without a test (scikit-activeml's habit).
"""

import inspect
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils import estimator_checks

import aalu_sk
from aalu_sk import (AdversarialUncertaintySampler, BADGESampler,
                     CoreSetSampler, EntropySampler, ImageClassifier,
                     MarginSampler, ProbCoverSampler, RandomSampler,
                     TypiClustSampler, VAALSampler)

STRATEGY_CLASSES = [getattr(aalu_sk, n) for n in aalu_sk.__all__
                    if n.endswith("Sampler")]


def tiny_features(seed=0):
    rng = np.random.RandomState(seed)
    f_l, f_u = rng.randn(40, 6), rng.randn(50, 6)
    f_u[:5] += 4
    p = rng.dirichlet(np.ones(3), 90)
    return f_l, p[:40], rng.rand(40), f_u, p[40:]


def aalu_scores(**params):
    params = {"epochs": 3, "random_state": 0, **params}
    sampler = AdversarialUncertaintySampler(**params)
    return sampler, sampler.fit_scores(*tiny_features())


def vaal_query(**params):
    rng = np.random.RandomState(0)
    X_l, X_u = rng.rand(20, 1, 8, 8), rng.rand(30, 1, 8, 8)
    params = {"epochs": 1, "channels": (4, 8), "hidden_dim": 16,
              "random_state": 0, **params}
    sampler = VAALSampler(**params)
    sampler.query(X_l, np.zeros(20, int), X_u, n_instances=3)
    return sampler


def changes(make, name, a, b):
    """Scores differ when ``name`` goes from ``a`` to ``b``."""
    return not np.allclose(make(**{name: a})[1], make(**{name: b})[1])


# -- one test per parameter ------------------------------------------------
def _aalu_latent_dim():
    s, _ = aalu_scores(latent_dim=5)
    assert s.vae_.encoder[-1].out_features == 10  # mu and logvar


def _aalu_hidden_dim():
    s, _ = aalu_scores(hidden_dim=17)
    assert s.vae_.encoder[0].out_features == 17
    assert s.assistant_.net[0].out_features == 17
    # "auto": the preset's width, 256 in the default and 512 in the paper's
    for preset, width in (("default", 256), ("paper", 512)):
        s, _ = aalu_scores(preset=preset)
        assert s.vae_.encoder[0].out_features == width
        assert s.assistant_.net[0].out_features == width
    for bad in (0, -3, 2.5, "wide", True):
        with pytest.raises(ValueError, match="hidden_dim"):
            aalu_scores(hidden_dim=bad)


def _aalu_beta():
    assert changes(aalu_scores, "beta", 0.0, 5.0)


def _aalu_margin():
    assert changes(aalu_scores, "margin", 0.0, 1.0)


def _aalu_ranking_weight():
    assert changes(aalu_scores, "ranking_weight", 0.0, 10.0)


def _aalu_use_prediction():
    with_p, _ = aalu_scores(use_prediction=True)
    without, _ = aalu_scores(use_prediction=False)
    assert with_p.assistant_.net[0].in_features == 32 + 3
    assert without.assistant_.net[0].in_features == 32


def _aalu_sort_prediction():
    # Sorted, p enters the assistant as a multiset: permuting each row's
    # classes changes nothing, in training or in scoring. In class order
    # (the paper's preset) it does.
    f_l, p_l, loss, f_u, p_u = tiny_features()
    rng = np.random.RandomState(1)
    shuffled = [np.array([row[rng.permutation(3)] for row in p])
                for p in (p_l, p_u)]

    def scores(p_lab, p_pool, **params):
        sampler = AdversarialUncertaintySampler(
            **{"epochs": 3, "random_state": 0, **params})
        return sampler, sampler.fit_scores(f_l, p_lab, loss, f_u, p_pool)

    on, s_on = scores(p_l, p_u)
    np.testing.assert_allclose(scores(*shuffled)[1], s_on)
    np.testing.assert_allclose(on.score(f_u, shuffled[1]), s_on)
    off, s_off = scores(p_l, p_u, preset="paper", epochs=3)
    assert not np.allclose(scores(*shuffled, preset="paper")[1], s_off)
    assert (on.sort_prediction_, off.sort_prediction_) == (True, False)
    # an explicit value beats the preset's
    assert not scores(p_l, p_u, sort_prediction=False)[0].sort_prediction_
    with pytest.raises(ValueError, match="sort_prediction"):
        aalu_scores(sort_prediction="yes")


def _aalu_adversarial():
    # Without the adversarial game beta has no effect; with it, it has.
    s0 = aalu_scores(adversarial=False, beta=0.0)[1]
    s1 = aalu_scores(adversarial=False, beta=5.0)[1]
    np.testing.assert_allclose(s0, s1)
    assert changes(aalu_scores, "adversarial", True, False)


def _aalu_epochs():
    assert len(aalu_scores(epochs=4, max_steps=None)[0].history_) == 4


def _aalu_max_steps():
    # 50 pool samples, batch 8: 7 steps per epoch; 10 epochs = 70 steps.
    full = aalu_scores(epochs=10, batch_size=8, max_steps=None)[0]
    assert len(full.history_) == 10
    capped = aalu_scores(epochs=10, batch_size=8, max_steps=16)[0]
    assert len(capped.history_) == 3  # 7 + 7 + 2 steps
    assert aalu_scores(epochs=10, batch_size=8)[0].history_ == \
        aalu_scores(epochs=10, batch_size=8, max_steps=1000)[0].history_
    for bad in (0, 2.5, "many", True):
        with pytest.raises(ValueError, match="max_steps"):
            aalu_scores(max_steps=bad)


def _aalu_preset():
    paper, _ = aalu_scores(preset="paper")
    default, _ = aalu_scores()
    # the presets differ in the step budget and the batch rule ...
    assert aalu_scores(preset="paper", epochs=10, batch_size=8)[0] \
        .history_ != aalu_scores(preset="paper", epochs=10, batch_size=8,
                                 max_steps=16)[0].history_
    assert len(aalu_scores(preset="paper", epochs=40, batch_size=8)[0]
               .history_) == 40  # no cap: 280 steps
    assert len(aalu_scores(epochs=40, batch_size=8, tol=None)[0]
               .history_) == 40
    # ... and an explicit value beats the preset's
    assert len(aalu_scores(preset="paper", epochs=40, batch_size=8,
                           max_steps=16)[0].history_) == 3
    with pytest.raises(ValueError, match="preset"):
        aalu_scores(preset="fast")
    assert paper.preset == "paper" and default.preset == "default"


def aalu_query(**params):
    """An AALU query with a logistic-regression task model on tiny features."""
    from sklearn.linear_model import LogisticRegression

    f_l, _, _, f_u, _ = tiny_features()
    y_l = np.arange(40) % 3
    clf = LogisticRegression().fit(f_l, y_l)
    sampler = AdversarialUncertaintySampler(
        **{"epochs": 3, "random_state": 0, **params})
    return sampler, sampler.query(f_l, y_l, f_u, clf, 8)


def _aalu_cold_start():
    from sklearn.linear_model import LogisticRegression

    from aalu_sk import ProbCoverSampler, TypiClustSampler

    # 40 labels of 3 classes: 13.3 per class, below cold_start_until=20
    f_l, _, _, f_u, _ = tiny_features()
    y_l = np.arange(40) % 3
    clf = LogisticRegression().fit(f_l, y_l)
    for name, cls in (("typiclust", TypiClustSampler),
                      ("probcover", ProbCoverSampler)):
        s = AdversarialUncertaintySampler(cold_start=name,
                                          cold_start_until=20, epochs=3,
                                          random_state=0)
        idx = s.query(f_l, y_l, f_u, clf, 8)
        assert s.phase_ == "cold_start" and isinstance(s.cold_start_, cls)
        assert not hasattr(s, "assistant_")  # no selector was trained
        # the very query of the cold-start strategy, same seed
        assert idx.tolist() == cls(random_state=0).query(
            f_l, y_l, f_u, clf, 8).tolist()
    for kw in (dict(cold_start=None), dict(preset="paper")):
        s = AdversarialUncertaintySampler(cold_start_until=20, epochs=3,
                                          random_state=0, **kw)
        s.query(f_l, y_l, f_u, clf, 8)
        assert s.phase_ == "aalu" and hasattr(s, "assistant_")
    with pytest.raises(ValueError, match="cold_start"):
        aalu_query(cold_start="badge")


def _aalu_cold_start_until_frozen():
    from sklearn.linear_model import LogisticRegression

    # 24 labels of 3 classes, 8 per class: a model from scratch is still in
    # the cold start (10), a head on a frozen representation is not (5).
    f_l, _, _, f_u, _ = tiny_features()
    f_l, y_l = f_l[:24], np.arange(24) % 3
    head = LogisticRegression().fit(f_l, y_l)

    def phase(estimator, **params):
        s = AdversarialUncertaintySampler(epochs=3, random_state=0, **params)
        s.query(f_l, y_l, f_u, estimator, 8)
        # resolved_config says beforehand what the query then used
        assert AdversarialUncertaintySampler(**params).resolved_config(
            estimator) == s.config_
        return s.phase_, s.config_["cold_start_until"]

    assert phase(head) == ("cold_start", 10)
    head.representation, head.finetune = object(), False
    assert phase(head) == ("aalu", 5)
    assert phase(head, cold_start_until=10) == ("cold_start", 10)
    head.finetune = True  # the encoder trains: as from scratch
    assert phase(head) == ("cold_start", 10)


def _aalu_cold_start_until():
    # 40 labels of 3 classes: 13.3 per class
    assert aalu_query(cold_start_until=13)[0].phase_ == "aalu"
    assert aalu_query(cold_start_until=14)[0].phase_ == "cold_start"
    assert aalu_query()[0].config_["cold_start_until"] == 10  # the preset
    _aalu_cold_start_until_frozen()
    for bad in (0, -1.0, True, "few"):
        with pytest.raises(ValueError, match="cold_start_until"):
            aalu_query(cold_start_until=bad)


def _aalu_loss_source():
    # a scikit-learn classifier records no training losses: "auto" falls
    # back to the final losses, "training" refuses
    assert aalu_query(loss_source="auto")[0].config_["loss_source"] == "final"
    assert aalu_query(loss_source="final")[0].config_["loss_source"] == "final"
    with pytest.raises(ValueError, match="record_losses=True"):
        aalu_query(loss_source="training")
    with pytest.raises(ValueError, match="loss_source"):
        aalu_scores(loss_source="oracle")


def _aalu_diversity():
    plain, idx_plain = aalu_query(diversity=None)
    spread, idx = aalu_query(diversity="kmeans")
    np.testing.assert_array_equal(plain.scores_, spread.scores_)
    assert idx_plain.tolist() == np.argsort(-plain.scores_)[:8].tolist()
    assert set(idx.tolist()) != set(idx_plain.tolist())
    assert set(idx.tolist()) <= set(np.argsort(-plain.scores_)[:32].tolist())
    assert spread.config_["diversity"] == "kmeans"
    with pytest.raises(ValueError, match="diversity"):
        aalu_scores(diversity="dpp")


def _aalu_lr():
    assert changes(aalu_scores, "lr", 1e-4, 1e-2)
    # "auto": the preset's rate
    assert not changes(aalu_scores, "lr", "auto", 1e-3)
    assert not changes(lambda **k: aalu_scores(preset="paper", **k), "lr",
                       "auto", 5e-4)
    for bad in (0, -1.0, "fast", True):
        with pytest.raises(ValueError, match="lr"):
            aalu_scores(lr=bad)


def _aalu_tol():
    # 50 pool samples, batch 8: 7 steps per epoch; 60 epochs = 420 steps
    # (no step cap here: the default's 300 would end them first).
    kw = dict(epochs=60, batch_size=8, max_steps=None)
    fixed = aalu_scores(tol=None, **kw)[0]
    assert fixed.n_steps_ == 420 and not fixed.converged_
    assert aalu_scores(**kw)[0].n_steps_ == 420  # "auto": None
    # the default preset's cap ends the same run at 300 steps
    assert aalu_scores(epochs=60, batch_size=8)[0].n_steps_ == 300
    stopped = aalu_scores(tol=0.05, **kw)[0]
    assert stopped.converged_ and 200 <= stopped.n_steps_ < 420
    assert stopped.n_steps_ % 25 == 0  # checked every 25 steps
    # a looser tolerance stops no later
    assert aalu_scores(tol=0.5, **kw)[0].n_steps_ <= stopped.n_steps_
    assert aalu_scores(preset="paper", epochs=60, batch_size=8)[0] \
        .n_steps_ == 420
    for bad in (-0.1, 1.0, "tight", True):
        with pytest.raises(ValueError, match="tol"):
            aalu_scores(tol=bad)


def _aalu_n_iter_no_change():
    kw = dict(epochs=60, batch_size=8, tol=0.5)
    # no window halves the loss: one bad window stops at the 200-step
    # minimum, nine need 9 windows after the first
    assert aalu_scores(n_iter_no_change=1, **kw)[0].n_steps_ == 200
    assert aalu_scores(n_iter_no_change=9, **kw)[0].n_steps_ == 250
    for bad in (0, 1.5, None):
        with pytest.raises(ValueError, match="n_iter_no_change"):
            aalu_scores(n_iter_no_change=bad)


def _aalu_warm_start():
    f = tiny_features()
    for warm in (True, False):
        sampler = AdversarialUncertaintySampler(epochs=3, random_state=0,
                                                warm_start=warm)
        sampler.fit_scores(*f)
        first = sampler.assistant_.state_dict()
        # lr so small that a warm second fit stays at the first's weights
        sampler.set_params(lr=1e-12).fit_scores(*f)
        same = all(torch.allclose(v, sampler.assistant_.state_dict()[k])
                   for k, v in first.items())
        assert same == warm == sampler.warm_started_
    assert not aalu_scores(warm_start="auto")[0].warm_started_
    with pytest.raises(ValueError, match="warm_start"):
        aalu_scores(warm_start="yes")


def _aalu_batch_size():
    assert changes(aalu_scores, "batch_size", 8, 128)
    with pytest.raises(ValueError, match="batch_size"):
        aalu_scores(batch_size=0)


def _device(make):
    with pytest.raises(ValueError, match="device"):
        make(device="tpu:7")


def _verbose(make, capsys):
    from unittest import mock

    from aalu_sk import _logging

    # As on a terminal: verbose=1 draws a bar, verbose=0 nothing.
    with mock.patch.object(_logging, "_is_terminal", lambda stream: True):
        make(verbose=1)
        assert "selector" in capsys.readouterr().err
        make(verbose=0)
        assert capsys.readouterr().err == ""
    # Not on a terminal (as here, under pytest): no bar either way.
    make(verbose=1)
    assert capsys.readouterr().err == ""


def _aalu_random_state():
    a, b = aalu_scores(random_state=1)[1], aalu_scores(random_state=1)[1]
    np.testing.assert_array_equal(a, b)
    assert changes(aalu_scores, "random_state", 1, 2)


def _vaal_latent_dim():
    assert vaal_query(latent_dim=3).vae_.fc_mu.out_features == 3


def _vaal_channels():
    vae = vaal_query(channels=(5, 7)).vae_
    assert [m.out_channels for m in vae.encoder
            if isinstance(m, torch.nn.Conv2d)] == [5]  # 8x8 needs 1 halving
    with pytest.raises(ValueError, match="channels"):
        vaal_query(channels=())


def _vaal_hidden_dim():
    assert vaal_query(hidden_dim=9).discriminator_.net[0].out_features == 9


def _vaal_scores(**params):
    return None, vaal_query(**params).scores_


def _vaal_adversary_weight():
    assert changes(_vaal_scores, "adversary_weight", 0.0, 10.0)


def _vaal_vae_steps():
    assert changes(_vaal_scores, "vae_steps", 1, 3)


def _vaal_epochs():
    assert len(vaal_query(epochs=2).history_) == 2


def _vaal_max_steps():
    # 30 pool samples, batch 4: 8 steps per epoch; 3 epochs capped at 10
    assert len(vaal_query(epochs=3, batch_size=4, max_steps=10)
               .history_) == 2
    assert len(vaal_query(epochs=3, batch_size=4).history_) == 3
    with pytest.raises(ValueError, match="max_steps"):
        vaal_query(max_steps=0)


def _vaal_diversity():
    plain, spread = vaal_query(), vaal_query(diversity="kmeans")
    np.testing.assert_array_equal(plain.scores_, spread.scores_)
    with pytest.raises(ValueError, match="diversity"):
        vaal_query(diversity="random")


def _diversity_of(cls):
    def test():
        rng = np.random.RandomState(0)
        pool = rng.randn(60, 2)
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression().fit(pool, np.arange(60) % 3)
        plain = cls(random_state=0)
        a = plain.query(pool, np.arange(60) % 3, pool, clf, 5)
        b = cls(diversity="kmeans", random_state=0).query(
            pool, np.arange(60) % 3, pool, clf, 5)
        assert a.tolist() == np.argsort(-plain.scores_)[:5].tolist()
        assert set(b.tolist()) != set(a.tolist())
        assert set(b.tolist()) <= set(np.argsort(-plain.scores_)[:20]
                                      .tolist())
        with pytest.raises(ValueError, match="diversity"):
            cls(diversity="yes").query(pool, np.arange(60) % 3, pool, clf, 5)
    return test


def _vaal_lr():
    assert changes(_vaal_scores, "lr", 1e-4, 1e-2)


def _vaal_batch_size():
    assert changes(_vaal_scores, "batch_size", 4, 64)


def _vaal_random_state():
    np.testing.assert_array_equal(_vaal_scores(random_state=3)[1],
                                  _vaal_scores(random_state=3)[1])
    assert changes(_vaal_scores, "random_state", 3, 4)


def _coreset_query(**params):
    f_l, _, _, f_u, _ = tiny_features()
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(1).fit(f_l, np.arange(40) % 2)
    s = CoreSetSampler(**{"random_state": 0, **params})
    return s, s.query(f_l, np.arange(40) % 2, f_u, clf, 10)


def _coreset_batch_size():
    np.testing.assert_array_equal(_coreset_query(batch_size=3)[1],
                                  _coreset_query(batch_size=4096)[1])


def _random_state_of(cls):
    def test():
        pool = np.random.RandomState(0).rand(50, 2)
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression().fit(pool, np.arange(50) % 2)
        pool_tied = np.zeros((50, 2))  # all scores tie: the seed decides
        a = cls(random_state=1).query(pool, np.arange(50) % 2, pool_tied,
                                      clf, 5)
        b = cls(random_state=1).query(pool, np.arange(50) % 2, pool_tied,
                                      clf, 5)
        c = cls(random_state=2).query(pool, np.arange(50) % 2, pool_tied,
                                      clf, 5)
        assert a.tolist() == b.tolist() != c.tolist()
    return test


def _lowbudget_pool():
    """Blobs of 40, 30 and 4 points, far apart."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(40, 2), rng.randn(30, 2) + [20, 0],
                   0.01 * rng.randn(4, 2) + [0, 20]]) + [50, 50]
    return X, np.repeat([0, 1, 2], [40, 30, 4])


def _lowbudget_query(cls, n=3, **params):
    from sklearn.preprocessing import FunctionTransformer

    X, blob = _lowbudget_pool()
    params = {"representation": FunctionTransformer(), "normalize": False,
              "random_state": 0, **params}
    if cls is ProbCoverSampler and params.get("delta") is None:
        params.setdefault("n_classes", 3)
    qs = cls(**params)
    picks = qs.query(None, None, X, None, n)
    return qs, picks, blob


def _lowbudget_representation(cls):
    def test():
        from sklearn.decomposition import PCA

        X, blob = _lowbudget_pool()
        rep = PCA(n_components=1).fit(X * [1, 0])  # x only: blobs 0, 2 merge
        qs, picks, _ = _lowbudget_query(cls, n=2, representation=rep,
                                        **({"delta": 4.0} if cls is
                                           ProbCoverSampler else {}))
        assert qs.representation_ is rep
        # Along x, blobs 0 and 2 are one group: one pick each side.
        assert sorted(np.where(blob[picks] == 2, 0, blob[picks])) == [0, 1]
        qs, picks, _ = _lowbudget_query(cls, n=2, representation=None)
        assert type(qs.representation_).__name__ == "PixelPCA"
    return test


def _lowbudget_normalize(cls):
    def test():
        a = _lowbudget_query(cls, normalize=False, delta=3.0)[0] \
            if cls is ProbCoverSampler else _lowbudget_query(cls)[0]
        b = _lowbudget_query(cls, normalize=True, delta=0.05)[0] \
            if cls is ProbCoverSampler else \
            _lowbudget_query(cls, normalize=True)[0]
        assert not np.allclose(a.scores_, b.scores_)
    return test


def _lowbudget_random_state(cls):
    def test():
        X = np.repeat(np.eye(6) * 10, 5, axis=0)  # 6 equal, tied blobs
        extra = {"delta": 1.0} if cls is ProbCoverSampler else {}
        from sklearn.preprocessing import FunctionTransformer

        def first(seed):
            return int(cls(representation=FunctionTransformer(),
                           normalize=False, random_state=seed, **extra)
                       .query(None, None, X, None, 1)[0]) // 5

        picks = [first(s) for s in range(8)]
        again = [first(s) for s in range(8)]
        assert picks == again and len(set(picks)) > 1
    return test


def _typiclust_k():
    a = _lowbudget_query(TypiClustSampler, k=2)[0]
    b = _lowbudget_query(TypiClustSampler, k=20)[0]
    assert not np.allclose(a.scores_, b.scores_)


def _typiclust_min_cluster_size():
    _, picks, blob = _lowbudget_query(TypiClustSampler, min_cluster_size=6)
    assert blob[picks].tolist() == [0, 1, 0]  # the 4-point blob skipped
    _, picks, blob = _lowbudget_query(TypiClustSampler, min_cluster_size=4)
    assert blob[picks].tolist() == [0, 1, 2]


def _typiclust_max_clusters():
    _, picks, blob = _lowbudget_query(TypiClustSampler, n=2, max_clusters=1)
    assert blob[picks].tolist() == [0, 0]  # one cluster: its densest part
    _, picks, blob = _lowbudget_query(TypiClustSampler, n=2)
    assert blob[picks].tolist() == [0, 1]


def _probcover_delta():
    qs, picks, blob = _lowbudget_query(ProbCoverSampler, n=2, delta=8.0)
    assert qs.delta_ == 8.0 and blob[picks].tolist() == [0, 1]
    qs, picks, blob = _lowbudget_query(ProbCoverSampler, n=2, delta=0.1)
    assert blob[picks[0]] == 2  # small balls: the tight blob is densest


def _probcover_alpha():
    a = _lowbudget_query(ProbCoverSampler, alpha=0.5)[0].delta_
    b = _lowbudget_query(ProbCoverSampler, alpha=0.99)[0].delta_
    assert a > b


def _probcover_n_classes():
    qs = _lowbudget_query(ProbCoverSampler, n_classes=2)[0]
    assert qs.n_classes_ == 2
    assert _lowbudget_query(ProbCoverSampler, n_classes=8)[0].delta_ < \
        qs.delta_


PARAM_TESTS = {
    (AdversarialUncertaintySampler, "latent_dim"): _aalu_latent_dim,
    (AdversarialUncertaintySampler, "hidden_dim"): _aalu_hidden_dim,
    (AdversarialUncertaintySampler, "beta"): _aalu_beta,
    (AdversarialUncertaintySampler, "margin"): _aalu_margin,
    (AdversarialUncertaintySampler, "ranking_weight"): _aalu_ranking_weight,
    (AdversarialUncertaintySampler, "use_prediction"): _aalu_use_prediction,
    (AdversarialUncertaintySampler, "sort_prediction"):
        _aalu_sort_prediction,
    (AdversarialUncertaintySampler, "adversarial"): _aalu_adversarial,
    (AdversarialUncertaintySampler, "epochs"): _aalu_epochs,
    (AdversarialUncertaintySampler, "max_steps"): _aalu_max_steps,
    (AdversarialUncertaintySampler, "tol"): _aalu_tol,
    (AdversarialUncertaintySampler, "n_iter_no_change"):
        _aalu_n_iter_no_change,
    (AdversarialUncertaintySampler, "warm_start"): _aalu_warm_start,
    (AdversarialUncertaintySampler, "preset"): _aalu_preset,
    (AdversarialUncertaintySampler, "loss_source"): _aalu_loss_source,
    (AdversarialUncertaintySampler, "diversity"): _aalu_diversity,
    (AdversarialUncertaintySampler, "cold_start"): _aalu_cold_start,
    (AdversarialUncertaintySampler, "cold_start_until"):
        _aalu_cold_start_until,
    (AdversarialUncertaintySampler, "lr"): _aalu_lr,
    (AdversarialUncertaintySampler, "batch_size"): _aalu_batch_size,
    (AdversarialUncertaintySampler, "device"):
        lambda: _device(lambda **k: aalu_scores(**k)),
    (AdversarialUncertaintySampler, "random_state"): _aalu_random_state,
    (AdversarialUncertaintySampler, "verbose"):
        lambda capsys: _verbose(lambda **k: aalu_scores(**k), capsys),
    (VAALSampler, "latent_dim"): _vaal_latent_dim,
    (VAALSampler, "channels"): _vaal_channels,
    (VAALSampler, "hidden_dim"): _vaal_hidden_dim,
    (VAALSampler, "adversary_weight"): _vaal_adversary_weight,
    (VAALSampler, "vae_steps"): _vaal_vae_steps,
    (VAALSampler, "epochs"): _vaal_epochs,
    (VAALSampler, "max_steps"): _vaal_max_steps,
    (VAALSampler, "diversity"): _vaal_diversity,
    (VAALSampler, "lr"): _vaal_lr,
    (VAALSampler, "batch_size"): _vaal_batch_size,
    (VAALSampler, "device"): lambda: _device(vaal_query),
    (VAALSampler, "random_state"): _vaal_random_state,
    (VAALSampler, "verbose"): lambda capsys: _verbose(vaal_query, capsys),
    (CoreSetSampler, "batch_size"): _coreset_batch_size,
    (CoreSetSampler, "device"): lambda: _device(_coreset_query),
    (CoreSetSampler, "random_state"): _random_state_of(CoreSetSampler),
    (RandomSampler, "random_state"): _random_state_of(RandomSampler),
    (EntropySampler, "random_state"): _random_state_of(EntropySampler),
    (EntropySampler, "diversity"): _diversity_of(EntropySampler),
    (MarginSampler, "random_state"): _random_state_of(MarginSampler),
    (MarginSampler, "diversity"): _diversity_of(MarginSampler),
    (BADGESampler, "random_state"): _random_state_of(BADGESampler),
    (TypiClustSampler, "representation"):
        _lowbudget_representation(TypiClustSampler),
    (TypiClustSampler, "k"): _typiclust_k,
    (TypiClustSampler, "min_cluster_size"): _typiclust_min_cluster_size,
    (TypiClustSampler, "max_clusters"): _typiclust_max_clusters,
    (TypiClustSampler, "normalize"): _lowbudget_normalize(TypiClustSampler),
    (TypiClustSampler, "random_state"):
        _lowbudget_random_state(TypiClustSampler),
    (ProbCoverSampler, "representation"):
        _lowbudget_representation(ProbCoverSampler),
    (ProbCoverSampler, "delta"): _probcover_delta,
    (ProbCoverSampler, "alpha"): _probcover_alpha,
    (ProbCoverSampler, "n_classes"): _probcover_n_classes,
    (ProbCoverSampler, "normalize"): _lowbudget_normalize(ProbCoverSampler),
    (ProbCoverSampler, "random_state"):
        _lowbudget_random_state(ProbCoverSampler),
}


@pytest.mark.parametrize("key", list(PARAM_TESTS),
                         ids=[f"{c.__name__}-{p}" for c, p in PARAM_TESTS])
def test_parameter(key, capsys):
    func = PARAM_TESTS[key]
    if "capsys" in inspect.signature(func).parameters:
        func(capsys)
    else:
        func()


def test_every_parameter_has_a_test():
    missing = [(cls.__name__, name) for cls in STRATEGY_CLASSES
               for name in inspect.signature(cls).parameters
               if (cls, name) not in PARAM_TESTS]
    assert not missing, f"parameters without a test: {missing}"


# -- estimator conventions -----------------------------------------------------
@pytest.mark.contract
@pytest.mark.parametrize("cls", STRATEGY_CLASSES)
def test_init_stores_params_and_clone_round_trips(cls):
    params = {name: p.default for name, p in
              inspect.signature(cls).parameters.items()}
    est = cls()
    assert est.get_params() == params
    if "random_state" in params:
        est.set_params(random_state=7)
        assert clone(est).get_params()["random_state"] == 7
    cloned = clone(est)
    assert cloned.get_params() == est.get_params() and cloned is not est


@pytest.mark.contract
@pytest.mark.parametrize("cls", STRATEGY_CLASSES)
def test_sklearn_default_constructible_and_repr(cls):
    estimator_checks.check_parameters_default_constructible(cls.__name__,
                                                            cls())
    estimator_checks.check_no_attributes_set_in_init(cls.__name__, cls())
    assert cls.__name__ in repr(cls())


def test_queried_sampler_pickles_and_scores_survive(split, fitted_net):
    X_l, y_l, X_u = split[:3]
    s = AdversarialUncertaintySampler(epochs=1, random_state=0,
                                      cold_start=None)
    s.query(X_l, y_l, X_u, fitted_net, 3)
    s2 = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(s2.scores_, s.scores_)
    f = torch.randn(2, s.vae_.encoder[0].in_features)
    assert torch.equal(s2.vae_.eval().encode(f)[0], s.vae_.eval().encode(f)[0])
    assert "scores_" not in clone(s).__dict__


def test_fitted_classifier_pickles_and_clone_is_unfitted(split, fitted_net):
    X = split[2][:20]
    again = pickle.loads(pickle.dumps(fitted_net))
    np.testing.assert_allclose(again.predict_proba(X),
                               fitted_net.predict_proba(X))
    fresh = clone(fitted_net)
    assert not hasattr(fresh, "module_") and fresh.num_classes == 10


@pytest.mark.parametrize("cls", STRATEGY_CLASSES)
def test_query_leaves_global_rngs_alone(cls, split, fitted_net):
    X_l, y_l, X_u = split[:3]
    extra = {"epochs": 1} if cls in (AdversarialUncertaintySampler,
                                     VAALSampler) else {}
    if cls is VAALSampler:
        extra["channels"] = (4, 8)
    np_state, torch_state = np.random.get_state(), torch.get_rng_state()
    cls(random_state=0, **extra).query(X_l, y_l, X_u, fitted_net, 4)
    assert np.array_equal(np_state[1], np.random.get_state()[1])
    assert torch.equal(torch_state, torch.get_rng_state())


SCRIPT = """
import numpy as np, torch
torch.manual_seed({torch_seed}); np.random.seed({torch_seed})
from aalu_sk import AdversarialUncertaintySampler
rng = np.random.RandomState(0)
f_l, f_u = rng.randn(60, 6), rng.randn(80, 6)
p = rng.dirichlet(np.ones(3), 140)
s = AdversarialUncertaintySampler(epochs=3, random_state=11)
scores = s.fit_scores(f_l, p[:60], rng.rand(60), f_u, p[60:])
print(np.argsort(-scores)[:10].tolist(), float(scores.sum()))
"""


def test_same_random_state_same_query_across_processes():
    outs = [subprocess.run([sys.executable, "-c",
                            SCRIPT.format(torch_seed=seed)],
                           capture_output=True, text=True, check=True).stdout
            for seed in (1, 2)]
    assert outs[0] == outs[1] and outs[0].startswith("[")


APPLICABLE_CHECKS = [
    "check_estimator_cloneable", "check_estimator_repr",
    "check_estimators_unfitted", "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order", "check_parameters_default_constructible",
    "check_get_params_invariance", "check_fit1d",
    "check_transformers_unfitted", "check_supervised_y_no_nan",
    "check_valid_tag_types", "check_estimator_tags_renamed",
]


@pytest.mark.contract
@pytest.mark.parametrize("check", APPLICABLE_CHECKS)
def test_image_classifier_sklearn_checks(check):
    """The scikit-learn checks that apply to an image classifier.

    The others feed 2-d tabular arrays (n_samples, n_features), which an
    image model refuses by design with a message naming the layouts it
    takes; ``check_no_attributes_set_in_init`` and ``check_set_params``
    fail on skorch's own ``NeuralNet`` (it keeps bookkeeping attributes and
    rejects non-numeric values for numeric parameters).
    """
    getattr(estimator_checks, check)(
        "ImageClassifier", ImageClassifier("small_cnn", max_epochs=1))
