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

import copy
import functools
import importlib.metadata
import logging
import re
import sys
import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from ..pools import DegenerateScoresWarning, LabeledSet, LocalPool
from ..validation import check_labels, check_n_instances, check_samples
from .selection import DIVERSITY

__all__ = ["BaseQueryStrategy", "DegenerateScoresWarning",
           "modal_expects_scores", "check_labeled_set",
           "FittedSelectorScorer"]


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


class FittedSelectorScorer:
    """Base of pool scorers that run a strategy's fitted selector network.

    Pickled to another process (a Ray worker), the strategy scores on
    whatever device that process has (``device="auto"``); in this process
    it keeps its own.

    Parameters
    ----------
    strategy : BaseQueryStrategy
        With a fitted selector and a ``device`` parameter.
    """

    def __init__(self, strategy):
        self.strategy = strategy

    def __getstate__(self):
        strategy = copy.copy(self.strategy)
        strategy.device = "auto"
        return {"strategy": strategy}


def check_labeled_set(strategy, X_labeled, y_labeled, estimator,
                      pool_sample=None):
    """The checks every query makes of its labeled set and task model.

    One implementation for every pool: :meth:`BaseQueryStrategy.query`
    (with ``pool_sample``, the pool's first rows, whose shape the labeled
    samples must share) and :func:`aalu_sk.distributed.query`.

    Parameters
    ----------
    strategy : BaseQueryStrategy
    X_labeled : array-like of shape (n_labeled, ...) or None
    y_labeled : array-like of shape (n_labeled,) or None
    estimator : fitted classifier or None
    pool_sample : ndarray or None, default=None

    Returns
    -------
    labeled : LabeledSet
    """
    if X_labeled is None:
        like = np.zeros((0, 1, 1, 1), np.float32) if pool_sample is None \
            else pool_sample[:0]
        X_labeled = np.zeros(like.shape, like.dtype)
        y_labeled = np.zeros(0, np.int64)
    X_labeled = check_samples(X_labeled, "X_labeled",
                              allow_empty=not strategy.needs_labeled)
    if pool_sample is not None and X_labeled.shape[0] and \
            X_labeled.shape[1:] != pool_sample.shape[1:]:
        raise ValueError(
            f"X_pool samples have shape {pool_sample.shape[1:]} but "
            f"X_labeled samples have shape {X_labeled.shape[1:]}; they must "
            f"match.")
    y_labeled = check_labels(y_labeled, X_labeled.shape[0], "y_labeled",
                             integer=False)
    if strategy.needs_estimator and estimator is None:
        raise ValueError(
            f"{type(strategy).__name__} reads the task model: pass the "
            f"fitted estimator.")
    return LabeledSet(X_labeled, y_labeled, estimator)


def class_count(estimator, y):
    """How many classes there are: the estimator's ``num_classes``, else
    ``len(classes_)``, else the distinct labels of ``y`` (an int, or
    whatever ``num_classes`` holds)."""
    n = getattr(estimator, "num_classes", None)
    if n is None and getattr(estimator, "classes_", None) is not None:
        n = len(estimator.classes_)
    if n is None:
        n = np.unique(y).size
    return n


