"""Paired comparisons of strategies over seeds, with bootstrap intervals.

Two strategies run with the same seed share the split, the initial labeled
set and the first task model, so their learning-curve areas are compared
seed by seed: the paired difference removes the variance the seed brings
to both.
"""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["paired_difference"]


def paired_difference(a, b, confidence=0.95, n_boot=10000, random_state=0):
    """Mean of ``a - b`` over paired seeds, with a bootstrap interval.

    Parameters
    ----------
    a, b : array-like of shape (n_seeds,)
        One value per seed (e.g. the learning-curve AUC), in the same seed
        order.
    confidence : float, default=0.95
        Coverage of the percentile bootstrap interval.
    n_boot : int, default=10000
        Bootstrap resamples of the seeds.
    random_state : int, RandomState instance or None, default=0
        Seeds the resampling, so a report is reproducible.

    Returns
    -------
    result : dict
        ``mean`` (mean difference), ``low`` and ``high`` (interval bounds),
        ``wins`` (seeds where ``a > b``), ``worst`` (the smallest
        difference) and ``n`` (seeds).

    Examples
    --------
    >>> from aalu_sk.experiment.stats import paired_difference
    >>> d = paired_difference([0.91, 0.93, 0.90], [0.90, 0.90, 0.89])
    >>> round(d["mean"], 4), d["wins"], d["n"]
    (0.0167, 3, 3)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"a and b must be 1-d with one value per seed and "
                         f"the same length; got shapes {a.shape} and "
                         f"{b.shape}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}.")
    diff = a - b
    rng = check_random_state(random_state)
    means = diff[rng.randint(diff.size, size=(n_boot, diff.size))].mean(1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return {"mean": float(diff.mean()), "low": float(low),
            "high": float(high), "wins": int(np.sum(diff > 0)),
            "worst": float(diff.min()), "n": int(diff.size)}
