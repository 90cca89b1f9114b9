"""One active-learning query over a pool held by a Ray cluster.

:func:`query` is the distributed counterpart of every strategy's
``query(X_labeled, y_labeled, X_pool, estimator, n_instances)``: the pool
is a Ray Dataset with columns ``id`` and ``image``, and the answer is the
chosen ``id``\\ s. Work is placed as follows:

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
strategy's ``random_state``, so the same data and seed give the same ids
as ``strategy.query`` on the images in the dataset's order, up to the
floating-point effect of batch composition on the task model's outputs
(none when blocks hold multiples of the estimator's ``batch_size``).
"""

import copy
import time

import numpy as np
from sklearn.utils import check_random_state

from ..features import task_outputs
from ..strategies import (AdversarialUncertaintySampler, BADGESampler,
                          CoreSetSampler, EntropySampler, MarginSampler,
                          RandomSampler, VAALSampler)
from ..strategies.base import BaseQueryStrategy
from ..strategies.selection import (_gradient_embedding_parts,
                                    diversity_candidates, pick_diverse,
                                    tie_break_keys, top_k)
from ..validation import (check_images, check_labels, check_n_instances,
                          check_positive_ints, check_samples)
from ._ray import import_ray
from .pool import ShardedPool, shard_pool

__all__ = ["query", "SUPPORTED_STRATEGIES"]


# -- scorers: picklable callables the shard actors run on their rows --------
class _ProbaScorer:
    """Entropy or margin of the task model's probabilities."""

    def __init__(self, uncertainty):
        self.uncertainty = uncertainty

    def __call__(self, columns):
        return self.uncertainty(columns["proba"]), None


class _SelectorScorer:
    """AALU's fitted assistant on features (and probabilities)."""

    def __init__(self, strategy):
        self.strategy = _on_any_device(strategy)

    def __call__(self, columns):
        return self.strategy.score(columns["features"],
                                   columns.get("proba")), None


class _VAALScorer:
    """VAAL's discriminator on raw images; lowest "labeled" first."""

    def __init__(self, strategy):
        self.strategy = _on_any_device(strategy)

    def __call__(self, columns):
        scores, latent = self.strategy.score(columns["image"],
                                             return_latent=True)
        return -scores, latent


class _NormScorer:
    """BADGE's gradient-embedding norms (its first pick is the largest)."""

    def __call__(self, columns):
        sq = _gradient_embedding_parts(columns["proba"],
                                       columns["features"])[2]
        return np.sqrt(sq), None


def _on_any_device(strategy):
    """A shallow copy that scores on whatever device its worker has."""
    strategy = copy.copy(strategy)
    strategy.device = "auto"
    return strategy


# -- the plans -----------------------------------------------------------
class _Query:
    """What one distributed query works with (the driver's side)."""

    def __init__(self, strategy, estimator, X_labeled, y_labeled, pool,
                 n_instances, rng, selector_resources):
        self.strategy, self.estimator = strategy, estimator
        self.X_labeled, self.y_labeled = X_labeled, y_labeled
        self.pool, self.n = pool, n_instances
        self.rng, self.selector_resources = rng, selector_resources

    def pick(self, scorer, diversity, column):
        """``BaseQueryStrategy._pick`` over the shards."""
        pool, n, rng = self.pool, self.n, self.rng
        scorer = pool.new_scorer(scorer)
        if diversity is None:
            return pool.top(scorer, tie_break_keys(pool.n_pool, rng), n)[0]
        m = diversity_candidates(n, pool.n_pool)
        positions, rows = pool.top(scorer, tie_break_keys(pool.n_pool, rng),
                                   m, columns=[column] if m > n else [])
        return pick_diverse(positions, rows.get(column), n, rng,
                            candidate_scores=rows["score"])

    def fit_selector(self, *args):
        """``strategy.fit_selector(*args, rng)`` on the driver or a worker."""
        if self.selector_resources is None:
            self.strategy.fit_selector(*args, self.rng)
            return
        ray = import_ray()
        fitted, rng = ray.get(ray.remote(**self.selector_resources)(
            _fit_selector).remote(self.strategy, args, self.rng))
        self.strategy.__dict__.update(fitted.__dict__)
        self.rng.set_state(rng.get_state())


