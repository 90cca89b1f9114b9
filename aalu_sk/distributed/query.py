"""One active-learning query over a pool held by a Ray cluster.

:func:`query` is the distributed counterpart of every strategy's
``query(X_labeled, y_labeled, X_pool, estimator, n_instances)``: the pool
is a Ray Dataset with columns ``id`` and ``image``, and the answer is the
chosen ``id``\\ s. Nothing here knows a strategy: the pool is sharded with
the columns the strategy declares (``pool_columns()``), and the strategy
selects against the :class:`~.pool.ShardedPool` with the very code it runs
locally (``_select_from_pool``, :mod:`aalu_sk.pools`). Work is placed as
follows:

=============================  ==========================================
step                           where
=============================  ==========================================
task model over the pool       Ray Data ``map_batches`` actors (one model
                               per actor, GPUs if given)
task model over the labeled    driver (the labeled set is small)
selector training (AALU,       driver, or one Ray task with
VAAL)                          ``selector_resources`` (e.g. a GPU), on a
                               sample of the pool under a step budget
scoring the pool               shard actors, each on its own rows
top-k, diversity candidates    shard actors' best rows, merged exactly
                               on the driver
k-center greedy, k-means++     shard actors keep per-row distances; the
                               driver broadcasts each new center
=============================  ==========================================

The random draws are the local path's, in the same order, from the
strategy's ``random_state`` (by construction: it is the same code), so
the same data and seed give the same ids
as ``strategy.query`` on the images in the dataset's order, up to the
last bits of the task model's outputs: batch composition moves them
(blocks holding multiples of the estimator's ``batch_size`` avoid that),
and so may another process's kernels. Rows whose scores are within about
1e-6 of each other may then trade places.
"""

import time

import numpy as np

from ..strategies.base import BaseQueryStrategy, check_labeled_set
from ..validation import check_n_instances
from ._ray import import_ray
from .pool import ShardedPool, pool_dataset, shard_pool

__all__ = ["query", "ray_query"]


def _check_strategy(strategy):
    if not isinstance(strategy, BaseQueryStrategy):
        raise TypeError(
            f"strategy must be one of the toolkit's strategies or a "
            f"BaseQueryStrategy subclass written against the pool protocol "
            f"(aalu_sk.pools); got a {type(strategy).__name__}.")
    if type(strategy)._select is not BaseQueryStrategy._select:
        raise TypeError(
            f"{type(strategy).__name__} overrides _select, which reads "
            f"arrays in this process: it runs only locally. Implement "
            f"pool_columns() and _select_from_pool(pool, labeled, "
            f"n_instances, rng) instead (aalu_sk.pools) to run it on Ray.")


def _check_pool(ray, pool):
    if isinstance(pool, ShardedPool):
        if not pool.shards:
            raise ValueError("pool is a closed ShardedPool.")
        return
    if not isinstance(pool, ray.data.Dataset):
        raise TypeError(f"pool must be a ray.data.Dataset with columns 'id' "
                        f"and 'image' (or a ShardedPool); got a "
                        f"{type(pool).__name__}.")
    columns = pool.columns() or []
    if not columns and pool.count() == 0:
        raise ValueError("pool is empty: it holds 0 samples.")
    missing = [c for c in ("id", "image") if c not in columns]
    if missing:
        raise ValueError(f"pool lacks the column(s) {missing}; it must have "
                         f"'id' and 'image' (one image array per row); its "
                         f"columns are {columns}.")


