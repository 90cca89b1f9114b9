"""The paper's simple baselines: random, entropy and core-set sampling.

VAAL, the adversarial baseline, lives in :mod:`aalu_sk.vaal`.
"""

import torch

from ._runtime import resolve_device
from .base import BaseQueryStrategy
from .features import task_outputs
from .selection import entropy, k_center_greedy, top_k
from .validation import check_positive_ints

__all__ = ["RandomSampler", "EntropySampler", "CoreSetSampler"]


class RandomSampler(BaseQueryStrategy):
    """Uniform random sampling, the paper's reference baseline.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        The uniform random numbers the pool was ranked by.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk import RandomSampler
    >>> pool = np.zeros((10, 3))
    >>> RandomSampler(random_state=0).query(None, None, pool, n_instances=3)
    array([2, 8, 4])
    """

    needs_labeled = False
    needs_estimator = False

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _select(self, X_labeled, y_labeled, X_pool, estimator, n_instances,
                rng):
        scores = rng.random_sample(X_pool.shape[0])
        return top_k(scores, n_instances, rng), scores


class EntropySampler(BaseQueryStrategy):
    """Query the samples with the highest predictive entropy.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Breaks ties between equal entropies.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Entropy (nats) of the task model's prediction for each pool sample.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from aalu_sk import EntropySampler
    >>> X = np.array([[-3.0], [-2.0], [2.0], [3.0]]); y = [0, 0, 1, 1]
    >>> clf = LogisticRegression().fit(X, y)
    >>> pool = np.array([[-5.0], [0.1], [5.0]])
    >>> EntropySampler(random_state=0).query(X, y, pool, clf, n_instances=1)
    array([1])
    """

    needs_labeled = False

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _select(self, X_labeled, y_labeled, X_pool, estimator, n_instances,
                rng):
        scores = entropy(task_outputs(estimator, X_pool).proba)
        return top_k(scores, n_instances, rng), scores


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

    def _select(self, X_labeled, y_labeled, X_pool, estimator, n_instances,
                rng):
        check_positive_ints(self, ("batch_size",))
        device = resolve_device(self.device)
        pool = torch.as_tensor(task_outputs(estimator, X_pool).features,
                               device=device)
        if X_labeled.shape[0]:
            labeled = torch.as_tensor(
                task_outputs(estimator, X_labeled).features, device=device)
        else:
            labeled = pool[:0]
        return k_center_greedy(pool, labeled, n_instances, random_state=rng,
                               batch_size=self.batch_size)
