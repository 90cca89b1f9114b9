"""A pool as a Ray Dataset: the task model's pass, then shard actors.

:func:`shard_pool` runs the pool through the task model with Ray Data
(``map_batches`` with actors that load the model once) and hands the
columns, in pool order, to shard actors (:class:`~.shards.PoolShard`),
one per worker, each holding a contiguous range of rows. The driver keeps
a :class:`ShardedPool`, which answers the pool protocol
(:mod:`aalu_sk.pools`) as :class:`~aalu_sk.pools.LocalPool` does, with the
same answers: gathered rows, the exact distributed top-k, the greedy
selections (:mod:`.greedy`) and selector training.
"""

import contextlib
import time
import uuid

import numpy as np

from ..pools import COLUMNS, compute_columns
from ..validation import check_images, check_samples
from ._ray import cluster_cpus, import_ray, ordered_execution
from .greedy import greedy_picks
from .shards import PoolShard
from .shipping import dumps_for_workers, loads_on_worker
from .topk import merge_top_k

__all__ = ["TaskModelPass", "ShardedPool", "shard_pool", "pool_dataset"]

#: Restarts of a crashed shard actor, and retries of a call it was running.
#: (Ray Data restarts the task-model actors of ``map_batches`` itself.)
RETRIES = 3


class TaskModelPass:
    """Ray Data callable class: task-model outputs of a batch of pool rows.

    Each actor unpickles the fitted estimator once and moves it to its
    device (CUDA when Ray gave it a GPU, else the CPU); each batch's
    ``image`` column goes through :func:`~aalu_sk.pools.compute_columns`
    (one :func:`~aalu_sk.features.task_outputs` pass).

    Parameters
    ----------
    estimator : fitted classifier, or its pickle (bytes)
    outputs : tuple of str
        Columns to return besides ``id``: keys of
        :data:`aalu_sk.pools.COLUMNS` (``"features"``, ``"proba"``,
        ``"image"``, ...), computed by
        :func:`~aalu_sk.pools.compute_columns`.
    """

    def __init__(self, estimator, outputs):
        if isinstance(estimator, bytes):  # from dumps_for_workers
            estimator = loads_on_worker(estimator)
        self.estimator = _to_worker_device(estimator)
        self.outputs = tuple(outputs)

    def __call__(self, batch):
        images = check_samples(batch["image"], "pool images")
        return {"id": batch["id"], **compute_columns(
            self.estimator, images, self.outputs, "pool images")}


def _to_worker_device(estimator):
    """Move an ImageClassifier to this worker's device (others unchanged)."""
    module = getattr(estimator, "module_", None)
    if module is None or not hasattr(estimator, "forward_pass"):
        return estimator
    import torch

    import ray

    device = "cuda" if torch.cuda.is_available() and ray.get_gpu_ids() \
        else "cpu"
    estimator.module_ = module.to(device)
    estimator.device = device
    return estimator