def query(strategy, estimator, X_labeled, y_labeled, pool, n_instances, *,
          num_workers=None, batch_size=None, num_gpus=0,
          selector_resources=None):
    """Choose ``n_instances`` rows of a Ray Dataset pool to label next.

    Parameters
    ----------
    strategy : BaseQueryStrategy
        Any strategy written against the pool protocol (every one of the
        toolkit's, and subclasses implementing ``pool_columns`` and
        ``_select_from_pool``), with its parameters and ``random_state``;
        after the query it holds what the local path sets (AALU's
        ``config_``, the selectors' fitted networks, ``query_time_``),
        but ``scores_`` only where the strategy computes them on the
        driver (None where the scores stay on the shards).
    estimator : fitted classifier or None
        The task model, as for the local ``query``; it is pickled to every
        worker of the pool pass.
    X_labeled : array-like of shape (n_labeled, ...) or None
        The labeled images (on the driver: labeled sets are small).
    y_labeled : array-like of shape (n_labeled,) or None
    pool : ray.data.Dataset or ShardedPool
        Columns ``id`` (any type) and ``image`` (an image array per row,
        in a layout :func:`~aalu_sk.validation.check_images` accepts). Its
        row order is the pool order of the local path. A
        :class:`ShardedPool` (:func:`shard_pool`) skips the task model's
        pass: several strategies can then query one pass of the same
        estimator; it stays open.
    n_instances : int
    num_workers : int or None, default=None
        Actors of the task-model pass and shard actors; None: one per CPU
        of the cluster. This and the next two parameters are
        :func:`shard_pool`'s, unused for a :class:`ShardedPool`.
    batch_size : int or None, default=None
        Rows per ``map_batches`` batch (None: 8 x the estimator's
        ``batch_size``).
    num_gpus : float, default=0
        GPUs per actor of the task-model pass.
    selector_resources : dict or None, default=None
        Train the AALU/VAAL selector in a Ray task with these resources
        (e.g. ``{"num_gpus": 1}``) instead of on the driver.

    Returns
    -------
    ids : ndarray of shape (n_instances,)
        The chosen rows' ``id`` values, most informative first (in pick
        order for core-set and BADGE).

    Raises
    ------
    ImportError
        Without Ray.
    TypeError, ValueError
        For the inputs the local path refuses, with the same messages
        (the pool is named ``pool``).

    Examples
    --------
    .. code-block:: python

        import ray
        from aalu_sk import EntropySampler
        from aalu_sk.distributed import query

        ray.init()                                    # or ray.init("auto")
        pool = ray.data.from_items([{"id": i, "image": x}
                                    for i, x in enumerate(X_pool)])
        ids = query(EntropySampler(random_state=0), net, X_lab, y_lab,
                    pool, n_instances=100)
    """
    ray = import_ray()
    _check_strategy(strategy)
    columns = strategy.pool_columns()
    check_n_instances(n_instances, np.iinfo(np.int64).max)
    _check_pool(ray, pool)
    labeled = check_labeled_set(strategy, X_labeled, y_labeled, estimator)
    start = time.perf_counter()
    own = not isinstance(pool, ShardedPool)
    sharded = shard_pool(pool, estimator, columns, num_workers=num_workers,
                         batch_size=batch_size, num_gpus=num_gpus) \
        if own else pool
    try:
        with sharded.training_on(selector_resources):
            picked = strategy.query_pool(sharded, labeled.X, labeled.y,
                                         estimator, n_instances)
        ids = sharded.ids(picked)
    finally:
        if own:
            sharded.close()
    strategy.query_time_ = time.perf_counter() - start
    return ids


def ray_query(**options):
    """A ``query`` for :func:`~aalu_sk.experiment.run_experiment` on Ray.

    Parameters
    ----------
    **options
        Keyword arguments of :func:`~aalu_sk.distributed.query`
        (``num_workers``, ``batch_size``, ``num_gpus``,
        ``selector_resources``).

    Returns
    -------
    query : callable
        ``query(strategy, estimator, X_labeled, y_labeled, X_pool, n)``:
        puts ``X_pool`` on the cluster (:func:`pool_dataset`), queries it
        with :func:`~aalu_sk.distributed.query` and returns positions in
        ``X_pool``, the ones the local path returns.
    """
    def run(strategy, estimator, X_labeled, y_labeled, X_pool, n):
        ids = query(strategy, estimator, X_labeled, y_labeled,
                    pool_dataset(X_pool), n, **options)
        return np.asarray(ids, dtype=np.int64)

    return run
