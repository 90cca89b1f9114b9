"""Baselines pick what they should on pools where the answer is known."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from aalu_sk import CoreSetSampler, EntropySampler, RandomSampler, VAALSampler


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
