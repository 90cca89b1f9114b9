"""Exact top-k over a pool split into parts: each part's best, then a merge.

:func:`~aalu_sk.strategies.selection.top_k` ranks by score, largest first,
and orders equal scores by seeded tie-break keys
(:func:`~aalu_sk.strategies.selection.tie_break_keys`), one per pool
position. A part that ranks its rows by ``(-score, key)`` with the keys of
their global positions, and hands over its ``n`` best, loses no row of the
global top ``n``; ranking the union of the parts' candidates the same way
gives exactly the local answer. Pure NumPy, no Ray: the shard actors and
the driver of :func:`aalu_sk.distributed.query` call these.
"""

import numpy as np

__all__ = ["part_top_k", "merge_top_k"]


def _check_scores(scores):
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN; cannot rank them.")
    return scores


def part_top_k(scores, keys, offset, n):
    """The ``n`` best rows of one part of a pool, best first.

    Parameters
    ----------
    scores : array-like of shape (n_rows,)
        Larger means more worth labeling.
    keys : array-like of shape (n_rows,)
        Tie-break keys of the rows' global positions.
    offset : int
        Global position of the part's first row.
    n : int

    Returns
    -------
    positions : ndarray of shape (min(n, n_rows),), dtype int64
        Global positions.
    scores : ndarray of float64
    keys : ndarray of int64
    """
    scores = _check_scores(scores)
    keys = np.asarray(keys, dtype=np.int64)
    if n < scores.shape[0]:
        # Only rows scoring at least the n-th largest can be among the best.
        threshold = np.partition(scores, scores.shape[0] - n)[
            scores.shape[0] - n]
        rows = np.flatnonzero(scores >= threshold)
    else:
        rows = np.arange(scores.shape[0])
    order = rows[np.lexsort((keys[rows], -scores[rows]))][:n]
    return (order + int(offset)).astype(np.int64), scores[order], keys[order]


def merge_top_k(parts, n):
    """Merge the parts' candidates into the global ``n`` best, best first.

    Parameters
    ----------
    parts : list of tuple
        ``(positions, scores, keys)`` of each part, as :func:`part_top_k`
        returns them.
    n : int

    Returns
    -------
    positions : ndarray of shape (n,), dtype int64
        Global positions of the best rows, best first.
    order : ndarray of shape (n,), dtype int64
        Where each of them is in the concatenation of the parts'
        candidates (to pick their other columns).
    """
    positions = np.concatenate([np.asarray(p[0], np.int64) for p in parts])
    scores = np.concatenate([np.asarray(p[1], np.float64) for p in parts])
    keys = np.concatenate([np.asarray(p[2], np.int64) for p in parts])
    order = np.lexsort((keys, -scores))[:n]
    return positions[order], order