class ShardedPool:
    """The driver's handle on a pool held by shard actors.

    Answers the pool protocol (:mod:`aalu_sk.pools`), so every strategy
    queries it as it queries a :class:`~aalu_sk.pools.LocalPool`.

    Attributes
    ----------
    n_pool : int
    shards : list of Ray actor handles
        In pool order; shard ``i`` holds rows ``offsets[i]`` to
        ``offsets[i] + counts[i] - 1``.
    offsets, counts : ndarray of int64
    columns : tuple of str
        What the shards hold per row: ``id`` and the ``outputs`` of
        :func:`shard_pool`.
    timings : dict
        Seconds of the task-model pass (``task_forward``) and of loading
        the shards (``shard``).
    selector_resources : dict or None
        Where :meth:`train` trains: None on the driver, else in a Ray
        task with these resources (e.g. ``{"num_gpus": 1}``).

    Examples
    --------
    Pass the pool through the task model once, then query it with
    several strategies (each query reproduces its local answer):

    .. code-block:: python

        from aalu_sk.distributed import query, shard_pool

        with shard_pool(pool, net, ("features", "proba")) as sharded:
            for strategy in (EntropySampler(random_state=0),
                             BADGESampler(random_state=0)):
                ids = query(strategy, net, X_lab, y_lab, sharded, 100)
    """

    def __init__(self, ray, shards, counts, refs, timings, columns):
        self._ray = ray
        self.columns = tuple(columns)
        self.shards = shards
        self.counts = np.asarray(counts, dtype=np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(self.counts)[:-1])) \
            .astype(np.int64)
        self.n_pool = int(self.counts.sum())
        self._refs = refs  # keeps the blocks alive for restarted shards
        self.timings = timings
        self.selector_resources = None
        self._scorer = None  # (scorer, token, object ref) of the last one

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop the shard actors and release the blocks."""
        for shard in self.shards:
            self._ray.kill(shard)
        self.shards, self._refs = [], []

    def get(self, refs):
        return self._ray.get(refs)

    def owner(self, positions):
        """Index of the shard holding each global position."""
        return np.searchsorted(self.offsets, positions, side="right") - 1

    def info(self):
        """Each shard's :meth:`PoolShard.info`."""
        return self.get([s.info.remote() for s in self.shards])

    # -- the pool protocol ---------------------------------------------------
    def gather(self, positions, columns):
        """Columns of the rows at ``positions`` (None: every row), in order."""
        return self._gather(positions, columns)

    def _gather(self, positions, columns, scorer=None):
        """:meth:`gather`; with ``scorer``, its extra outputs by name too."""
        positions = np.arange(self.n_pool) if positions is None \
            else np.asarray(positions, dtype=np.int64)
        owners = self.owner(positions)
        calls = {}
        for i in np.unique(owners):
            rows = positions[owners == i]
            shard = self.shards[i]
            calls[i] = shard.rows.remote(rows, columns) if scorer is None \
                else shard.scored_rows.remote(*scorer, rows, columns)
        parts = dict(zip(calls, self.get(list(calls.values()))))
        out = {}
        for c in columns:
            first = next(iter(parts.values()))[c]
            out[c] = np.empty((positions.shape[0],) + first.shape[1:],
                              first.dtype)
            for i, part in parts.items():
                out[c][owners == i] = part[c]
        return out

    def _shipped(self, scorer):
        """``(token, ref)`` of a scorer, put in the object store once."""
        if self._scorer is None or self._scorer[0] is not scorer:
            self._scorer = (scorer, uuid.uuid4().hex, self._ray.put(scorer))
        return self._scorer[1:]

    def scores(self, scorer):
        """None: the scores stay on the shards."""
        return None

    def top(self, scorer, keys, n, columns=()):
        """Exact top-``n`` of the pool by ``scorer``, ties by ``keys``.

        Parameters
        ----------
        scorer : callable
            A pool scorer (:mod:`aalu_sk.pools`); each shard scores its
            rows once per scorer.
        keys : ndarray of shape (n_pool,)
            Tie-break keys
            (:func:`~aalu_sk.strategies.selection.tie_break_keys`).
        n : int
        columns : tuple of str
            Columns (or extra scorer outputs) of the chosen rows to return.

        Returns
        -------
        positions : ndarray of shape (n,)
            Best first.
        rows : dict of ndarray
            The requested columns of those rows, in the same order, and
            ``"score"``: their scores.
        """
        token, ref = self._shipped(scorer)
        keys_ref = self._ray.put(np.asarray(keys, dtype=np.int64))
        parts = self.get([s.top.remote(token, ref, keys_ref, n)
                          for s in self.shards])
        positions, order = merge_top_k(parts, n)
        rows = self._gather(positions, list(columns), (token, ref)) \
            if columns else {}
        rows["score"] = np.concatenate([p[1] for p in parts])[order]
        return positions, rows

    def k_center_greedy(self, labeled_features, n, rng, batch_size=4096,
                        device=None):
        """Core-set picks over the shards; ``(positions, None)``.

        The shards compute on their own CPU (``device`` is not used).
        """
        if labeled_features is None:
            dim = self.info()[0]["columns"]["features"][0]
            labeled_features = np.zeros((0,) + tuple(dim), np.float32)
        return greedy_picks(self, "kcenter", (labeled_features, batch_size),
                            n, rng), None

    def kmeans_pp(self, first, n, rng, batch_size=65536):
        """BADGE picks over the shards from ``first``: ``(positions, None)``.
        """
        return greedy_picks(self, "kmeanspp", (batch_size,), n, rng,
                            first), None

    def train(self, strategy, *args, rng):
        """``strategy.fit_selector(*args, rng)`` on the driver or a Ray task.

        In a Ray task (:attr:`selector_resources`), the fitted attributes
        and the generator's state come back into ``strategy`` and ``rng``.
        """
        if self.selector_resources is None:
            strategy.fit_selector(*args, rng)
            return
        ray = self._ray
        fitted, state = ray.get(ray.remote(**self.selector_resources)(
            _fit_selector).remote(strategy, args, rng))
        strategy.__dict__.update(fitted.__dict__)
        rng.set_state(state.get_state())

    @contextlib.contextmanager
    def training_on(self, resources):
        """Within the block, :meth:`train` uses ``resources``."""
        old, self.selector_resources = self.selector_resources, resources
        try:
            yield self
        finally:
            self.selector_resources = old

    def ids(self, positions):
        """The ``id`` of each row at ``positions``."""
        return self.gather(positions, ["id"])["id"]


