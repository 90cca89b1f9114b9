"""When to stop labeling, without a test set: stabilising predictions.

Each cycle's model predicts the classes of a fixed *stop set*, a sample of
the images chosen once, labeled or not. When consecutive models keep
agreeing on it, more labels are no longer changing what the model says,
and labeling can stop (the idea of Bloodgood & Vijay-Shanker's
"stabilizing predictions"). Agreement is Cohen's kappa between the two
prediction vectors, which discounts the agreement two models would reach
by chance given how often each predicts each class.

The module is pure (arrays in, numbers out): the labeling app
(:mod:`aalu_sk.labeling`) and the experiment runner
(:func:`aalu_sk.experiment.run_experiment` with ``stop_set``) both use it.

References
----------
M. Bloodgood and K. Vijay-Shanker, "A method for stopping active learning
based on stabilizing predictions and the need for user-adjustable
stopping", CoNLL 2009.
"""

import numpy as np

__all__ = ["prediction_agreement", "stop_set_indices", "stopping_point",
           "StabilizingPredictions"]


def prediction_agreement(previous, current):
    """Cohen's kappa between two models' predictions on the same samples.

    :func:`sklearn.metrics.cohen_kappa_score`, with the one case where
    kappa's formula is 0/0 defined: when both models predict the same
    single class everywhere, chance agreement is already 1, and scikit-learn
    returns NaN (with an ``UndefinedMetricWarning``); here that is 1, since
    the predictions are identical. Two models constant on *different*
    classes agree on nothing, and their kappa is 0, as scikit-learn says.

    Parameters
    ----------
    previous, current : array-like of shape (n_samples,)
        Predicted labels (integers or strings) of two models.

    Returns
    -------
    kappa : float
        1 for identical predictions (also when both predict one class
        everywhere, where kappa's usual formula is 0/0), 0 for the
        agreement expected by chance, negative below it.

    Examples
    --------
    >>> from aalu_sk.stopping import prediction_agreement
    >>> prediction_agreement([0, 1, 1, 0], [0, 1, 1, 0])
    1.0
    >>> prediction_agreement([0, 0, 1, 1], [0, 1, 0, 1])
    0.0
    >>> prediction_agreement(["cat"] * 4, ["cat"] * 4)
    1.0
    """
    from sklearn.metrics import cohen_kappa_score

    previous, current = np.asarray(previous), np.asarray(current)
    if previous.shape != current.shape or previous.ndim != 1:
        raise ValueError(
            f"previous and current must be 1-d and of one length; got shapes "
            f"{previous.shape} and {current.shape}.")
    if previous.size == 0:
        raise ValueError("previous and current are empty; the stop set "
                         "needs at least one sample.")
    # One integer code per label, labels compared as numpy compares them
    # (scikit-learn refuses a mix of numbers and strings, which a JSON
    # round trip of stored predictions could bring).
    codes = np.unique(np.concatenate([previous, current]),
                      return_inverse=True)[1].ravel()
    if codes.max() == 0:
        return 1.0  # both constant on one class: identical, kappa is 0/0
    return float(cohen_kappa_score(codes[:previous.size],
                                   codes[previous.size:]))


def stop_set_indices(n_samples, size, random_state):
    """A fixed random stop set: ``min(size, n_samples)`` sorted positions.

    Parameters
    ----------
    n_samples : int
    size : int
    random_state : int
        Seed; the same seed gives the same stop set.

    Returns
    -------
    indices : ndarray of int64, ascending
    """
    rng = np.random.default_rng(random_state)
    size = min(int(size), int(n_samples))
    return np.sort(rng.choice(int(n_samples), size=size, replace=False)) \
        .astype(np.int64)


def stopping_point(agreements, threshold=0.99, window=3):
    """The first cycle at which the last ``window`` agreements pass.

    Parameters
    ----------
    agreements : sequence of float or None
        ``agreements[k]`` compares the models of cycles ``k - 1`` and
        ``k`` (None where there is no previous model).
    threshold : float, default=0.99
    window : int, default=3

    Returns
    -------
    cycle : int or None
        The first ``k`` with ``agreements[k - window + 1 .. k]`` all at or
        above ``threshold``; None if the criterion never fires.

    Examples
    --------
    >>> from aalu_sk.stopping import stopping_point
    >>> stopping_point([None, 0.5, 0.995, 0.999, 1.0, 0.97])
    4
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold={threshold!r}: must be in (0, 1].")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) \
            or window < 1:
        raise ValueError(f"window={window!r}: must be a positive integer.")
    run = 0
    for k, value in enumerate(agreements):
        run = run + 1 if value is not None and not np.isnan(value) and \
            value >= threshold else 0
        if run >= window:
            return k
    return None


class StabilizingPredictions:
    """Follow consecutive models' agreement on a stop set, cycle by cycle.

    Parameters
    ----------
    threshold : float, default=0.99
        Kappa each of the last ``window`` agreements must reach.
    window : int, default=3
        How many consecutive agreements must pass (so ``window + 1``
        models must agree pairwise in a row).

    Attributes
    ----------
    agreements_ : list of float or None
        One per :meth:`update`; None for the first model.

    Examples
    --------
    >>> from aalu_sk.stopping import StabilizingPredictions
    >>> monitor = StabilizingPredictions(threshold=0.9, window=2)
    >>> for predictions in ([0, 1, 2, 2], [0, 1, 2, 1], [0, 1, 2, 1],
    ...                     [0, 1, 2, 1]):
    ...     _ = monitor.update(predictions)
    >>> monitor.should_stop(), monitor.stopped_at()
    (True, 3)
    """

    def __init__(self, threshold=0.99, window=3):
        self.threshold = threshold
        self.window = window

    def update(self, predictions):
        """Add the next model's predictions on the stop set.

        Returns
        -------
        agreement : float or None
            Kappa with the previous model's predictions, None for the
            first model or when the stop set changed size.
        """
        predictions = np.asarray(predictions)
        previous = getattr(self, "last_", None)
        value = None
        if previous is not None and previous.shape == predictions.shape:
            value = prediction_agreement(previous, predictions)
        self.agreements_ = getattr(self, "agreements_", []) + [value]
        self.last_ = predictions
        return value

    def stopped_at(self):
        """The first update (0-based) where the criterion fired, or None."""
        return stopping_point(getattr(self, "agreements_", []),
                              self.threshold, self.window)

    def should_stop(self):
        """Whether the last ``window`` agreements all pass ``threshold``."""
        agreements = getattr(self, "agreements_", [])
        return len(agreements) >= self.window and stopping_point(
            agreements[-self.window:], self.threshold, self.window) is not None
