"""Baselines pick what they should on pools where the answer is known."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from aalu_sk import (BADGESampler, CoreSetSampler, EntropySampler,
                     MarginSampler, RandomSampler, VAALSampler)


class FeatureModel:
    """A fitted stand-in task model that returns given features/probas."""

    def __init__(self, features, proba):
        self.features, self.proba = features, proba
        self.input_shape_ = (1,)

    def forward_pass(self, X, y=None):
        from aalu_sk.classifier import TaskOutputs

        rows = X[:, 0].astype(int)
        return TaskOutputs(self.features[rows], self.proba[rows], None)


def test_vaal_picks_the_unfamiliar_images():
    """Labeled and most pool images are dark noise; 8 pool images are bright.

    VAAL's discriminator says labeled -> 1, so the bright ones get the
    lowest scores and must be queried first.
    """
    rng = np.random.RandomState(0)
    X_l = (rng.rand(64, 1, 8, 8) * 0.3).astype(np.float32)
    X_u = (rng.rand(96, 1, 8, 8) * 0.3).astype(np.float32)
    X_u[:8] += 0.7
    vaal = VAALSampler(epochs=60, batch_size=32, channels=(8, 16), latent_dim=8,
                       hidden_dim=64, random_state=0)
    idx = vaal.query(X_l, np.zeros(64, int), X_u, n_instances=8)
    assert np.mean(idx < 8) >= 0.75, idx
    assert vaal.scores_[:8].mean() < vaal.scores_[8:].mean()
    # lowest scores first
    np.testing.assert_array_equal(np.sort(vaal.scores_)[:8],
                                  vaal.scores_[idx])


def test_coreset_covers_the_far_cluster_first():
    rng = np.random.RandomState(0)
    feats = rng.randn(200, 4)
    feats[150:160] += 20.0  # a far cluster in the pool
    proba = np.full((200, 3), 1 / 3)
    model = FeatureModel(feats, proba)
    ids = np.arange(200, dtype=np.float32)[:, None]
    X_l, X_u = ids[:50], ids[50:]
    idx = CoreSetSampler(random_state=0).query(
        X_l, np.zeros(50, int), X_u, model, n_instances=3)
    # the first pick is in the far cluster (pool positions 100..109)
    assert 100 <= idx[0] < 110
    sampler = CoreSetSampler(random_state=0)
    sampler.query(X_l, np.zeros(50, int), X_u, model, n_instances=1)
    assert sampler.scores_[100:110].min() > sampler.scores_[:100].max()


def test_entropy_picks_the_most_uncertain():
    X = np.array([[-3.0], [-2.0], [2.0], [3.0]])
    clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    pool = np.array([[-6.0], [0.05], [6.0], [1.0]])
    idx = EntropySampler(random_state=0).query(X, [0, 0, 1, 1], pool, clf,
                                                n_instances=2)
    assert idx.tolist() == [1, 3]


def test_random_is_uniform_and_seeded():
    pool = np.zeros((20, 2))
    counts = np.zeros(20)
    for seed in range(400):
        counts[RandomSampler(random_state=seed).query(None, None, pool,
                                                      n_instances=5)] += 1
    assert counts.min() > 50 and counts.max() < 150  # expected 100 each
    a = RandomSampler(random_state=3).query(None, None, pool, n_instances=5)
    b = RandomSampler(random_state=3).query(None, None, pool, n_instances=5)
    assert a.tolist() == b.tolist()


def test_random_and_entropy_work_without_labeled_data():
    pool = np.random.RandomState(0).randn(10, 2)
    clf = LogisticRegression().fit(pool, np.arange(10) % 2)
    assert len(EntropySampler().query(None, None, pool, clf, 3)) == 3
    assert len(CoreSetSampler(random_state=0).query(None, None, pool, clf,
                                                    3)) == 3


@pytest.mark.parametrize("sampler", [VAALSampler(epochs=1)])
def test_vaal_needs_images(sampler):
    X = np.random.RandomState(0).rand(10, 5)
    with pytest.raises(ValueError, match="images"):
        sampler.query(X, np.zeros(10, int), X, n_instances=1)


def test_margin_picks_the_closest_call_not_the_flattest_tail():
    """Entropy and margin disagree: the tail of unlikely classes.

    Sample 0 is split between two classes (margin 0); sample 1 is sure of
    its class at 0.5 with the rest spread thinly (high entropy, margin
    large). Margin queries 0, entropy queries 1.
    """
    proba = np.array([[0.48, 0.48, 0.01, 0.01, 0.01, 0.01],
                      [0.5, 0.1, 0.1, 0.1, 0.1, 0.1],
                      [0.9, 0.02, 0.02, 0.02, 0.02, 0.02]])
    model = FeatureModel(np.eye(3), proba)
    X = np.arange(3, dtype=np.float32)[:, None]
    assert MarginSampler(random_state=0).query(
        None, None, X, model, 1).tolist() == [0]
    assert EntropySampler(random_state=0).query(
        None, None, X, model, 1).tolist() == [1]


def test_badge_first_pick_is_the_largest_gradient_and_batches_spread():
    rng = np.random.RandomState(0)
    n = 120
    feats = np.concatenate([rng.randn(60, 4) * 0.05 + 3,
                            rng.randn(60, 4) * 0.05 - 3])
    proba = np.tile([[0.98, 0.01, 0.01]], (n, 1))
    # uncertain samples in both clusters; the most uncertain in the first
    proba[:20] = [0.34, 0.33, 0.33]
    proba[60:80] = [0.45, 0.45, 0.10]
    proba[0] = [0.34, 0.33, 0.33]
    feats[0] *= 1.5  # largest ||h|| among the most uncertain
    model = FeatureModel(feats, proba)
    X = np.arange(n, dtype=np.float32)[:, None]
    sampler = BADGESampler(random_state=0)
    idx = sampler.query(None, None, X, model, 4)
    assert idx[0] == 0
    assert sampler.scores_.argmax() == 0
    # k-means++ reaches the second uncertain cluster within the batch
    assert np.any((idx >= 60) & (idx < 80))


def test_diversity_spreads_an_uncertainty_batch_over_clusters():
    """Entropy's top 10 scores sit in one tight cluster, the next 50 in another.

    Plain top-k takes all 6 from the first cluster; with
    diversity="kmeans" the batch (from the 24 best) covers both.
    """
    rng = np.random.RandomState(0)
    feats = np.concatenate([rng.randn(10, 3) * 0.01,
                            rng.randn(50, 3) * 0.01 + 5,
                            rng.randn(40, 3) * 0.01 - 5])
    ent = np.concatenate([np.linspace(0.50, 0.45, 10),
                          np.linspace(0.44, 0.40, 50),
                          np.full(40, 0.02)])
    proba = np.stack([ent, 1 - ent], axis=1)  # binary: entropy ranks by ent
    model = FeatureModel(feats, proba)
    X = np.arange(100, dtype=np.float32)[:, None]
    for cls in (EntropySampler, MarginSampler):
        plain = cls(random_state=0).query(None, None, X, model, 6)
        assert (plain < 10).all()
        spread = cls(diversity="kmeans", random_state=0).query(
            None, None, X, model, 6)
        assert np.any(spread < 10) and np.any((spread >= 10) & (spread < 60))
        assert not np.any(spread >= 60)  # never below the candidates


def test_vaal_diversity_and_step_budget():
    rng = np.random.RandomState(0)
    X_l, X_u = rng.rand(20, 1, 8, 8), rng.rand(300, 1, 8, 8)
    kw = dict(channels=(4, 8), hidden_dim=16, batch_size=10, random_state=0)
    capped = VAALSampler(epochs=5, max_steps=7, **kw)
    capped.query(X_l, np.zeros(20, int), X_u, n_instances=5)
    # 30 steps per epoch (300 pool / 10), capped at 7: one partial epoch
    assert len(capped.history_) == 1
    spread = VAALSampler(epochs=1, diversity="kmeans", **kw)
    idx = spread.query(X_l, np.zeros(20, int), X_u, n_instances=5)
    plain = VAALSampler(epochs=1, **kw)
    plain_idx = plain.query(X_l, np.zeros(20, int), X_u, n_instances=5)
    np.testing.assert_array_equal(spread.scores_, plain.scores_)
    # the diverse batch comes from the 20 lowest outputs, but is not
    # simply the 5 lowest
    lowest20 = set(np.argsort(plain.scores_)[:20].tolist())
    assert set(idx.tolist()) <= lowest20
    assert set(idx.tolist()) != set(plain_idx.tolist())
    with pytest.raises(ValueError, match="diversity"):
        VAALSampler(epochs=1, diversity="dpp", **kw).query(
            X_l, np.zeros(20, int), X_u, n_instances=5)


def test_equal_scores_warn_and_give_a_seeded_random_batch():
    """A model with no preference (constant probabilities) makes every
    entropy equal: the query says so and its batch is a seeded random
    sample, not the start of the pool; informative scores do not warn."""
    import warnings

    from sklearn.dummy import DummyClassifier

    from aalu_sk.strategies import DegenerateScoresWarning

    rng = np.random.RandomState(0)
    X, y = rng.rand(200, 5), np.arange(200) % 3
    flat = DummyClassifier(strategy="prior").fit(X, y)
    batches = []
    for seed in (0, 0, 1):
        with pytest.warns(DegenerateScoresWarning, match="all 200 scores"):
            batches.append(EntropySampler(random_state=seed)
                           .query(X, y, X, flat, 10))
    assert batches[0].tolist() == batches[1].tolist()
    assert batches[0].tolist() != batches[2].tolist()
    assert batches[0].tolist() != list(range(10))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateScoresWarning)
        EntropySampler(random_state=0).query(
            X, y, X, LogisticRegression().fit(X, y), 10)
