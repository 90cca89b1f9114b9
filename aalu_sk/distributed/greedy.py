"""The driver's side of the greedy selections over shard actors.

k-center greedy (core-set) and k-means++ seeding (BADGE) pick one row at
a time, each pick depending on all before it. The shard actors
(:class:`~.shards.PoolShard`) keep each row's distance to the picks so
far; the driver takes each step's global decision from their small
reports and broadcasts the new center. The draws from ``rng`` are those
of :func:`~aalu_sk.strategies.selection.k_center_greedy` and
:func:`~aalu_sk.strategies.selection.kmeans_pp_gradient_embeddings`, in
the same order, so the picks are theirs.

A shard actor that restarted (a crash) answers ``None``; it is then
rebuilt by replaying the steps so far, and the call is repeated.
"""

import numpy as np

__all__ = ["greedy_picks"]


def greedy_picks(pool, kind, start, n, rng, first=None):
    """k-center greedy (``"kcenter"``) or k-means++ (``"kmeanspp"``) picks.

    Parameters
    ----------
    pool : ShardedPool
    kind : {"kcenter", "kmeanspp"}
    start : tuple
        :meth:`PoolShard.greedy_start`'s ``start``.
    n : int
    rng : RandomState instance
    first : int or None, default=None
        k-means++'s first pick.

    Returns
    -------
    positions : ndarray of shape (n,), dtype int64
        In pick order.
    """
    shards, n_pool = pool.shards, pool.n_pool
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

    def center_of(position):
        return pool.get(shards[pool.owner([position])[0]]
                        .kmeanspp_center.remote(position))

    reports = pool.get([s.greedy_start.remote(kind, start) for s in shards])
    if kind == "kcenter":
        picked = []
        for step in range(n):
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
    center = center_of(first)
    for step in range(n - 1):
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
            center = center_of(position)
        else:
            threshold = rng.uniform(0.0, carry)
            after = [i for i, end in enumerate(ends) if end > threshold]
            i = after[0] if after else len(shards) - 1
            position, center = call(i, "kmeanspp_locate", step + 1,
                                    starts[i], threshold)
        picked.append(int(position))
    return np.asarray(picked, dtype=np.int64)
