"""Low-budget strategies: TypiClust and ProbCover on a label-free embedding.

Both work from zero labels. They read an embedding of the labeled and
unlabeled samples together (the *view*), found in this order:

1. ``representation``, a scikit-learn transformer (``fit(X)``,
   ``transform(X)``), used as given when fitted, else a clone is fit on
   the labeled samples and the pool (kept as ``representation_``);
2. else the task model's own representation: an estimator with a
   non-None ``representation`` attribute and an ``embed(X)`` method;
3. else :class:`~aalu_sk.representation.PixelPCA` (standardised pixels,
   50 principal components), fit on the labeled samples and the pool.

The classes only build the view; the selection is in
:mod:`aalu_sk.strategies.coverage`.
"""

import logging
import numbers

import numpy as np

from ..representation import PixelPCA
from ..representation.base import fitted_representation
from .base import BaseQueryStrategy, class_count
from .coverage import (l2_normalize, probcover, purity_delta,
                       typiclust)

log = logging.getLogger("aalu_sk.strategies")

__all__ = ["TypiClustSampler", "ProbCoverSampler"]


class _LabelFreeSampler(BaseQueryStrategy):
    """Builds the embedding the low-budget strategies select on."""

    needs_labeled = False
    needs_estimator = False

    def pool_columns(self):
        return ("samples",)

    @staticmethod
    def _samples(pool):
        """The pool's samples as given (a Ray pool sends them here)."""
        return pool.gather(None, ["samples"])["samples"]

    def _embedding(self, X_labeled, X_pool, estimator, rng):
        X_all = np.concatenate([X_labeled, X_pool]) if X_labeled.shape[0] \
            else X_pool
        rep = self.representation
        if rep is not None:
            self.representation_ = fitted_representation(rep, X_all)
            emb = self.representation_.transform(X_all)
        elif getattr(estimator, "representation", None) is not None and \
                callable(getattr(estimator, "embed", None)):
            self.representation_ = estimator.representation
            emb = estimator.embed(X_all)
        else:
            self.representation_ = PixelPCA(
                random_state=rng.randint(2**31 - 1)).fit(X_all)
            emb = self.representation_.transform(X_all)
        emb = np.asarray(emb, dtype=np.float64).reshape(X_all.shape[0], -1)
        if not isinstance(self.normalize, (bool, np.bool_)):
            raise ValueError(f"normalize must be True or False; got "
                             f"{self.normalize!r}.")
        return l2_normalize(emb) if self.normalize else emb


class TypiClustSampler(_LabelFreeSampler):
    """TypiClust: the most typical sample of each large uncovered cluster.

    Clusters the embedding of the labeled samples and the pool into
    ``n_labeled + n_instances`` clusters (at most ``max_clusters``) with
    k-means; among the clusters that hold no labeled sample, largest
    first, picks the most typical pool sample: the one with the smallest
    mean distance to its ``k`` nearest neighbours in the cluster
    (:func:`~aalu_sk.strategies.coverage.typiclust`). Label-free, so it
    works from zero labels; it is meant for very low budgets (a few labels
    per class), where it beats uncertainty sampling, which overtakes it as
    the budget grows.

    Parameters
    ----------
    representation : transformer or None, default=None
        The embedding to cluster (see :mod:`aalu_sk.strategies.lowbudget`
        for the fallback order: the task model's ``embed``, then
        :class:`~aalu_sk.representation.PixelPCA`).
    k : int, default=20
        Neighbours of the typicality (the paper's 20; fewer in clusters
        of at most ``k`` pool samples).
    min_cluster_size : int, default=6
        Clusters with fewer samples are used only after all others (the
        authors' code keeps clusters of more than 5).
    max_clusters : int, default=500
        Cap on the number of clusters (the authors' 500); beyond it, picks
        cycle over the clusters.
    normalize : bool, default=True
        L2-normalise the embedding first, as the authors' code does.
    random_state : int, RandomState instance or None, default=None
        Seeds k-means, the fallback view and the tie-breaking.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Typicality of each pool sample within its cluster.
    representation_ : object
        The representation the last query embedded with.

    Notes
    -----
    Differences from scikit-activeml's ``TypiClust`` (1.0.1): it keeps
    every cluster (no minimum size), its ``k`` defaults to 5, and it does
    not normalise; on the same embedding, clusters and ``k`` both give the
    same picks (tested). The authors' code measures typicality with
    squared distances and ``k = min(20, size // 2)``; here the paper's
    formula (plain distances) and ``k = min(k, size - 1)``.

    References
    ----------
    G. Hacohen, A. Dekel and D. Weinshall, "Active Learning on a Budget:
    Opposite Strategies Suit High and Low Budgets", ICML 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk import TypiClustSampler
    >>> rng = np.random.RandomState(0)
    >>> pool = np.vstack([rng.randn(40, 2), rng.randn(20, 2) + 10])
    >>> picks = TypiClustSampler(random_state=0).query(None, None, pool,
    ...                                                n_instances=2)
    >>> sorted(int(i) // 40 for i in picks)  # one pick in each blob
    [0, 1]
    """

    def __init__(self, representation=None, k=20, min_cluster_size=6,
                 max_clusters=500, normalize=True, random_state=None):
        self.representation = representation
        self.k = k
        self.min_cluster_size = min_cluster_size
        self.max_clusters = max_clusters
        self.normalize = normalize
        self.random_state = random_state

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        X_labeled = labeled.X
        emb = self._embedding(X_labeled, self._samples(pool),
                              labeled.estimator, rng)
        n_lab = X_labeled.shape[0]
        picked, scores = typiclust(
            emb, np.arange(n_lab), n_instances, k=self.k,
            min_cluster_size=self.min_cluster_size,
            max_clusters=self.max_clusters, random_state=rng)
        return picked - n_lab, scores[n_lab:]


