"""An honest accuracy estimate from a small uniformly random audit sample.

Actively chosen images are hard cases by construction, so the model's
accuracy on them (the page's *batch accuracy*) says little about its
accuracy on the folder. Each cycle therefore mixes a small share
(``random_share``, 10% by default) of *audit* images into the batch:
drawn uniformly at random from the images nobody answered yet, shown like
any other image, marked in the store (``batch_items.random``) and **kept
out of training**. Their labels are a simple random sample that no model
has seen, so a model's share of correct guesses on them is an unbiased
estimate of its accuracy on the unlabeled images of the folder
(exactly uniform over the whole folder for the audit images of the first
cycle; later ones are uniform over what was still unlabeled when they
were drawn). :func:`accuracy_interval` gives the Wilson score interval.

How far active learning is ahead of random selection
(:func:`active_vs_random`) is measured on the audit labels too: a fixed,
label-free learner (logistic regression on the 8 x 8 grey thumbnails of
:func:`~aalu_sk.labeling.coverage.coarse_features`) is trained, fold by
fold, once on the audit labels of the other folds (a random sample) and
once on as many labels drawn from the actively chosen ones; both predict
the held-out fold. The mean paired difference of their accuracies, with a
bootstrap interval over the audit images, is the gain of the active
sample over a random one *of the same size, for that learner*. It does
not measure the task model itself (which never trains on random labels
alone), and with few audit labels the interval is wide; both are said on
the page.
"""

import numpy as np

__all__ = ["audit_count", "accuracy_interval", "active_vs_random",
           "MIN_AUDIT_LABELS"]

#: The stopping signal waits for this many audit labels (an accuracy
#: known to about +-0.15) before it says stop.
MIN_AUDIT_LABELS = 20


def audit_count(n, share, rng):
    """How many of a batch of ``n`` are audit images.

    ``floor(n * share)`` plus one more with probability equal to the
    fraction left, so that the expected share is exactly ``share``.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.labeling.estimate import audit_count
    >>> rng = np.random.default_rng(0)
    >>> counts = [audit_count(20, 0.1, rng) for _ in range(3)]
    >>> counts
    [2, 2, 2]
    """
    whole = int(np.floor(n * share))
    return min(n, whole + int(rng.random() < n * share - whole))


def accuracy_interval(correct, n, confidence=0.95):
    """The share correct and its Wilson score interval.

    The interval is :func:`scipy.stats.binomtest`'s
    ``proportion_ci(method="wilson")``; with no audit label yet (``n`` 0)
    there is no estimate, and None is returned.

    Parameters
    ----------
    correct, n : int
    confidence : float, default=0.95

    Returns
    -------
    estimate : dict or None
        ``accuracy``, ``low``, ``high``, ``n``, ``correct``,
        ``confidence``; None when ``n`` is 0.

    References
    ----------
    E. B. Wilson, "Probable inference, the law of succession, and
    statistical inference", JASA 22(158), 1927.

    Examples
    --------
    >>> from aalu_sk.labeling.estimate import accuracy_interval
    >>> e = accuracy_interval(8, 10)
    >>> round(e["low"], 3), round(e["high"], 3)
    (0.49, 0.943)
    """
    if not n:
        return None
    from scipy.stats import binomtest

    ci = binomtest(int(correct), int(n)).proportion_ci(
        confidence_level=confidence, method="wilson")
    return {"accuracy": correct / n, "low": float(ci.low),
            "high": float(ci.high), "n": int(n), "correct": int(correct),
            "confidence": confidence}


def _fit_predict(X, y, X_test):
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return np.full(len(X_test), y[0])
    model = LogisticRegression(max_iter=500)
    return model.fit(X, y).predict(X_test)


def active_vs_random(F_active, y_active, F_audit, y_audit, random_state=0,
                     n_folds=5, confidence=0.95):
    """Gain of the actively chosen labels over random ones, same size.

    Parameters
    ----------
    F_active : ndarray of shape (n_active, n_features)
    y_active : ndarray of shape (n_active,)
        Features and labels of the actively chosen (training) images.
    F_audit : ndarray of shape (n_audit, n_features)
    y_audit : ndarray of shape (n_audit,)
        The same for the audit images (a uniformly random sample).
    random_state : int, default=0
    n_folds : int, default=5
    confidence : float, default=0.95

    Returns
    -------
    comparison : dict or None
        ``active_accuracy`` and ``random_accuracy`` (out of fold, on the
        audit images), ``gain`` (their difference), ``low``/``high`` (the
        percentile interval of :func:`scipy.stats.bootstrap`, 999
        resamples, of the mean paired difference over the audit images;
        ``low == gain == high`` when the differences do not vary, where
        there is nothing to resample),
        ``n_train`` (labels per model) and ``n_test``; None with fewer
        than ``2 * n_folds`` audit labels or ``n_train`` active ones.
    """
    from scipy.stats import bootstrap

    rng = np.random.default_rng(random_state)
    n = len(y_audit)
    if n < 2 * n_folds:
        return None
    folds = rng.permutation(n) % n_folds
    n_train = n - n // n_folds          # the smallest training fold size
    if len(y_active) < n - int(np.sum(folds == n_folds - 1)):
        return None
    hit_active, hit_random = np.zeros(n), np.zeros(n)
    for f in range(n_folds):
        test, train = folds == f, folds != f
        pick = rng.choice(len(y_active), int(train.sum()), replace=False)
        hit_active[test] = _fit_predict(F_active[pick], y_active[pick],
                                        F_audit[test]) == y_audit[test]
        hit_random[test] = _fit_predict(F_audit[train], y_audit[train],
                                        F_audit[test]) == y_audit[test]
    diff = hit_active - hit_random
    low = high = float(diff.mean())
    if np.ptp(diff) > 0:
        ci = bootstrap((diff,), np.mean, confidence_level=confidence,
                       n_resamples=999, method="percentile",
                       random_state=rng).confidence_interval
        low, high = float(ci.low), float(ci.high)
    return {"active_accuracy": float(hit_active.mean()),
            "random_accuracy": float(hit_random.mean()),
            "gain": float(diff.mean()), "low": low, "high": high,
            "n_train": n_train, "n_test": n, "confidence": confidence}