class BaseQueryStrategy(BaseEstimator):
    """Base class for query strategies (modAL callables with ``query``).

    A strategy is written once, against the pool protocol
    (:mod:`aalu_sk.pools`), and runs on every pool: subclasses implement

    - ``pool_columns()``: the pool columns it reads (keys of
      :data:`aalu_sk.pools.COLUMNS`), after checking its parameters;
    - ``_select_from_pool(pool, labeled, n_instances, rng)`` returning
      ``(positions, scores)``: distinct pool positions, and one score per
      pool row or None (:func:`~aalu_sk.pools.top_batch` returns both).
      ``labeled`` is a :class:`~aalu_sk.pools.LabeledSet`.

    :meth:`query` runs it on a :class:`~aalu_sk.pools.LocalPool` of
    ``X_pool``, :func:`aalu_sk.distributed.query` on a Ray
    :class:`~aalu_sk.distributed.ShardedPool`, :meth:`query_pool` on any
    pool. Subclasses set ``needs_labeled`` and ``needs_estimator`` to say
    what they read, and ``lower_scores_first`` when ``scores_`` holds the
    lowest scores for the samples worth labeling (adapters such as
    :mod:`aalu_sk.skactiveml` read it to turn scores into utilities).

    A subclass may instead override ``_select(X_labeled, y_labeled,
    X_pool, estimator, n_instances, rng)`` (the earlier protocol, arrays
    in, ``(indices, scores)`` out); it then runs on local arrays only.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,) or None
        Per-sample scores of the last query's pool (meaning depends on the
        strategy; see its docstring); None where the pool kept them on
        its workers.
    query_time_ : float
        Seconds the last query took, all included.
    """

    needs_labeled = True
    needs_estimator = True
    lower_scores_first = False

    def pool_columns(self):
        """The pool columns this strategy reads, given its parameters.

        Checks the parameters it depends on. The default reads none.

        Returns
        -------
        columns : tuple of str
        """
        return ()

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        """``(positions, scores or None)`` of a query on ``pool``."""
        raise NotImplementedError(
            f"{type(self).__name__} implements neither _select_from_pool "
            f"(pool, labeled, n_instances, rng) nor _select; see "
            f"BaseQueryStrategy.")

    def _select(self, X_labeled, y_labeled, X_pool, estimator, n_instances,
                rng):
        """The local path: the strategy on a LocalPool of ``X_pool``."""
        pool = LocalPool.from_estimator(estimator, X_pool,
                                        self.pool_columns())
        return self._select_from_pool(
            pool, LabeledSet(X_labeled, y_labeled, estimator), n_instances,
            rng)

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
            The unlabeled pool (may be memory-mapped).
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
        labeled = check_labeled_set(self, X_labeled, y_labeled, estimator,
                                    X_pool[:1])
        rng = check_random_state(self.random_state)
        return self._record(start, X_pool.shape[0], labeled, *self._select(
            labeled.X, labeled.y, X_pool, estimator, n_instances, rng))

    def query_pool(self, pool, X_labeled, y_labeled, estimator=None,
                   n_instances=1):
        """Choose ``n_instances`` rows of any pool (:mod:`aalu_sk.pools`).

        Parameters
        ----------
        pool : pool
            A :class:`~aalu_sk.pools.LocalPool`, a
            :class:`~aalu_sk.distributed.ShardedPool` or anything else
            answering the protocol, holding :meth:`pool_columns`.
        X_labeled, y_labeled, estimator, n_instances
            As for :meth:`query`.

        Returns
        -------
        positions : ndarray of shape (n_instances,), dtype int64
        """
        start = time.perf_counter()
        n_instances = check_n_instances(n_instances, pool.n_pool)
        labeled = check_labeled_set(self, X_labeled, y_labeled, estimator)
        missing = [c for c in self.pool_columns() if c not in pool.columns]
        if missing:
            raise ValueError(
                f"{type(self).__name__} reads the pool's "
                f"{list(self.pool_columns())}, but this "
                f"{type(pool).__name__} holds {list(pool.columns)}; build "
                f"the pool with these columns (shard_pool(..., "
                f"outputs={tuple(self.pool_columns())})).")
        rng = check_random_state(self.random_state)
        return self._record(start, pool.n_pool, labeled,
                            *self._select_from_pool(pool, labeled,
                                                    n_instances, rng))

    def _record(self, start, n_pool, labeled, indices, scores):
        indices = np.asarray(indices, dtype=np.int64)
        self.scores_ = None if scores is None else np.asarray(scores)
        self.query_time_ = time.perf_counter() - start
        log.debug("%s: picked %d of %d pool samples (%d labeled) in %.2fs",
                  type(self).__name__, indices.size, n_pool, labeled.n,
                  self.query_time_)
        return indices

    def reads_training_losses(self):
        """Whether a query reads losses recorded while the task model trained.

        If True, fit an :class:`~aalu_sk.ImageClassifier` with
        ``record_losses=True`` before querying; the experiment runner and
        the labeling app do so.
        """
        return False

    @staticmethod
    def _check_diversity(diversity):
        if diversity not in DIVERSITY:
            raise ValueError(
                f"diversity={diversity!r} is not a batch rule; use one of "
                f"{list(DIVERSITY)}.")

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
            return indices, (np.full(indices.shape, np.nan)
                             if self.scores_ is None
                             else self.scores_[indices])
        return indices

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_last_call", None)
        return state
