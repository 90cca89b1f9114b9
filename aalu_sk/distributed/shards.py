"""One worker's share of a pool: what a shard actor holds and computes.

A :class:`PoolShard` holds a contiguous range of pool rows (global
positions ``offset .. offset + n_rows - 1``) with their columns: ``id``
and, depending on the strategy, the task model's ``features`` and
``proba`` or the raw ``image``. The driver wraps the class in a Ray actor
(:mod:`aalu_sk.distributed.pool`); the class itself is plain Python, so
its arithmetic is tested without Ray.

Every method is safe to retry: results are recomputed from the rows when
an actor restarted after a crash. Scores are cached under a token and
recomputed when the token is unknown; the greedy selections (k-center,
k-means++) keep per-step state and answer ``None`` when that state is
missing or from another step, and the driver then replays the steps so
far (:meth:`PoolShard.greedy_replay`).
"""

import numpy as np
import torch

from ..strategies.selection import (gradient_embedding_parts,
                                    lower_embedding_distances,
                                    nearest_distances,
                                    update_min_sq_distances)
from .topk import part_top_k

__all__ = ["PoolShard"]


def _concatenate(blocks):
    blocks = [b for b in blocks if len(b["id"])] or blocks[:1]
    return {name: np.concatenate([b[name] for b in blocks])
            for name in blocks[0]}


