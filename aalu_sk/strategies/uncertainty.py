"""Uncertainty sampling: query what the task model is least sure of."""

from ..pools import top_batch
from .base import BaseQueryStrategy
from .selection import entropy, margin

__all__ = ["EntropySampler", "MarginSampler", "ProbaScorer"]


class _UncertaintySampler(BaseQueryStrategy):
    """Scores every pool sample from the task model's probabilities."""

    needs_labeled = False

    def __init__(self, diversity=None, random_state=None):
        self.diversity = diversity
        self.random_state = random_state

    def pool_columns(self):
        self._check_diversity(self.diversity)
        return ("proba",) + (("features",) if self.diversity else ())

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        return top_batch(pool, ProbaScorer(self._uncertainty), n_instances,
                         rng, self.diversity, "features")


class ProbaScorer:
    """A pool scorer: an uncertainty function of the ``proba`` column.

    Parameters
    ----------
    uncertainty : callable
        ``uncertainty(proba) -> scores``, e.g.
        :func:`~aalu_sk.strategies.selection.entropy` (module-level, so
        the scorer pickles to Ray workers).
    """

    def __init__(self, uncertainty):
        self.uncertainty = uncertainty

    def __call__(self, columns):
        return self.uncertainty(columns["proba"])


class EntropySampler(_UncertaintySampler):
    """Query the samples with the highest predictive entropy.

    Parameters
    ----------
    diversity : {None, "kmeans"}, default=None
        How the batch is formed from the scores: None takes the top
        ``n_instances``; ``"kmeans"`` spreads the batch over the task
        model's feature space (:func:`~aalu_sk.strategies.selection.diverse_top_k`).
    random_state : int, RandomState instance or None, default=None
        Breaks ties between equal entropies and seeds the diversity step.

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

    _uncertainty = staticmethod(entropy)


class MarginSampler(_UncertaintySampler):
    """Query the samples whose two most likely classes are closest.

    The score is ``1 - (p_(1) - p_(2))``, one minus the gap between the
    largest and second-largest predicted probabilities; the largest
    scores are queried. Often as strong as entropy, and it ignores the
    tail of unlikely classes that inflates entropy with many classes.

    Parameters
    ----------
    diversity : {None, "kmeans"}, default=None
        How the batch is formed from the scores: None takes the top
        ``n_instances``; ``"kmeans"`` spreads the batch over the task
        model's feature space (:func:`~aalu_sk.strategies.selection.diverse_top_k`).
    random_state : int, RandomState instance or None, default=None
        Breaks ties and seeds the diversity step.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        ``1 - margin`` of each pool sample, in [0, 1].

    References
    ----------
    T. Scheffer, C. Decomain and S. Wrobel, "Active Hidden Markov Models
    for Information Extraction", IDA 2001.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from aalu_sk import MarginSampler
    >>> X = np.array([[-3.0], [-2.0], [2.0], [3.0]]); y = [0, 0, 1, 1]
    >>> clf = LogisticRegression().fit(X, y)
    >>> pool = np.array([[-5.0], [0.2], [5.0]])
    >>> MarginSampler(random_state=0).query(X, y, pool, clf, n_instances=1)
    array([1])
    """

    _uncertainty = staticmethod(margin)
