"""Geometric strategies: cover the pool in the task model's feature space."""

import numpy as np

from .._runtime import resolve_device
from ..validation import check_positive_ints
from .base import BaseQueryStrategy
from .selection import gradient_embedding_parts, tie_break_keys

__all__ = ["CoreSetSampler", "BADGESampler", "GradientNormScorer"]


class CoreSetSampler(BaseQueryStrategy):
    """Core-set sampling: k-center greedy on task-model features.

    Sener & Savarese (ICLR 2018). The labeled samples are the initial
    centers; each pick is the pool sample farthest from all centers so
    far. Memory grows with the pool size, never with its square.

    Parameters
    ----------
    batch_size : int, default=4096
        Rows per block of distance computations.
    device : str, default="auto"
        Where distances are computed.
    random_state : int, RandomState instance or None, default=None
        Breaks ties (and picks the first center when nothing is labeled).

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Distance of each pool sample to its nearest labeled sample, before
        the query. Picks are greedy, so they are not simply the largest.

    References
    ----------
    O. Sener and S. Savarese, "Active Learning for Convolutional Neural
    Networks: A Core-Set Approach", ICLR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from aalu_sk import CoreSetSampler
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0]]); y = [0, 1]
    >>> clf = KNeighborsClassifier(n_neighbors=1).fit(X, y)
    >>> pool = np.array([[0.0, 0.1], [9.0, 9.0], [9.1, 9.0]])
    >>> CoreSetSampler(random_state=0).query(X, y, pool, clf, n_instances=1)
    array([2])
    """

    needs_labeled = False

    def __init__(self, batch_size=4096, device="auto", random_state=None):
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state

    def pool_columns(self):
        check_positive_ints(self, ("batch_size",))
        return ("features",)

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        centers = labeled.outputs().features if labeled.n else None
        return pool.k_center_greedy(centers, n_instances, rng,
                                    batch_size=self.batch_size,
                                    device=resolve_device(self.device))


class BADGESampler(BaseQueryStrategy):
    """BADGE: k-means++ seeding on the last layer's gradient embeddings.

    For each pool sample, the gradient of the cross-entropy at the model's
    own predicted label with respect to the last linear layer is
    ``(p - onehot(argmax p)) h^T``, with ``h`` the penultimate features.
    Its norm is large where the model is uncertain; picking the batch by
    k-means++ seeding on these embeddings (first pick: the largest norm,
    then draws proportional to the squared distance to the picks so far)
    makes it diverse too. No hyperparameters. The embeddings are never
    built: distances come from ``p`` and ``h`` directly
    (:func:`~aalu_sk.strategies.selection.kmeans_pp_gradient_embeddings`).

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means++ draws.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Gradient-embedding norm of each pool sample. Picks are sampled, so
        they are not simply the largest.

    References
    ----------
    J. T. Ash, C. Zhang, A. Krishnamurthy, J. Langford and A. Agarwal,
    "Deep Batch Active Learning by Diverse, Uncertain Gradient Lower
    Bounds", ICLR 2020.

    Examples
    --------
    A scikit-learn model's features are its inputs, so the embeddings
    scale with them: the pool sample at the decision boundary (4.1) has
    the largest.

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from aalu_sk import BADGESampler
    >>> X = np.array([[1.0], [2.0], [6.0], [7.0]]); y = [0, 0, 1, 1]
    >>> clf = LogisticRegression().fit(X, y)
    >>> pool = np.array([[-1.0], [4.1], [9.0]])
    >>> BADGESampler(random_state=0).query(X, y, pool, clf, n_instances=1)
    array([1])
    """

    needs_labeled = False

    def __init__(self, random_state=None):
        self.random_state = random_state

    def pool_columns(self):
        return ("features", "proba")

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        scorer = GradientNormScorer()
        first = pool.top(scorer, tie_break_keys(pool.n_pool, rng), 1)[0][0]
        picked, _ = pool.kmeans_pp(first, n_instances, rng)
        return picked, pool.scores(scorer)


class GradientNormScorer:
    """A pool scorer: BADGE's gradient-embedding norms.

    Reads the ``proba`` and ``features`` columns.
    """

    def __call__(self, columns):
        return np.sqrt(gradient_embedding_parts(columns["proba"],
                                                 columns["features"])[2])
