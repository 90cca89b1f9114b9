"""Uncertainty sampling: query what the task model is least sure of."""

from ..features import task_outputs
from .base import BaseQueryStrategy
from .selection import entropy, top_k

__all__ = ["EntropySampler"]


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
