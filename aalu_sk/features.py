"""What selectors read from a task model: features, probabilities, losses.

:func:`task_outputs` is the one place that knows how to ask an estimator:
an :class:`~aalu_sk.ImageClassifier` (or anything with ``forward_pass``)
gives all three in one batched pass; a plain scikit-learn classifier gives
features from ``transform`` (or the flattened input), probabilities from
``predict_proba``, and losses computed from those probabilities.
"""

from typing import NamedTuple, Optional

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

__all__ = ["TaskOutputs", "task_outputs"]


class TaskOutputs(NamedTuple):
    """What one pass of a task model over a set of images gives.

    Attributes
    ----------
    features : ndarray of shape (n_samples, n_features), float32
        Input of the final linear layer.
    proba : ndarray of shape (n_samples, n_classes), float32
        Softmax probabilities.
    loss : ndarray of shape (n_samples,) or None
        Per-sample cross-entropy, when labels were given.
    """

    features: np.ndarray
    proba: np.ndarray
    loss: Optional[np.ndarray] = None


def _check_fitted(estimator):
    if estimator is None:
        raise ValueError(
            "estimator is None; this strategy needs the fitted task model "
            "(the learner's estimator).")
    if hasattr(estimator, "forward_pass"):
        if getattr(estimator, "input_shape_", None) is None:
            raise NotFittedError(
                f"The estimator {type(estimator).__name__} is not fitted; "
                f"fit it (or give the learner X_training) before querying.")
        return
    if not hasattr(estimator, "predict_proba"):
        raise TypeError(
            f"estimator must have predict_proba; {type(estimator).__name__} "
            f"has not.")
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise NotFittedError(
            f"The estimator {type(estimator).__name__} is not fitted; fit it "
            f"(or give the learner X_training) before querying.") from None


def task_outputs(estimator, X, y=None):
    """Features, class probabilities and (with ``y``) per-sample losses.

    Parameters
    ----------
    estimator : fitted classifier
        An :class:`~aalu_sk.ImageClassifier`, any object with a
        ``forward_pass(X, y)`` method, or a scikit-learn classifier with
        ``predict_proba``.
    X : ndarray of shape (n_samples, ...)
    y : ndarray of shape (n_samples,) or None, default=None

    Returns
    -------
    outputs : TaskOutputs
        ``features`` float32 ``(n, d)``, ``proba`` float32 ``(n, k)``,
        ``loss`` float32 ``(n,)`` or None.
    """
    _check_fitted(estimator)
    if hasattr(estimator, "forward_pass"):
        return estimator.forward_pass(X, y)
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float32)
    if hasattr(estimator, "transform"):
        features = np.asarray(estimator.transform(X), dtype=np.float32)
    else:
        features = np.asarray(X, dtype=np.float32).reshape(X.shape[0], -1)
    loss = None
    if y is not None:
        classes = np.asarray(estimator.classes_)
        col = np.searchsorted(classes, y)
        col = np.clip(col, 0, len(classes) - 1)
        if not np.array_equal(classes[col], y):
            raise ValueError(
                "y holds labels the estimator was not fitted on; its classes "
                f"are {classes.tolist()}.")
        picked = proba[np.arange(len(y)), col]
        loss = -np.log(np.clip(picked, 1e-12, None)).astype(np.float32)
    return TaskOutputs(features.reshape(features.shape[0], -1), proba, loss)
