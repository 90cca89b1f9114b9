"""Uniform random sampling, the reference every strategy must beat."""

from .base import BaseQueryStrategy
from .selection import top_k

__all__ = ["RandomSampler"]


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
    array([8, 7, 1])
    """

    needs_labeled = False
    needs_estimator = False

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        scores = rng.random_sample(pool.n_pool)
        return top_k(scores, n_instances, rng), scores
