"""The pool protocol: what a strategy asks of the unlabeled pool.

A query strategy is written once, against this protocol, and runs the
same on every pool that answers it: :class:`LocalPool` (arrays in this
process, memory-mapped or not) and the Ray
:class:`~aalu_sk.distributed.ShardedPool` (rows spread over shard actors).
The calls are few and coarse, so a pool spread over machines moves only
small things to the driver:

=====================================  =====================================
call                                   answers
=====================================  =====================================
``n_pool``, ``columns``                rows, and the per-row columns held
``gather(positions, columns)``         ``{column: rows at positions}``
``top(scorer, keys, n, columns=())``   the ``n`` best rows by a scorer,
                                       ties by ``keys``; their columns
                                       and scores
``scores(scorer)``                     every row's score, or None where the
                                       rows stay on workers
``k_center_greedy(labeled, n, rng)``   core-set picks (k-center greedy)
``kmeans_pp(first, n, rng)``           BADGE picks (k-means++ seeding on
                                       gradient embeddings)
``train(strategy, *args, rng=rng)``    ``strategy.fit_selector(*args,
                                       rng)`` where the pool trains
``timings``                            seconds of the pool's own passes
=====================================  =====================================

A *scorer* is a picklable callable: given a dict of column arrays for
some rows (all of the pool's columns), it returns one score per row
(larger: more worth labeling), or ``(scores, extra)`` where ``extra`` is
a dict of more per-row arrays (VAAL's latent means) that ``top`` can
return by name. ``keys`` are
:func:`~aalu_sk.strategies.selection.tie_break_keys`, drawn by the
strategy from its seeded generator, so every pool ranks exactly as
:func:`~aalu_sk.strategies.selection.top_k` does.

Columns are defined once, in :data:`COLUMNS`: a name, whether it reads
the estimator, and how it is computed from the estimator and a batch of
images. Adding a column is one entry there; every pool computes it.
"""

import time
import warnings
from typing import Callable, NamedTuple

import numpy as np
import torch

from .features import task_outputs
from .strategies.selection import (diversity_candidates, k_center_greedy,
                                   kmeans_pp_gradient_embeddings,
                                   pick_diverse, tie_break_keys)
from .validation import check_images

__all__ = ["Column", "COLUMNS", "compute_columns", "LabeledSet",
           "LocalPool", "top_batch"]


class DegenerateScoresWarning(UserWarning):
    """A query's scores were all equal: its batch is a random sample.

    (Also importable from :mod:`aalu_sk.strategies.base`.)
    """


class Column(NamedTuple):
    """How a pool column is computed from an estimator and images.

    Attributes
    ----------
    reads_estimator : bool
        Whether it needs the fitted task model.
    compute : callable
        ``compute(estimator, images, outputs, name) -> ndarray`` with one
        row per image; ``outputs`` is the batch's
        :func:`~aalu_sk.features.task_outputs` (computed once for all
        columns that read them, else None) and ``name`` names the images
        in error messages.
    reads_task_outputs : bool
        Whether ``compute`` reads ``outputs``.
    """

    reads_estimator: bool
    compute: Callable
    reads_task_outputs: bool = False


#: Every column a pool can hold, by name.
COLUMNS = {
    "features": Column(True, lambda est, X, out, name: out.features, True),
    "proba": Column(True, lambda est, X, out, name: out.proba, True),
    "image": Column(False, lambda est, X, out, name: check_images(X, name)),
    # The samples as given (images in any layout, or feature rows): what
    # a label-free view (aalu_sk.representation) is fit on.
    "samples": Column(False, lambda est, X, out, name: np.asarray(X)),
}


def _check_column_names(columns):
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown or isinstance(columns, str):
        raise ValueError(f"columns={columns!r}: give a tuple of "
                         f"{list(COLUMNS)}.")


def compute_columns(estimator, images, columns, name="X_pool"):
    """The named columns of a batch of images, in one task-model pass.

    Parameters
    ----------
    estimator : fitted classifier or None
        Needed when a column reads it.
    images : array-like of shape (n_samples, ...)
    columns : tuple of str
        Keys of :data:`COLUMNS`.
    name : str, default="X_pool"
        What error messages call the images.

    Returns
    -------
    columns : dict of ndarray
    """
    _check_column_names(columns)
    outputs = task_outputs(estimator, images) if any(
        COLUMNS[c].reads_task_outputs for c in columns) else None
    return {c: COLUMNS[c].compute(estimator, images, outputs, name)
            for c in columns}