class ProbCoverSampler(_LabelFreeSampler):
    """ProbCover: cover the pool with balls of radius ``delta``, greedily.

    Around every embedded sample (labeled and pool) a ball of radius
    ``delta``; samples in the ball of a labeled sample count as covered.
    Each pick is the pool sample whose ball covers the most samples not
    yet covered (:func:`~aalu_sk.strategies.coverage.probcover`). Once all
    is covered, the remaining picks are a seeded random sample of the
    pool. Label-free, meant for very low budgets.

    Parameters
    ----------
    representation : transformer or None, default=None
        The embedding (see :mod:`aalu_sk.strategies.lowbudget` for the
        fallback order).
    delta : float or None, default=None
        Ball radius in the (normalised) embedding. None: the largest
        radius at which ``alpha`` of the balls are pure under k-means
        pseudo-labels (:func:`~aalu_sk.strategies.coverage.purity_delta`),
        the paper's rule, which can fail (MaxHerding, 2024): set it when
        you know better.
    alpha : float, default=0.95
        Purity the heuristic asks for, in (0, 1).
    n_classes : int or None, default=None
        Pseudo-classes of the heuristic. None: the estimator's
        ``num_classes`` or ``classes_``, else the number of distinct
        labels (at least 2 needed).
    normalize : bool, default=True
        L2-normalise the embedding first, as the paper does.
    random_state : int, RandomState instance or None, default=None
        Seeds the heuristic's k-means, the fallback view and ties.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        How many uncovered samples each pool sample's ball held before
        the query.
    delta_ : float
        The radius the last query used.
    coverage_ : float
        Fraction of the embedded samples (labeled and pool) within
        ``delta_`` of a labeled or picked sample after the last query
        (:func:`~aalu_sk.strategies.coverage.covered_fraction`): a low
        value with many labels says ``delta`` is too small for the budget.
    n_classes_ : int or None
        The heuristic's number of pseudo-classes in the last query (None
        when ``delta`` was given).
    representation_ : object
        The representation the last query embedded with.

    Notes
    -----
    The graph is sparse (one entry per pair within ``delta``), so memory
    grows with the ball sizes, not with the square of the pool. Balls are
    closed (``<= delta``) as in scikit-activeml's ``ProbCover``; with the
    same embedding and ``delta`` both pick the same samples up to ties
    (tested). scikit-activeml tries radii on a grid ``0.2, 0.4, ..., 2.0``
    and does not normalise; the heuristic here finds the largest radius
    exactly.

    References
    ----------
    O. Yehuda, A. Dekel, G. Hacohen and D. Weinshall, "Active Learning
    Through a Covering Lens", NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from aalu_sk import ProbCoverSampler
    >>> X_l = np.array([[0.0, 0.0]]); y_l = [0]
    >>> pool = np.array([[0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [5.0, 5.2]])
    >>> qs = ProbCoverSampler(representation=FunctionTransformer(), delta=0.15,
    ...                       normalize=False, random_state=0)
    >>> qs.query(X_l, y_l, pool, n_instances=1)  # covers (5, 5) and (5.1, 5)
    array([1])
    """

    def __init__(self, representation=None, delta=None, alpha=0.95,
                 n_classes=None, normalize=True, random_state=None):
        self.representation = representation
        self.delta = delta
        self.alpha = alpha
        self.n_classes = n_classes
        self.normalize = normalize
        self.random_state = random_state

    def _pseudo_classes(self, y_labeled, estimator):
        if self.n_classes is not None:
            return self.n_classes
        n = class_count(estimator, y_labeled)
        if not isinstance(n, numbers.Integral) or n < 2:
            raise ValueError(
                f"ProbCoverSampler with delta=None needs the number of "
                f"classes for its purity heuristic: set n_classes (got "
                f"None, and {np.unique(y_labeled).size} distinct labels).")
        return int(n)

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        X_labeled = labeled.X
        emb = self._embedding(X_labeled, self._samples(pool),
                              labeled.estimator, rng)
        delta, self.n_classes_ = self.delta, None
        if delta is None:
            self.n_classes_ = self._pseudo_classes(labeled.y,
                                                   labeled.estimator)
            delta = purity_delta(emb, self.n_classes_, alpha=self.alpha,
                                 random_state=rng)
        self.delta_ = delta
        n_lab = X_labeled.shape[0]
        picked, degrees, self.coverage_ = probcover(
            emb, np.arange(n_lab), n_instances, delta, random_state=rng,
            return_coverage=True)
        log.info("probcover: delta %.3g (%s): the %d labeled and %d "
                 "picked samples cover %.0f%% of the %d embedded", delta,
                 "given" if self.delta is not None else
                 f"purity heuristic, alpha={self.alpha}", n_lab,
                 len(picked), 100 * self.coverage_, emb.shape[0])
        return picked - n_lab, degrees[n_lab:]