class PoolShard:
    """A contiguous range of pool rows and the per-row work on them.

    Parameters
    ----------
    pieces : list of tuple
        The range's pieces in pool order, each ``(block, start, stop)``:
        rows ``start:stop`` of ``block``, a dict mapping column names to
        arrays with one row per sample, or an int: the position of that
        dict in ``blocks``.
    offset : int
        Global position of the first row.
    threads : int or None, default=None
        Torch threads of this process (the shard actors of
        :func:`~aalu_sk.distributed.shard_pool` use 1: they reserve no CPU
        of Ray's); None leaves them as they are.
    *blocks : dict
        Blocks that ``pieces`` name by position. The Ray path passes its
        object references here, as direct arguments: Ray resolves them
        and keeps them for as long as the actor may be restarted (a
        reference nested in ``pieces`` would be released after the first
        start, and a restart could not rebuild the shard).
    """

    def __init__(self, pieces, offset, threads=None, *blocks):
        if threads is not None:
            torch.set_num_threads(threads)
        blocks = [blocks[block] if isinstance(block, (int, np.integer))
                  else block for block, _, _ in pieces]
        self.columns = _concatenate([
            {name: column[start:stop] for name, column in block.items()}
            for block, (_, start, stop) in zip(blocks, pieces)])
        self.offset = int(offset)
        self.n_rows = len(self.columns["id"])
        self._scored = None
        self._greedy = None

    # -- rows -------------------------------------------------------------
    def info(self):
        """Rows, columns (per-row shape, dtype), bytes held, peak memory.

        ``peak_rss_mb`` is the peak resident memory of this process
        (Linux), shared object-store pages it read included.
        """
        import resource

        return {"n_rows": self.n_rows, "offset": self.offset,
                "columns": {k: (v.shape[1:], v.dtype.str)
                            for k, v in self.columns.items()},
                "nbytes": int(sum(v.nbytes for v in self.columns.values())),
                "peak_rss_mb": resource.getrusage(
                    resource.RUSAGE_SELF).ru_maxrss / 1024}

    def rows(self, positions, columns):
        """Columns of the rows at global ``positions`` (all in this shard)."""
        local = np.asarray(positions, dtype=np.int64) - self.offset
        return {c: self.columns[c][local] for c in columns}

    # -- scores and the top rows -----------------------------------------
    def _scores(self, token, scorer):
        if self._scored is None or self._scored[0] != token:
            result = scorer(self.columns)
            scores, extra = result if isinstance(result, tuple) \
                else (result, {})
            self._scored = (token, np.asarray(scores, dtype=np.float64),
                            extra or {})
        return self._scored[1], self._scored[2]

    def top(self, token, scorer, keys, n):
        """This shard's ``n`` best rows by ``scorer``, ties by ``keys``.

        Parameters
        ----------
        token : str
            Names the scorer; scores are computed once per token.
        scorer : callable
            A pool scorer (:mod:`aalu_sk.pools`): ``scorer(columns)``
            returns the rows' scores (larger: picked first), or
            ``(scores, extra)`` with ``extra`` a dict of more per-row
            columns (e.g. the latent means VAAL clusters).
        keys : ndarray of shape (n_pool,)
            Tie-break keys of every pool position.
        n : int

        Returns
        -------
        (positions, scores, keys) : tuple of ndarray
        """
        scores, _ = self._scores(token, scorer)
        return part_top_k(scores, keys[self.offset:self.offset + self.n_rows],
                          self.offset, n)

    def scored_rows(self, token, scorer, positions, columns):
        """Like :meth:`rows`; columns may name the scorer's extra outputs."""
        _, extra = self._scores(token, scorer)
        local = np.asarray(positions, dtype=np.int64) - self.offset
        return {c: (extra[c] if c in extra else self.columns[c])[local]
                for c in columns}

    # -- greedy selections with per-step state ------------------------------
    def greedy_start(self, kind, start):
        """Start k-center greedy (``"kcenter"``) or k-means++ (``"kmeanspp"``).

        ``start`` is ``(labeled_features, batch_size)`` for k-center and
        ``(batch_size,)`` for k-means++. Returns :meth:`_report`.
        """
        if kind == "kcenter":
            labeled, batch_size = start
            pool = torch.from_numpy(np.ascontiguousarray(
                self.columns["features"]).reshape(self.n_rows, -1))
            initial = nearest_distances(
                pool, torch.as_tensor(labeled, dtype=pool.dtype), batch_size)
            state = {"pool": pool, "dist": initial.pow(2),
                     "batch_size": batch_size}
        elif kind == "kmeanspp":
            a, h, sq = gradient_embedding_parts(self.columns["proba"],
                                                 self.columns["features"])
            state = {"a": a, "h": h, "sq": sq, "batch_size": start[0],
                     "dist": np.full(self.n_rows, np.inf), "cum": None}
        else:
            raise ValueError(f"kind={kind!r}; use 'kcenter' or 'kmeanspp'.")
        state.update(kind=kind, steps=0)
        self._greedy = state
        return self._report()

    def greedy_step(self, step, center, position):
        """Apply the ``step``-th pick (0-based); None if the state is not at it.

        ``center`` is the pick's feature vector (k-center) or its
        ``(a, h, squared norm)`` (k-means++); ``position`` its global row.
        """
        state = self._greedy
        if state is None or state["steps"] != step:
            return None
        local = position - self.offset
        owned = 0 <= local < self.n_rows
        if state["kind"] == "kcenter":
            update_min_sq_distances(state["dist"], state["pool"],
                                    torch.as_tensor(center,
                                                    dtype=state["pool"].dtype),
                                    state["batch_size"])
            if owned:
                state["dist"][local] = -1.0  # never picked twice
        else:
            lower_embedding_distances(state["dist"], state["a"], state["h"],
                                       state["sq"], center,
                                       state["batch_size"])
            if owned:
                state["dist"][local] = 0.0
            state["cum"] = None
        state["steps"] += 1
        return self._report()

    def greedy_replay(self, kind, start, steps):
        """Rebuild the state from the start and the ``(center, position)`` so far."""
        self.greedy_start(kind, start)
        for i, (center, position) in enumerate(steps):
            self.greedy_step(i, center, position)
        return self._report()

    def _report(self):
        """k-center: (max distance, rows at it); k-means++: steps done."""
        state = self._greedy
        if state["kind"] == "kcenter":
            dist = state["dist"]
            if not self.n_rows:
                return (-np.inf, 0)
            top = dist.max()
            return (float(top), int((dist == top).sum()))
        return state["steps"]

    def kcenter_tie(self, step, value, rank):
        """Position and features of the ``rank``-th row at distance ``value``."""
        state = self._greedy
        if state is None or state["steps"] != step:
            return None
        rows = torch.nonzero(state["dist"] == value).flatten()
        local = int(rows[rank])
        return local + self.offset, state["pool"][local].numpy().copy()

    def kmeanspp_running_sum(self, step, carry):
        """Running sum of the distances, continued from ``carry``; its end.

        ``np.cumsum`` of the shard's distances prefixed by ``carry`` is,
        value for value, the running sum of the whole pool over these rows.
        """
        state = self._greedy
        if state is None or state["steps"] != step:
            return None
        state["cum"] = np.cumsum(np.concatenate(([carry], state["dist"])))[1:]
        return float(state["cum"][-1]) if self.n_rows else float(carry)

    def kmeanspp_locate(self, step, carry, threshold):
        """First row whose running sum exceeds ``threshold``: position, center.

        ``carry`` is the running sum before this shard (as given to
        :meth:`kmeanspp_running_sum`).
        """
        state = self._greedy
        if state is None or state["steps"] != step:
            return None
        if state["cum"] is None:
            self.kmeanspp_running_sum(step, carry)
        local = int(np.searchsorted(state["cum"], threshold, side="right"))
        local = min(local, self.n_rows - 1)
        return local + self.offset, self.kmeanspp_center(local + self.offset)

    def kmeanspp_center(self, position):
        """``(a, h, squared norm)`` of the row at global ``position``."""
        state = self._greedy
        if state is None:
            a, h, sq = gradient_embedding_parts(
                *(self.rows([position], ["proba", "features"]).values()))
            return a[0], h[0], sq[0]
        local = position - self.offset
        return state["a"][local], state["h"][local], state["sq"][local]