class LabeledSet:
    """The labeled samples and the task model, as a strategy reads them.

    Parameters
    ----------
    X : ndarray of shape (n_labeled, ...)
    y : ndarray of shape (n_labeled,)
    estimator : fitted classifier or None
    """

    def __init__(self, X, y, estimator):
        self.X, self.y, self.estimator = X, y, estimator
        self._outputs = {}

    @property
    def n(self):
        """How many samples are labeled."""
        return int(self.X.shape[0])

    def outputs(self, loss=False):
        """The task model's outputs on the labeled set (computed once).

        ``loss=True`` adds the per-sample losses at ``y``
        (:func:`~aalu_sk.features.task_outputs`).
        """
        if loss not in self._outputs:
            self._outputs[loss] = task_outputs(
                self.estimator, self.X, self.y if loss else None)
        return self._outputs[loss]


class LocalPool:
    """The pool protocol over arrays in this process.

    Parameters
    ----------
    columns : dict of array-like
        Column name -> one row per pool sample; arrays may be
        memory-mapped (rows are read as needed).
    n_pool : int or None, default=None
        Rows; None: the length of the columns (needed without columns).

    Attributes
    ----------
    n_pool : int
    columns : tuple of str
    timings : dict
        ``task_forward``: seconds of the task model's pass
        (:meth:`from_estimator`).

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.pools import LocalPool
    >>> from aalu_sk.strategies.selection import tie_break_keys
    >>> pool = LocalPool({"proba": np.array([[.9, .1], [.5, .5], [.6, .4]])})
    >>> def closeness(cols):
    ...     return 1 - np.abs(cols["proba"][:, 0] - cols["proba"][:, 1])
    >>> pool.top(closeness, tie_break_keys(3, 0), 2)[0]
    array([1, 2])
    """

    def __init__(self, columns, n_pool=None):
        self._columns = dict(columns)
        lengths = {len(v) for v in self._columns.values()}
        if n_pool is None and len(lengths) != 1:
            raise ValueError(
                f"columns have {sorted(lengths)} rows; give columns of one "
                f"length (or n_pool without columns).")
        self.n_pool = int(lengths.pop() if n_pool is None else n_pool)
        if any(len(v) != self.n_pool for v in self._columns.values()):
            raise ValueError(f"every column must have n_pool={self.n_pool} "
                             f"rows.")
        self.columns = tuple(self._columns)
        self.timings = {}
        self._scored = None

    @classmethod
    def from_estimator(cls, estimator, X_pool, columns):
        """The pool of ``X_pool`` with ``columns``, in one task-model pass.

        Parameters
        ----------
        estimator : fitted classifier or None
        X_pool : array-like of shape (n_pool, ...)
            May be memory-mapped.
        columns : tuple of str
            Keys of :data:`COLUMNS` (only these are computed).

        Returns
        -------
        pool : LocalPool
        """
        start = time.perf_counter()
        pool = cls(compute_columns(estimator, X_pool, tuple(columns)),
                   n_pool=len(X_pool))
        if any(COLUMNS[c].reads_estimator for c in columns):
            pool.timings["task_forward"] = time.perf_counter() - start
        return pool

    def gather(self, positions, columns):
        """Columns of the rows at ``positions`` (None: every row, no copy)."""
        if positions is None:
            return {c: self._columns[c] for c in columns}
        positions = np.asarray(positions, dtype=np.int64)
        return {c: np.asarray(self._columns[c][positions]) for c in columns}

    def _score(self, scorer):
        if self._scored is None or self._scored[0] is not scorer:
            result = scorer(self._columns)
            scores, extra = result if isinstance(result, tuple) \
                else (result, {})
            scores = np.asarray(scores, dtype=np.float64)
            if np.isnan(scores).any():
                raise ValueError("scores contain NaN; cannot rank them.")
            self._scored = (scorer, scores, extra or {})
        return self._scored[1], self._scored[2]

    def scores(self, scorer):
        """Every row's score (float64), computed once per scorer."""
        return self._score(scorer)[0]

    def top(self, scorer, keys, n, columns=()):
        """The ``n`` best rows by ``scorer``, ties by ``keys``; best first.

        Returns
        -------
        positions : ndarray of shape (n,), dtype int64
        rows : dict of ndarray
            ``columns`` of those rows (pool columns or the scorer's
            extra), and ``"score"``: their scores.
        """
        scores, extra = self._score(scorer)
        positions = np.lexsort((np.asarray(keys), -scores))[:n] \
            .astype(np.int64)
        rows = {c: np.asarray((extra[c] if c in extra
                               else self._columns[c])[positions])
                for c in columns}
        rows["score"] = scores[positions]
        return positions, rows

    def k_center_greedy(self, labeled_features, n, rng, batch_size=4096,
                        device="cpu"):
        """Core-set picks over the ``features`` column.

        :func:`~aalu_sk.strategies.selection.k_center_greedy` with the
        labeled features (None: no labeled sample) as initial centers.

        Returns
        -------
        positions : ndarray of shape (n,), dtype int64
            In pick order.
        initial_distances : ndarray of shape (n_pool,)
        """
        pool = torch.as_tensor(np.asarray(self._columns["features"]),
                               device=device).reshape(self.n_pool, -1)
        labeled = pool[:0] if labeled_features is None else \
            torch.as_tensor(labeled_features, device=device)
        return k_center_greedy(pool, labeled, n, random_state=rng,
                               batch_size=batch_size)

    def kmeans_pp(self, first, n, rng, batch_size=65536):
        """BADGE picks: k-means++ on gradient embeddings from ``first``.

        :func:`~aalu_sk.strategies.selection.kmeans_pp_gradient_embeddings`
        over the ``proba`` and ``features`` columns.

        Returns
        -------
        positions : ndarray of shape (n,), dtype int64
            In pick order, ``first`` first.
        norms : ndarray of shape (n_pool,)
        """
        return kmeans_pp_gradient_embeddings(
            self._columns["proba"], self._columns["features"], n,
            random_state=rng, batch_size=batch_size, first=first)

    def train(self, strategy, *args, rng):
        """``strategy.fit_selector(*args, rng)``, here."""
        strategy.fit_selector(*args, rng)