def _fit_selector(strategy, args, rng):
    strategy.fit_selector(*args, rng)
    return strategy, rng


def _random(q):
    return top_k(q.rng.random_sample(q.pool.n_pool), q.n, q.rng)


def _uncertainty(q):
    q.strategy._check_diversity(q.strategy.diversity)
    return q.pick(_ProbaScorer(q.strategy._uncertainty),
                  q.strategy.diversity, "features")


def _aalu(q):
    s = q.strategy
    _, config = s._check_params()
    lab = task_outputs(q.estimator, q.X_labeled, q.y_labeled)
    config["loss_source"], loss = s._labeled_losses(
        config["loss_source"], q.estimator, q.X_labeled, q.y_labeled,
        lab.loss)
    sample = s.training_sample(q.pool.n_pool, config["max_steps"], q.rng)
    rows = q.pool.gather(np.arange(q.pool.n_pool) if sample is None
                         else sample, ["features", "proba"])
    q.fit_selector(lab.features, lab.proba, loss, rows["features"],
                   rows["proba"])
    del rows
    start = time.perf_counter()
    picked = q.pick(_SelectorScorer(s), config["diversity"], "features")
    s.config_ = config
    s.timings_["score_and_select"] = time.perf_counter() - start
    return picked


def _vaal(q):
    s = q.strategy
    X_l = check_images(q.X_labeled, "X_labeled")
    sample = s.training_sample(q.pool.n_pool, q.rng)
    images = q.pool.gather(np.arange(q.pool.n_pool) if sample is None
                           else sample, ["image"])["image"]
    q.fit_selector(X_l, images)
    del images
    start = time.perf_counter()
    picked = q.pick(_VAALScorer(s), s.diversity, "extra")
    s.timings_["score_and_select"] = time.perf_counter() - start
    return picked


def _coreset(q):
    s = q.strategy
    check_positive_ints(s, ("batch_size",))
    if q.X_labeled.shape[0]:
        labeled = task_outputs(q.estimator, q.X_labeled).features
    else:
        dim = q.pool.info()[0]["columns"]["features"][0]
        labeled = np.zeros((0,) + tuple(dim), np.float32)
    return _greedy(q, "kcenter", (labeled, s.batch_size))


def _badge(q):
    first = q.pool.top(q.pool.new_scorer(_NormScorer()),
                       tie_break_keys(q.pool.n_pool, q.rng), 1)[0][0]
    return _greedy(q, "kmeanspp", (65536,), first)


def _greedy(q, kind, start, first=None):
    """k-center greedy or k-means++ over the shards (see ``selection``)."""
    pool, rng, n_pool = q.pool, q.rng, q.pool.n_pool
    shards = pool.shards
    steps = []  # (center, position) of every pick applied so far

    def call(i, method, *args):
        shard = shards[i]
        result = pool.get(getattr(shard, method).remote(*args))
        if result is None:  # the actor restarted: rebuild its state
            pool.get(shard.greedy_replay.remote(kind, start, steps[:args[0]]))
            result = pool.get(getattr(shard, method).remote(*args))
        return result

    def step_all(step, center, position):
        results = pool.get([s.greedy_step.remote(step, center, position)
                            for s in shards])
        return [call(i, "greedy_step", step, center, position)
                if r is None else r for i, r in enumerate(results)]

    reports = pool.get([s.greedy_start.remote(kind, start) for s in shards])
    if kind == "kcenter":
        picked = []
        for step in range(q.n):
            top = max(r[0] for r in reports)
            counts = np.array([r[1] if r[0] == top else 0 for r in reports])
            rank = rng.randint(counts.sum()) if counts.sum() > 1 else 0
            i = int(np.searchsorted(np.cumsum(counts), rank, side="right"))
            position, center = call(i, "kcenter_tie", step, top,
                                    rank - int(counts[:i].sum()))
            picked.append(position)
            reports = step_all(step, center, position)
            steps.append((center, position))
        return np.asarray(picked, dtype=np.int64)
    picked = [int(first)]
    center = pool.get(shards[pool.owner([first])[0]].kmeanspp_center
                      .remote(first))
    for step in range(q.n - 1):
        step_all(step, center, picked[-1])
        steps.append((center, picked[-1]))
        carry, starts, ends = 0.0, [], []
        for i in range(len(shards)):
            starts.append(carry)
            carry = call(i, "kmeanspp_running_sum", step + 1, carry)
            ends.append(carry)
        if carry <= 0:  # every sample coincides with a pick: take any other
            position = int(rng.randint(n_pool - len(picked)))
            for p in sorted(picked):
                position += p <= position
            center = pool.get(shards[pool.owner([position])[0]]
                              .kmeanspp_center.remote(position))
        else:
            threshold = rng.uniform(0.0, carry)
            after = [i for i, end in enumerate(ends) if end > threshold]
            i = after[0] if after else len(shards) - 1
            position, center = call(i, "kmeanspp_locate", step + 1,
                                    starts[i], threshold)
        picked.append(int(position))
    return np.asarray(picked, dtype=np.int64)


