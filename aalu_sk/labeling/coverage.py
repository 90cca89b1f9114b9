"""The cold-start batch: cover the folder before any label exists.

With no label there is no model to ask, so the first batch should show
the variety of the folder rather than, say, the first files by name.
:func:`coverage_batch` clusters coarse pixel features with k-means (one
cluster per image wanted) and takes the image nearest to each centre.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans

__all__ = ["coarse_features", "coverage_batch"]


def coarse_features(X, side=8):
    """Grayscale ``side`` x ``side`` thumbnails, flattened and standardised.

    Parameters
    ----------
    X : ndarray of uint8, shape (n, H, W) or (n, H, W, C)
    side : int, default=8

    Returns
    -------
    features : ndarray of float32, shape (n, side * side)
    """
    x = torch.as_tensor(np.asarray(X), dtype=torch.float32) / 255.0
    if x.ndim == 4:
        x = x.mean(dim=3)
    x = F.adaptive_avg_pool2d(x.unsqueeze(1), side).flatten(1).numpy()
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)


def coverage_batch(features, n, random_state=0):
    """Positions of ``n`` samples that cover ``features`` (k-means medoids).

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
    n : int
        How many to choose; all samples (in order) when ``n >= n_samples``.
    random_state : int, default=0

    Returns
    -------
    indices : ndarray of int64, shape (min(n, n_samples),)
        Distinct positions, the centres of the largest clusters first.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.labeling.coverage import coverage_batch
    >>> X = np.r_[np.zeros((50, 2)), np.ones((3, 2)) * 10]
    >>> sorted(int(i) >= 50 for i in coverage_batch(X, 2))
    [False, True]
    """
    features = np.asarray(features, dtype=np.float64)
    m = features.shape[0]
    if n >= m:
        return np.arange(m, dtype=np.int64)
    km = KMeans(n_clusters=n, n_init=3, random_state=random_state)
    assignment = km.fit_predict(features)
    sizes = np.bincount(assignment, minlength=n)
    picked, taken = [], np.zeros(m, dtype=bool)
    for c in np.argsort(-sizes, kind="stable"):
        members = np.flatnonzero((assignment == c) & ~taken)
        if members.size == 0:  # empty cluster: nearest free sample instead
            members = np.flatnonzero(~taken)
        d = ((features[members] - km.cluster_centers_[c]) ** 2).sum(axis=1)
        best = members[np.argmin(d)]
        taken[best] = True
        picked.append(best)
    return np.asarray(picked, dtype=np.int64)