def top_batch(pool, scorer, n, rng, diversity=None, column="features"):
    """A score-based strategy's batch from any pool.

    ``diversity=None`` takes the top ``n``
    (:func:`~aalu_sk.strategies.selection.top_k`); ``"kmeans"`` clusters
    the best candidates' ``column``
    (:func:`~aalu_sk.strategies.selection.diverse_top_k`). The draws from
    ``rng`` are those of the local functions, in the same order, so every
    pool gives the same batch.

    Scores that are all equal carry no preference (a selector that
    saturated or learned nothing): the batch is then a seeded random
    sample, which ties already give, and a
    :class:`DegenerateScoresWarning` says so (where the pool can tell).

    Parameters
    ----------
    pool : pool
        Anything answering the protocol (:mod:`aalu_sk.pools`).
    scorer : callable
        See :mod:`aalu_sk.pools`; larger scores are picked first.
    n : int
    rng : RandomState instance
    diversity : {None, "kmeans"}, default=None
    column : str, default="features"
        What ``"kmeans"`` clusters: a pool column or an extra output of
        the scorer.

    Returns
    -------
    positions : ndarray of shape (n,), dtype int64
    scores : ndarray of shape (n_pool,) or None
        Every row's score where the pool holds them (:meth:`LocalPool.scores`).
    """
    scores = pool.scores(scorer)
    if scores is not None and scores.size > n and np.ptp(scores) <= \
            1e-12 * max(1.0, np.abs(scores).max()):
        warnings.warn(
            f"all {scores.size} scores are equal ({scores[0]:.6g}): the "
            f"strategy has no preference, so the batch is a random "
            f"sample of the pool; check the task model's outputs and "
            f"the selector's training.", DegenerateScoresWarning,
            stacklevel=3)
    keys = tie_break_keys(pool.n_pool, rng)
    if diversity is None:
        return pool.top(scorer, keys, n)[0], scores
    m = diversity_candidates(n, pool.n_pool)
    positions, rows = pool.top(scorer, keys, m,
                               columns=[column] if m > n else [])
    return pick_diverse(positions, rows.get(column), n, rng,
                        candidate_scores=rows["score"]), scores
