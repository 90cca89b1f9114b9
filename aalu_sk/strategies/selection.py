"""Pure selection functions: arrays in, indices out.

No models here, so each function is easy to test on hand-made arrays.
Ties are broken by the seeded generator passed in, never by position.
"""

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["top_k", "entropy", "nearest_distances", "k_center_greedy"]


def top_k(scores, n, random_state=None):
    """Indices of the ``n`` largest scores, largest first.

    Equal scores are ordered by a random permutation drawn from
    ``random_state``, so ties do not favour the start of the pool.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
    n : int
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    indices : ndarray of shape (n,), dtype int64
    """
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN; cannot rank them.")
    rng = check_random_state(random_state)
    tiebreak = rng.permutation(scores.shape[0])
    # lexsort sorts by the last key first: score descending, then tiebreak.
    order = np.lexsort((tiebreak, -scores))
    return order[:n].astype(np.int64)


def entropy(proba):
    """Predictive entropy ``-sum_k p_k log p_k`` of each row, in nats.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)

    Returns
    -------
    entropy : ndarray of shape (n_samples,)
    """
    proba = np.asarray(proba, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.where(proba > 0, np.log(proba), 0.0)
    return -np.sum(proba * logp, axis=1)


def nearest_distances(points, centers, batch_size=4096):
    """Euclidean distance from each point to its nearest center, batched.

    Parameters
    ----------
    points : Tensor of shape (n_points, n_features)
    centers : Tensor of shape (n_centers, n_features)
    batch_size : int, default=4096
        Rows of ``points`` and of ``centers`` per block, so memory stays at
        one ``batch_size x batch_size`` block of distances.

    Returns
    -------
    distances : Tensor of shape (n_points,)
        ``inf`` everywhere when there are no centers.
    """
    out = torch.full((points.shape[0],), float("inf"), dtype=points.dtype,
                     device=points.device)
    for start in range(0, points.shape[0], batch_size):
        block = points[start:start + batch_size]
        for c0 in range(0, centers.shape[0], batch_size):
            d = torch.cdist(block, centers[c0:c0 + batch_size]).min(dim=1).values
            out[start:start + batch_size] = torch.minimum(
                out[start:start + batch_size], d)
    return out


def k_center_greedy(pool_features, labeled_features, n, random_state=None,
                    batch_size=4096):
    """Core-set selection by k-center greedy (Sener & Savarese, 2018).

    Repeatedly picks the pool sample farthest from every center so far; the
    labeled samples are the initial centers (with none, the first pick is
    random). Memory is ``O(n_pool)`` plus one ``batch_size`` block of
    distances: no ``n x n`` matrix is built.

    Parameters
    ----------
    pool_features : Tensor or ndarray of shape (n_pool, n_features)
    labeled_features : Tensor or ndarray of shape (n_labeled, n_features)
    n : int
        Number of samples to pick.
    random_state : int, RandomState instance or None, default=None
        Breaks ties between equally far samples.
    batch_size : int, default=4096

    Returns
    -------
    indices : ndarray of shape (n,), dtype int64
        In the order they were picked.
    initial_distances : ndarray of shape (n_pool,)
        Distance of each pool sample to its nearest labeled sample before
        any pick (``inf`` without labeled samples).
    """
    pool = torch.as_tensor(pool_features)
    labeled = torch.as_tensor(labeled_features, device=pool.device,
                              dtype=pool.dtype)
    rng = check_random_state(random_state)
    initial = nearest_distances(pool, labeled, batch_size)
    dist = initial.pow(2)
    picked = []
    for _ in range(n):
        ties = torch.nonzero(dist == dist.max()).flatten()
        i = int(ties[rng.randint(ties.shape[0])]) if ties.shape[0] > 1 \
            else int(ties[0])
        picked.append(i)
        center = pool[i]
        for start in range(0, pool.shape[0], batch_size):
            block = dist[start:start + batch_size]  # a view: updated in place
            torch.minimum(block, (pool[start:start + batch_size] - center)
                          .pow(2).sum(dim=1), out=block)
        dist[i] = -1.0  # never pick the same sample twice
    return np.asarray(picked, dtype=np.int64), initial.cpu().numpy()