#: The strategies :func:`query` runs, with the pool columns each reads.
SUPPORTED_STRATEGIES = {
    RandomSampler: ((), _random),
    EntropySampler: (("features", "proba"), _uncertainty),
    MarginSampler: (("features", "proba"), _uncertainty),
    AdversarialUncertaintySampler: (("features", "proba"), _aalu),
    VAALSampler: (("image",), _vaal),
    CoreSetSampler: (("features",), _coreset),
    BADGESampler: (("features", "proba"), _badge),
}


def _plan(strategy):
    for cls, plan in SUPPORTED_STRATEGIES.items():
        if type(strategy) is cls:
            return plan
    names = ", ".join(c.__name__ for c in SUPPORTED_STRATEGIES)
    raise TypeError(f"strategy must be one of the toolkit's strategies "
                    f"({names}); got a {type(strategy).__name__}.")


def _check_pool(ray, pool, outputs, strategy):
    if isinstance(pool, ShardedPool):
        missing = [c for c in outputs if c not in pool.columns]
        if missing:
            raise ValueError(
                f"{type(strategy).__name__} reads the pool's {list(outputs)}"
                f", but this ShardedPool holds {list(pool.columns)}; shard "
                f"the pool with outputs={tuple(outputs)}.")
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
        One of the toolkit's strategies (:data:`SUPPORTED_STRATEGIES`),
        with its parameters and ``random_state``; after the query it holds
        what the local path sets (AALU's ``config_``, the selectors'
        fitted networks, ``query_time_``), but no per-row ``scores_``.
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
    outputs, plan = _plan(strategy)
    check_n_instances(n_instances, np.iinfo(np.int64).max)
    _check_pool(ray, pool, outputs, strategy)
    if X_labeled is None:
        X_labeled, y_labeled = np.zeros((0, 1, 1, 1), np.float32), \
            np.zeros(0, np.int64)
    X_labeled = check_samples(X_labeled, "X_labeled",
                              allow_empty=not strategy.needs_labeled)
    y_labeled = check_labels(y_labeled, X_labeled.shape[0], "y_labeled",
                             integer=False)
    if strategy.needs_estimator and estimator is None:
        raise ValueError(f"{type(strategy).__name__} reads the task model: "
                         f"pass the fitted estimator.")
    start = time.perf_counter()
    rng = check_random_state(strategy.random_state)
    own = not isinstance(pool, ShardedPool)
    sharded = shard_pool(pool, estimator, outputs, num_workers=num_workers,
                         batch_size=batch_size, num_gpus=num_gpus) \
        if own else pool
    try:
        n_instances = check_n_instances(n_instances, sharded.n_pool)
        q = _Query(strategy, estimator, X_labeled, y_labeled, sharded,
                   n_instances, rng, selector_resources)
        picked = plan(q)
        ids = sharded.ids(picked)
    finally:
        if own:
            sharded.close()
    if isinstance(getattr(strategy, "timings_", None), dict):
        strategy.timings_["task_forward"] = sharded.timings["task_forward"]
    strategy.query_time_ = time.perf_counter() - start
    return ids
