"""The shared shell of every query strategy: checks and the modAL adapter.

A strategy is a scikit-learn estimator with two entry points:

- ``query(X_labeled, y_labeled, X_pool, estimator, n_instances)``: the
  modAL-free method that does the work and returns pool indices;
- ``strategy(learner, X_pool, n_instances=1)``: the modAL query-strategy
  protocol, a thin adapter that reads the labeled set from the learner.

modAL's query protocol changed between releases: 0.4.1 (what pip picks
beside skorch>=1.0) expects indices; 0.4.2 unpacks ``(indices, scores)``
and, when the strategy raises, calls it a second time inside its ``except``
block. :meth:`BaseQueryStrategy.__call__` returns the form the installed
modAL expects, and answers such a retry from the first call's outcome, so a
query never trains twice and an error surfaces once.
"""

import functools
import importlib.metadata
import logging
import re
import sys
import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from ..validation import check_labels, check_n_instances, check_samples
from .selection import DIVERSITY, diverse_top_k, top_k

__all__ = ["BaseQueryStrategy", "modal_expects_scores"]

log = logging.getLogger("aalu_sk.strategies")


@functools.lru_cache(maxsize=None)
def modal_expects_scores():
    """Whether the installed modAL's ``query`` unpacks ``(indices, scores)``.

    True from modAL-python 0.4.2 on; False for 0.4.1 and older, or when
    modAL is not installed.
    """
    try:
        version = importlib.metadata.version("modAL-python")
    except importlib.metadata.PackageNotFoundError:
        return False
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]]
    return tuple(parts + [0] * (3 - len(parts))) >= (0, 4, 2)


def _learner_data(learner, strategy_name):
    missing = [a for a in ("X_training", "y_training", "estimator")
               if not hasattr(learner, a)]
    if missing:
        raise TypeError(
            f"{strategy_name} needs a modAL ActiveLearner (with X_training, "
            f"y_training and estimator); got a {type(learner).__name__} "
            f"without {', '.join(missing)}. For a Committee, call "
            f"strategy.query(X_labeled, y_labeled, X_pool, estimator, "
            f"n_instances) yourself.")
    return learner.X_training, learner.y_training, learner.estimator


class BaseQueryStrategy(BaseEstimator):
    """Base class for query strategies (modAL callables with ``query``).

    Subclasses implement ``_select(X_labeled, y_labeled, X_pool, estimator,
    n_instances, rng)`` returning ``(indices, scores)``, where ``scores``
    has one value per pool sample. They set ``needs_labeled`` and
    ``needs_estimator`` to say what they read, and ``lower_scores_first``
    when they query the lowest scores rather than the highest (adapters
    such as :mod:`aalu_sk.skactiveml` read it to turn scores into
    utilities, larger = more worth labeling).

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Per-sample scores of the last query's pool (meaning depends on the
        strategy; see its docstring).
    query_time_ : float
        Seconds the last query took, all included.
    """

    needs_labeled = True
    needs_estimator = True
    lower_scores_first = False

    def query(self, X_labeled, y_labeled, X_pool, estimator=None,
              n_instances=1):
        """Choose ``n_instances`` samples of ``X_pool`` to label next.

        Parameters
        ----------
        X_labeled : array-like of shape (n_labeled, ...)
            The labeled samples (may be empty for strategies that do not
            read them).
        y_labeled : array-like of shape (n_labeled,)
            Their integer labels.
        X_pool : array-like of shape (n_pool, ...)
            The unlabeled pool.
        estimator : fitted classifier or None, default=None
            The task model (an :class:`~aalu_sk.ImageClassifier` or a
            scikit-learn classifier with ``predict_proba``).
        n_instances : int, default=1
            How many samples to choose.

        Returns
        -------
        indices : ndarray of shape (n_instances,), dtype int64
            Distinct positions in ``X_pool``, most informative first.
        """
        start = time.perf_counter()
        X_pool = check_samples(X_pool, "X_pool")
        n_instances = check_n_instances(n_instances, X_pool.shape[0])
        if X_labeled is None:
            X_labeled = np.zeros((0,) + X_pool.shape[1:], X_pool.dtype)
            y_labeled = np.zeros(0, np.int64)
        X_labeled = check_samples(X_labeled, "X_labeled",
                                  allow_empty=not self.needs_labeled)
        if X_labeled.shape[0] and X_labeled.shape[1:] != X_pool.shape[1:]:
            raise ValueError(
                f"X_pool samples have shape {X_pool.shape[1:]} but X_labeled "
                f"samples have shape {X_labeled.shape[1:]}; they must match.")
        y_labeled = check_labels(y_labeled, X_labeled.shape[0], "y_labeled",
                                 integer=False)
        if self.needs_estimator and estimator is None:
            raise ValueError(
                f"{type(self).__name__} reads the task model: pass the "
                f"fitted estimator.")
        rng = check_random_state(self.random_state)
        indices, scores = self._select(X_labeled, y_labeled, X_pool,
                                       estimator, n_instances, rng)
        indices = np.asarray(indices, dtype=np.int64)
        self.scores_ = np.asarray(scores)
        self.query_time_ = time.perf_counter() - start
        log.debug("%s: picked %d of %d pool samples (%d labeled) in %.2fs",
                  type(self).__name__, indices.size, X_pool.shape[0],
                  X_labeled.shape[0], self.query_time_)
        return indices

    def reads_training_losses(self):
        """Whether a query reads losses recorded while the task model trained.

        If True, fit an :class:`~aalu_sk.ImageClassifier` with
        ``record_losses=True`` before querying; the experiment runner and
        the labeling app do so.
        """
        return False

    # -- batch formation for score-based strategies -------------------------
    @staticmethod
    def _check_diversity(diversity):
        if diversity not in DIVERSITY:
            raise ValueError(
                f"diversity={diversity!r} is not a batch rule; use one of "
                f"{list(DIVERSITY)}.")

    @staticmethod
    def _pick(scores, features, n_instances, rng, diversity):
        """The batch from per-sample scores (larger: query) as ``diversity`` says."""
        if diversity is None:
            return top_k(scores, n_instances, rng)
        return diverse_top_k(scores, features, n_instances, random_state=rng)

    def __call__(self, learner, X_pool, n_instances=1, **kwargs):
        """modAL query-strategy protocol: ``strategy(learner, X_pool, n)``.

        Reads the labeled set from ``learner.X_training`` /
        ``learner.y_training`` and the task model from
        ``learner.estimator``. Returns indices (modAL 0.4.1) or
        ``(indices, scores)`` (modAL 0.4.2 and later).
        """
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unexpected query arguments "
                f"{sorted(kwargs)}; it takes only n_instances.")
        key = (id(learner), id(X_pool), n_instances)
        handling = sys.exc_info()[1]
        last = getattr(self, "_last_call", None)
        if handling is not None and last is not None and last[0] == key:
            # modAL 0.4.2 retries inside its except block: answer from the
            # first call instead of running the selector a second time.
            outcome = last[1]
            if outcome is handling:
                raise outcome
            if not isinstance(outcome, BaseException):
                return outcome
        try:
            X_labeled, y_labeled, estimator = _learner_data(
                learner, type(self).__name__)
            indices = self.query(X_labeled, y_labeled, X_pool, estimator,
                                 n_instances)
        except Exception as exc:
            self._last_call = (key, exc)
            raise
        self._last_call = (key, indices)
        if modal_expects_scores():
            return indices, self.scores_[indices]
        return indices

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_last_call", None)
        return state
