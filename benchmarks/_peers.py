"""scikit-activeml's TypiClust and ProbCover as benchmark strategies.

The peers the low-budget rows are compared with, run on the *same* view
as ours (the estimator's representation, else PixelPCA of the pool, L2
normalised): only the selection rule is scikit-activeml's, with its own
defaults. Benchmark-only; registered by ``bench_label_efficiency.py``.
"""

import warnings

import numpy as np

from aalu_sk.strategies.lowbudget import ProbCoverSampler, TypiClustSampler


def _skactiveml_query(cls, strategy, pool, labeled, n, rng):
    emb = strategy._embedding(labeled.X, strategy._samples(pool),
                              labeled.estimator, rng)
    y = np.full(emb.shape[0], np.nan)
    y[:labeled.n] = labeled.y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its delta search warns as it goes
        picked = cls(random_state=int(rng.randint(2**31 - 1))).query(
            emb, y, batch_size=n)
    return np.asarray(picked, dtype=np.int64) - labeled.n, None


class SkactivemlTypiClust(TypiClustSampler):
    """scikit-activeml 1.0's ``TypiClust`` (k=5, KMeans) on our view."""

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        from skactiveml.pool import TypiClust

        return _skactiveml_query(TypiClust, self, pool, labeled, n_instances,
                                 rng)


class SkactivemlProbCover(ProbCoverSampler):
    """scikit-activeml 1.0's ``ProbCover`` (its delta search) on our view."""

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        from skactiveml.pool import ProbCover

        return _skactiveml_query(ProbCover, self, pool, labeled, n_instances,
                                 rng)


#: Benchmark names of the peers.
PEERS = {"skal_typiclust": (SkactivemlTypiClust, {}),
         "skal_probcover": (SkactivemlProbCover, {})}
