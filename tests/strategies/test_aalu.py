"""AALU on synthetic pools where the right query is known.

Each test would fail if a direction were flipped: the assistant's targets
(labeled -> 0, unlabeled -> 1), the pick (largest scores), the ranking
loss's sign, or the prediction input.
"""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from aalu_sk import AdversarialUncertaintySampler
from aalu_sk.pools import LocalPool, top_batch

VARIANTS = {
    "advVAE": dict(adversarial=True, use_prediction=False, ranking_weight=0),
    "advVAE+Prediction": dict(adversarial=True, use_prediction=True,
                              ranking_weight=0),
    "advVAE+lossLearn": dict(adversarial=True, use_prediction=False,
                             ranking_weight=10),
    "AALU": dict(),
}


def far_cluster_pool(seed=0, n_lab=80, n_pool=120, n_far=10, dim=16):
    """Labeled and most pool samples near 0; ``n_far`` pool samples far away.

    Probabilities and losses carry no signal (same distribution everywhere),
    so only the adversarial part can find the far cluster.
    """
    rng = np.random.RandomState(seed)
    f_l = rng.randn(n_lab, dim)
    f_u = rng.randn(n_pool, dim)
    f_u[:n_far] += 6.0
    p = rng.dirichlet(np.ones(4), n_lab + n_pool)
    loss = rng.rand(n_lab)
    return f_l, p[:n_lab], loss, f_u, p[n_lab:], n_far