def _fit_selector(strategy, args, rng):
    strategy.fit_selector(*args, rng)
    return strategy, rng


def _assign(counts, n_shards):
    """Split the pool's rows into ``n_shards`` nearly equal contiguous ranges.

    Returns, per non-empty range, its first global row and its pieces
    ``(block, start, stop)``: rows ``start:stop`` of block ``block``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)))
    total = int(starts[-1])
    bounds = [total * k // n_shards for k in range(n_shards + 1)]
    ranges = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if hi <= lo:
            continue
        pieces = []
        for b in np.flatnonzero((starts[:-1] < hi) & (starts[1:] > lo)):
            pieces.append((int(b), int(max(lo, starts[b]) - starts[b]),
                           int(min(hi, starts[b + 1]) - starts[b])))
        ranges.append((lo, pieces))
    return ranges


def shard_pool(pool, estimator, outputs, *, num_workers=None, batch_size=None,
               num_gpus=0, shard_options=None):
    """Run the pool's pass and load its outputs into shard actors.

    Parameters
    ----------
    pool : ray.data.Dataset
        Columns ``id`` and ``image``.
    estimator : fitted classifier or None
        Needed when ``outputs`` has ``"features"`` or ``"proba"``.
    outputs : tuple of str
        Keys of :data:`aalu_sk.pools.COLUMNS` (``"features"``,
        ``"proba"``, ``"image"``, ...; a strategy's
        ``pool_columns()``); empty keeps ids only.
    num_workers : int or None, default=None
        Actors of the pass and shard actors; None: the cluster's CPUs.
    batch_size : int or None, default=None
        Rows per ``map_batches`` batch; None: 8 times the estimator's
        ``batch_size`` (or 1024).
    num_gpus : float, default=0
        GPUs per actor of the task-model pass.
    shard_options : dict or None, default=None
        Ray actor options of the shard actors (by default ``num_cpus=0``
        and ``scheduling_strategy="SPREAD"``; each computes with one torch
        thread).

    Returns
    -------
    pool : ShardedPool
    """
    ray = import_ray()
    unknown = sorted(set(outputs) - set(COLUMNS))
    if unknown or isinstance(outputs, str):
        raise ValueError(f"outputs={outputs!r}: give a tuple of "
                         f"{list(COLUMNS)}.")
    workers = num_workers or cluster_cpus(ray)
    start = time.perf_counter()
    with ordered_execution(ray, pool):
        if any(COLUMNS[c].reads_estimator for c in outputs):
            per_batch = batch_size or 8 * int(getattr(estimator, "batch_size",
                                                      128) or 128)
            data = pool.map_batches(
                TaskModelPass, fn_constructor_args=(
                    dumps_for_workers(estimator), outputs),
                batch_size=per_batch,
                compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
                num_gpus=num_gpus or None)
        else:  # (select_columns does not keep the row order)
            data = pool.map_batches(_KeepColumns(("id",) + tuple(
                c for c in outputs if c == "image")), batch_size=None)
        refs = data.to_numpy_refs()
    counts = ray.get([ray.remote(num_cpus=0)(_block_rows).remote(r)
                      for r in refs])
    if not sum(counts):
        raise ValueError("pool is empty: it holds 0 samples.")
    forward = time.perf_counter() - start
    start = time.perf_counter()
    # Shards reserve no CPU: they hold data between the passes and compute
    # only once the task model's actors are gone (an open ShardedPool must
    # not starve the next pass). SPREAD keeps them on separate nodes.
    options = {"num_cpus": 0, "scheduling_strategy": "SPREAD",
               "max_restarts": RETRIES, "max_task_retries": RETRIES,
               **(shard_options or {})}
    actor = ray.remote(**options)(PoolShard)
    shards, shard_counts = [], []
    for offset, pieces in _assign(counts, workers):
        shards.append(actor.remote(
            [(k, lo, hi) for k, (_, lo, hi) in enumerate(pieces)], offset, 1,
            *[refs[b] for b, _, _ in pieces]))
        shard_counts.append(sum(hi - lo for _, lo, hi in pieces))
    ray.get([s.info.remote() for s in shards])
    return ShardedPool(ray, shards, shard_counts, refs,
                       {"task_forward": forward,
                        "shard": time.perf_counter() - start},
                       ("id",) + tuple(outputs))


class _KeepColumns:
    """A ``map_batches`` function keeping some columns of each batch."""

    def __init__(self, columns):
        self.columns = columns

    def __call__(self, batch):
        return {c: batch[c] for c in self.columns}


def _block_rows(block):
    return len(block["id"])


def pool_dataset(X, ids=None, rows_per_block=None):
    """A Ray Dataset of an image array, with columns ``id`` and ``image``.

    Rows keep the array's order, so a query over the dataset answers as
    the local path over ``X`` (and with the default ids, returns the same
    positions). The array may be memory-mapped: it is copied to Ray's
    object store block by block.

    Parameters
    ----------
    X : array-like of images
        As :func:`~aalu_sk.validation.check_images` accepts them.
    ids : array-like of shape (n_samples,) or None, default=None
        The ``id`` column; None: ``0 .. n_samples - 1``.
    rows_per_block : int or None, default=None
        None: about 64 MiB of images per block.

    Returns
    -------
    pool : ray.data.Dataset
    """
    ray = import_ray()
    import pyarrow as pa
    from ray.data.extensions import ArrowTensorArray

    X = check_images(X, "X", allow_empty=True)
    ids = np.arange(X.shape[0]) if ids is None else np.asarray(ids)
    if ids.shape != (X.shape[0],):
        raise ValueError(f"ids has shape {ids.shape}; expected "
                         f"({X.shape[0]},), one per image.")
    if rows_per_block is None:
        row_bytes = max(1, X[:1].nbytes)
        rows_per_block = max(1, (64 << 20) // row_bytes)
    tables = [pa.table({"id": ids[s:s + rows_per_block],
                        "image": ArrowTensorArray.from_numpy(
                            np.ascontiguousarray(X[s:s + rows_per_block]))})
              for s in range(0, X.shape[0], rows_per_block)]
    if not tables:
        return ray.data.from_items([]).map_batches(
            lambda b: {"id": np.zeros(0, ids.dtype),
                       "image": np.zeros((0,) + X.shape[1:], X.dtype)})
    return ray.data.from_arrow(tables)