@pytest.mark.parametrize("preset", ["paper", "default"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_far_unlabeled_cluster_dominates_the_query(variant, preset):
    f_l, p_l, loss, f_u, p_u, n_far = far_cluster_pool()
    sampler = AdversarialUncertaintySampler(epochs=50, random_state=0,
                                            preset=preset,
                                            **VARIANTS[variant])
    scores = sampler.fit_scores(f_l, p_l, loss, f_u, p_u)
    top = np.argsort(-scores)[:n_far]
    assert np.mean(top < n_far) >= 0.8, (variant, top)
    # the assistant says "unlabeled" (-> 1) more for the far cluster
    assert scores[:n_far].mean() > scores[n_far:].mean() + 0.2


def test_ablation_presets_are_the_papers_table():
    """Table 1: advVAE (A sees z), + Prediction (A sees [z, p]), lossLearn
    (Eq. 8 only), advVAE + lossLearn (no p), AALU (everything)."""
    from aalu_sk.strategies.aalu import ABLATIONS

    table = {name: (kw["adversarial"], kw["use_prediction"],
                    kw["ranking_weight"] > 0) for name, kw in ABLATIONS.items()}
    assert table == {
        "advVAE": (True, False, False),
        "advVAE+Prediction": (True, True, False),
        "lossLearn": (False, False, True),
        "advVAE+lossLearn": (True, False, True),
        "AALU": (True, True, True),
    }
    defaults = AdversarialUncertaintySampler().get_params()
    assert all(defaults[k] == v for k, v in ABLATIONS["AALU"].items())


def confusion_pool(seed=0, n_lab=90, n_pool=300, n_hard=20, k=5, dim=8):
    """Losses follow how split a prediction is, whatever the classes.

    The labeled set's high-loss samples are split between classes 0 and 1;
    the pool's first ``n_hard`` samples are split the same way between
    classes 3 and 4, a confusion no labeled sample shows; everything else
    is confident. Features carry no signal.
    """
    rng = np.random.RandomState(seed)

    def confident(n):
        p = np.full((n, k), 0.02 / (k - 1))
        p[np.arange(n), rng.randint(k, size=n)] = 0.98
        return p

    def split(n, a, b):
        p = np.full((n, k), 0.02 / (k - 2))
        p[:, a], p[:, b] = 0.5, 0.48
        return p

    p_l, loss = confident(n_lab), rng.rand(n_lab) * 0.05
    p_l[:15], loss[:15] = split(15, 0, 1), 1.0 + rng.rand(15)
    p_u = confident(n_pool)
    p_u[:n_hard] = split(n_hard, 3, 4)
    return (rng.randn(n_lab, dim), p_l, loss, rng.randn(n_pool, dim), p_u,
            n_hard)


@pytest.mark.slow
def test_sorted_prediction_carries_the_loss_ranking_to_other_classes():
    """The default feeds p sorted: what the ranking loss learnt about a
    0/1 confusion finds the pool's 3/4 confusions; in class order (the
    paper) it mostly does not."""
    found = {}
    for sort in (True, False):
        found[sort] = []
        for seed in (0, 1):
            f_l, p_l, loss, f_u, p_u, n_hard = confusion_pool(seed)
            scores = AdversarialUncertaintySampler(
                epochs=50, random_state=seed, sort_prediction=sort
            ).fit_scores(f_l, p_l, loss, f_u, p_u)
            found[sort].append(np.mean(np.argsort(-scores)[:n_hard] < n_hard))
    assert min(found[True]) >= 0.9, found
    assert np.mean(found[True]) > np.mean(found[False]) + 0.3, found


@pytest.mark.parametrize("preset", ["paper", "default"])
def test_ranking_alone_scores_higher_loss_higher(preset):
    """lossLearn: trained on Eq. 8 only, A orders samples by task loss."""
    rng = np.random.RandomState(0)
    f_l = rng.randn(300, 8)
    loss = np.exp(f_l[:, 0])  # loss grows with feature 0
    sampler = AdversarialUncertaintySampler(
        epochs=50, adversarial=False, use_prediction=False, random_state=0,
        preset=preset)
    # Scoring the labeled set itself: its scores must follow its losses.
    scores = sampler.fit_scores(f_l, None, loss, f_l, None)
    assert spearmanr(scores, loss).correlation > 0.8


def test_prediction_input_finds_uncertain_samples():
    """With identical feature distributions, only ``p`` tells pools apart.

    Labeled samples have confident predictions; half of the pool has flat
    ones. AALU with ``use_prediction`` must prefer the flat half; without
    it, the query is no better than chance.
    """
    rng = np.random.RandomState(0)
    n_lab, n_pool, k = 120, 120, 5
    f_l, f_u = rng.randn(n_lab, 8), rng.randn(n_pool, 8)
    confident = np.eye(k)[rng.randint(k, size=n_lab + n_pool)] * 0.9 + 0.02
    p_l = confident[:n_lab]
    p_u = confident[n_lab:].copy()
    p_u[: n_pool // 2] = 1.0 / k
    kw = dict(epochs=100, random_state=0, ranking_weight=0)
    with_p = AdversarialUncertaintySampler(use_prediction=True, **kw)
    top = np.argsort(-with_p.fit_scores(f_l, p_l, None, f_u, p_u))[:30]
    assert np.mean(top < n_pool // 2) >= 0.9
    without = AdversarialUncertaintySampler(use_prediction=False, **kw)
    top = np.argsort(-without.fit_scores(f_l, p_l, None, f_u, p_u))[:30]
    assert np.mean(top < n_pool // 2) < 0.8


def test_query_on_a_task_model_returns_distinct_pool_indices(split,
                                                             fitted_net):
    X_l, y_l, X_u = split[0], split[1], split[2]
    sampler = AdversarialUncertaintySampler(preset="paper", epochs=2,
                                            random_state=0)
    idx = sampler.query(X_l, y_l, X_u, fitted_net, n_instances=7)
    assert idx.dtype == np.int64 and len(set(idx.tolist())) == 7
    assert idx.min() >= 0 and idx.max() < len(X_u)
    assert sampler.scores_.shape == (len(X_u),)
    # the returned indices are the largest scores, largest first
    np.testing.assert_array_equal(
        np.sort(sampler.scores_)[::-1][:7], sampler.scores_[idx])
    assert len(sampler.history_) == 2
    assert set(sampler.timings_) == {"task_forward", "train", "score",
                                     "select", "steps"}
    assert sampler.timings_["steps"] == sampler.n_steps_ == \
        sum(h["steps"] for h in sampler.history_)


def test_plain_sklearn_classifier_works(digits):
    from sklearn.linear_model import LogisticRegression

    X, y = digits
    X2 = X.reshape(len(X), -1)
    clf = LogisticRegression(max_iter=200).fit(X2[:100], y[:100])
    sampler = AdversarialUncertaintySampler(epochs=2, random_state=0)
    idx = sampler.query(X2[:100], y[:100], X2[100:300], clf, n_instances=5)
    assert len(set(idx.tolist())) == 5 and idx.max() < 200
    # features are the flattened input: the VAE's input width says so
    assert sampler.vae_.encoder[0].in_features == 64


def test_plain_sklearn_transformer_features_are_used(digits):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    X, y = digits
    X2 = X.reshape(len(X), -1)

    class PCAClassifier(SVC):
        """An SVC that also offers PCA features through ``transform``."""

        def fit(self, X, y):
            self.pca_ = PCA(5).fit(X)
            return super().fit(X, y)

        def transform(self, X):
            return self.pca_.transform(X)

    clf = PCAClassifier(probability=True, random_state=0).fit(X2[:100],
                                                              y[:100])
    sampler = AdversarialUncertaintySampler(epochs=1, random_state=0)
    sampler.query(X2[:100], y[:100], X2[100:200], clf, n_instances=3)
    assert sampler.vae_.encoder[0].in_features == 5
    assert make_pipeline  # imported for readers: pipelines work the same


def test_missing_inputs_for_the_configuration_are_named():
    f = np.random.RandomState(0).randn(10, 3)
    with pytest.raises(ValueError, match="proba_labeled"):
        AdversarialUncertaintySampler(epochs=1).fit_scores(f, None, None, f,
                                                           None)
    with pytest.raises(ValueError, match="loss_labeled"):
        AdversarialUncertaintySampler(epochs=1, use_prediction=False) \
            .fit_scores(f, None, None, f, None)


def test_probabilities_must_agree_on_classes():
    f = np.random.RandomState(0).randn(10, 3)
    with pytest.raises(ValueError, match="same n_classes"):
        AdversarialUncertaintySampler(epochs=1).fit_scores(
            f, np.full((10, 3), 1 / 3), np.ones(10), f, np.full((10, 4), 0.25))


def test_nothing_to_learn_is_refused():
    f = np.zeros((4, 2))
    s = AdversarialUncertaintySampler(adversarial=False, ranking_weight=0)
    with pytest.raises(ValueError, match="nothing to learn"):
        s.fit_scores(f, None, None, f, None)


@pytest.fixture
def one_thread():
    """One torch thread: the net's training, and so the ranking the
    assistant learns from 80 samples, then does not depend on the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def mislabeled_digits(digits, n=80, flipped=(3, 17)):
    """n digits with the labels of ``flipped`` changed to a wrong class."""
    X, y = digits
    X, y = X[:n], y[:n].copy()
    for i in flipped:
        y[i] = (y[i] + 5) % 10
    return X, y, list(flipped)


def test_recorded_losses_rank_known_hard_samples_first(digits):
    """Mislabeled samples are learned last: their mean training loss is top.

    The final model memorises the small set, so its own losses are all
    near zero and no longer single out the hard samples.
    """
    from aalu_sk import ImageClassifier

    X, y, hard = mislabeled_digits(digits)
    net = ImageClassifier("mlp", num_classes=10, max_epochs=150,
                          batch_size=16, random_state=0,
                          record_losses=True).fit(X, y)
    recorded = net.training_losses_
    assert sorted(np.argsort(-recorded)[:2].tolist()) == hard
    assert recorded[hard].min() > 3 * np.median(recorded)
    final = net.per_sample_loss(X, y)
    assert final.max() < 0.1  # memorised: little ranking signal left
    assert sorted(np.argsort(-final)[:2].tolist()) != hard


@pytest.mark.slow
def test_training_loss_source_ranks_recorded_losses(digits, one_thread):
    """With loss_source="training", the assistant ranks by the recorded
    losses: the pool's copies of the mislabeled samples come first; the
    presets keep the final losses."""
    from aalu_sk import ImageClassifier

    X, y, hard = mislabeled_digits(digits)
    net = ImageClassifier("mlp", num_classes=10, max_epochs=150,
                          batch_size=16, random_state=0,
                          record_losses=True).fit(X, y)
    pool = X[:40] + 0.01  # near-copies of the first 40 labeled images
    kw = dict(adversarial=False, use_prediction=False, epochs=300,
              random_state=0, cold_start=None)
    trained = AdversarialUncertaintySampler(loss_source="training", **kw)
    trained.query(X, y, pool, net, 2)
    assert trained.config_["loss_source"] == "training"
    ranks = spearmanr(trained.scores_, net.training_losses_[:40]).correlation
    assert ranks > 0.5
    assert sorted(np.argsort(-trained.scores_)[:2].tolist()) == hard
    for preset in ("paper", "default"):
        final = AdversarialUncertaintySampler(preset=preset, **kw)
        final.query(X, y, pool, net, 2)
        assert final.config_["loss_source"] == "final"


def test_recorded_losses_are_only_read_for_their_own_labeled_set(digits):
    from aalu_sk import ImageClassifier

    X, y, _ = mislabeled_digits(digits)
    net = ImageClassifier("mlp", num_classes=10, max_epochs=2,
                          random_state=0, record_losses=True).fit(X, y)
    other_X, other_y = X[::-1].copy(), y[::-1].copy()
    auto = AdversarialUncertaintySampler(epochs=1, random_state=0,
                                         cold_start=None)
    auto.query(other_X, other_y, X[:10], net, 2)
    assert auto.config_["loss_source"] == "final"
    with pytest.raises(ValueError, match="exactly this labeled set"):
        AdversarialUncertaintySampler(epochs=1, loss_source="training",
                                      cold_start=None) \
            .query(other_X, other_y, X[:10], net, 2)
    assert AdversarialUncertaintySampler(
        loss_source="training").reads_training_losses()
    assert not AdversarialUncertaintySampler().reads_training_losses()
    assert not AdversarialUncertaintySampler(
        preset="paper").reads_training_losses()
    assert not AdversarialUncertaintySampler(
        ranking_weight=0).reads_training_losses()


def test_recording_does_not_change_the_trained_model(digits):
    from aalu_sk import ImageClassifier

    X, y, _ = mislabeled_digits(digits)
    kw = dict(num_classes=10, max_epochs=3, random_state=0)
    plain = ImageClassifier("small_cnn", **kw).fit(X, y)
    recorded = ImageClassifier("small_cnn", record_losses=True, **kw).fit(X, y)
    np.testing.assert_array_equal(plain.predict_proba(X),
                                  recorded.predict_proba(X))
    assert recorded.training_losses_.shape == (len(y),)
    assert not hasattr(plain, "training_losses_")


def test_a_step_budget_trains_on_a_seeded_sample_of_a_large_pool():
    rng = np.random.RandomState(0)
    f_l, f_u = rng.randn(30, 4), rng.randn(500, 4)
    p = rng.dirichlet(np.ones(3), 530)
    sampler = AdversarialUncertaintySampler(max_steps=5, batch_size=16,
                                            random_state=0)
    rows = sampler.training_sample(500, 5, np.random.RandomState(1))
    assert rows.shape == (80,) and np.all(np.diff(rows) > 0)
    assert sampler.training_sample(80, 5, np.random.RandomState(1)) is None
    assert sampler.training_sample(500, None, np.random.RandomState(1)) \
        is None
    scores = sampler.fit_scores(f_l, p[:30], rng.rand(30), f_u, p[30:])
    assert scores.shape == (500,) and len(sampler.history_) == 1
    # the sample is drawn from the seed: the same seed, the same scores
    again = AdversarialUncertaintySampler(max_steps=5, batch_size=16,
                                          random_state=0)
    np.testing.assert_array_equal(
        again.fit_scores(f_l, p[:30], np.ones(30), f_u,
                         p[30:]),
        AdversarialUncertaintySampler(max_steps=5, batch_size=16,
                                      random_state=0).fit_scores(
            f_l, p[:30], np.ones(30), f_u, p[30:]))


@pytest.mark.slow
def test_default_batch_follows_the_scores_to_a_far_unlabeled_cluster():
    """The default's diversity step keeps the score's signal: most of the
    batch goes to the far unlabeled cluster where most of the top scores
    are, not an equal share to every candidate region."""
    rng = np.random.RandomState(0)
    dim, n_far, n = 16, 100, 100
    f_l = np.concatenate([rng.randn(100, dim) + 3, rng.randn(100, dim) - 3])
    f_u = np.concatenate([rng.randn(n_far, dim) + 12,
                          rng.randn(450, dim) + 3, rng.randn(450, dim) - 3])
    p = rng.dirichlet(np.ones(4), 1200)
    sampler = AdversarialUncertaintySampler(random_state=0, max_steps=400)
    scores = sampler.fit_scores(f_l, p[:200], rng.rand(200), f_u, p[200:])
    in_top = np.mean(np.argsort(-scores)[:n] < n_far)
    batch, _ = top_batch(LocalPool({"features": f_u}), lambda c: scores, n,
                         np.random.RandomState(0), "kmeans")
    assert in_top >= 0.7
    assert np.mean(batch < n_far) >= 0.8 * in_top, (in_top, batch)


class _GatherLog(LocalPool):
    """A real LocalPool that remembers which columns each gather asked for."""

    asked = []

    def gather(self, positions, columns):
        self.asked.append((None if positions is None else len(positions),
                           tuple(columns)))
        return super().gather(positions, columns)


def test_the_selector_sample_gathers_features_not_images(digits):
    # The cold start needs the pool's images, the selector never does: its
    # training sample must not copy them (at 100k pool images that copy
    # was 0.6 times the feature matrix, and the query's peak 2.2 times).
    from sklearn.neural_network import MLPClassifier

    X, y = digits
    X = X.reshape(len(X), -1)
    X_lab, y_lab, X_pool = X[:200], y[:200], X[200:1000]
    est = MLPClassifier(hidden_layer_sizes=(32,), max_iter=200,
                        random_state=0).fit(X_lab, y_lab)
    sampler = AdversarialUncertaintySampler(max_steps=3, batch_size=16,
                                            random_state=0)
    assert "samples" in sampler.pool_columns()  # the cold start reads them
    pool = _GatherLog.from_estimator(est, X_pool, sampler.pool_columns())
    from aalu_sk.pools import LabeledSet

    _GatherLog.asked = []
    sampler._select_from_pool(pool, LabeledSet(X_lab, y_lab, est), 10,
                              np.random.RandomState(0))
    assert sampler.phase_ == "aalu"
    sample = [cols for n, cols in _GatherLog.asked if n == 48]
    assert sample == [("features", "proba")]
