"""Checking user input, and converting image arrays to float tensors.

Every model in aalu_sk reads images in one layout: ``float32`` tensors of
shape ``(n, C, H, W)``. Users hand us arrays in the layouts they already
have; the rules below turn them into that layout predictably. The layout
depends on the shape only, the values on the dtype only:

=================  ==========================  ========================
input shape        read as                     values
=================  ==========================  ========================
``(n, H, W)``      grayscale                   uint8: divided by 255
``(n, C, H, W)``   channels first (torch)      float: kept as they are
``(n, H, W, C)``   channels last (PIL, TF)
=================  ==========================  ========================

How a 4-D array ``(n, a, b, c)`` is read (:func:`image_layout`):

- **channels last** when ``c`` is 1, 3 or 4 and ``a`` and ``b`` are both at
  least ``c``: ``(n, 32, 32, 3)``, ``(n, 28, 28, 1)``;
- **channels first** when ``a`` is 1, 3 or 4 and ``b`` and ``c`` are both at
  least ``a``: ``(n, 3, 32, 32)``, ``(n, 1, 8, 8)``; or when ``c`` is above
  4, with any number of channels ``a`` (no channels-last image has more
  than 4 channels): ``(n, 2, 16, 16)``, ``(n, 13, 64, 64)``;
- **refused** (:class:`ValueError` naming both readings) when both fit,
  as in ``(n, 3, 3, 3)`` or ``(n, 3, 32, 3)``, or neither does, as in
  ``(n, 8, 8, 2)``, rather than guessed.

Lists and torch tensors are accepted and converted with :func:`numpy.asarray`.
Conversion happens batch by batch (:func:`to_tensor`), so a large ``uint8``
pool never exists as a whole in ``float32``.
"""

import hashlib
import math
import numbers

import numpy as np
import torch
from sklearn.utils.validation import check_scalar

__all__ = ["array_fingerprint", "check_samples", "check_images", "image_layout",
           "check_number", "check_positive_ints",
           "check_nonnegative_numbers", "InvalidParameterError",
           "image_shape", "to_tensor", "as_image_tensor", "check_labels",
           "check_n_instances"]


def _as_array(X, name):
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        X = X.to_numpy()
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except (ValueError, TypeError) as exc:
            raise TypeError(
                f"{name} must be an array of images; could not convert a "
                f"{type(X).__name__} to an array: {exc}") from None
    return X


def check_samples(X, name="X", allow_empty=False, min_ndim=2):
    """Validate an array of samples (images or feature rows) without copying.

    Accepts numpy arrays, lists, pandas objects and torch tensors; rejects
    object, complex and non-numeric dtypes, too few dimensions, NaN and
    infinite values (checked in chunks, so a memory-mapped pool is never
    read into memory at once).

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
    name : str, default="X"
        The parameter name used in error messages.
    allow_empty : bool, default=False
        Whether zero samples are acceptable.
    min_ndim : int, default=2

    Returns
    -------
    X : ndarray
        The same data as a numpy array (a view where possible).
    """
    X = _as_array(X, name)
    if X.dtype == object or np.iscomplexobj(X) or X.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers; got dtype {X.dtype}.")
    if X.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions (n_samples, "
            f"...); got an array of shape {X.shape}.")
    if X.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is empty: it holds 0 samples.")
    if X.dtype.kind == "f" and X.size:
        step = max(1, (1 << 24) // max(1, X[0].size))
        for start in range(0, X.shape[0], step):
            finite = np.isfinite(X[start:start + step])
            if not finite.all():
                bad = start + int(np.argmin(finite.reshape(
                    finite.shape[0], -1).all(axis=1)))
                raise ValueError(
                    f"{name} contains NaN or infinite values (the first "
                    f"in sample {bad}).")
    return X


def check_images(X, name="X", allow_empty=False):
    """Validate an array of images without copying it.

    Parameters
    ----------
    X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
            (n_samples, H, W, C)
        The images; see the module docstring for the accepted layouts.
    name : str, default="X"
        The parameter name used in error messages.
    allow_empty : bool, default=False
        Whether zero images are acceptable.

    Returns
    -------
    X : ndarray
        The same data as a numpy array (a view where possible).

    Raises
    ------
    ValueError
        If the shape is not images, or its layout is ambiguous
        (:func:`image_layout`).
    """
    X = check_samples(X, name, allow_empty=allow_empty)
    if X.ndim not in (3, 4):
        raise ValueError(
            f"{name} must be images of shape (n, C, H, W), (n, H, W) or "
            f"(n, H, W, C); got an array of shape {X.shape}. Reshape flat "
            f"vectors, e.g. X.reshape(-1, 1, 8, 8) for 8x8 grayscale.")
    if X.dtype.kind in "bi" or (X.dtype.kind == "u" and X.dtype != np.uint8):
        raise TypeError(
            f"{name} has dtype {X.dtype}; integer images must be uint8 "
            f"(0..255), other images float (any range).")
    image_layout(X.shape, name)
    return X


#: Channel counts that a channels-last image can have.
_LAST_CHANNELS = (1, 3, 4)


def image_layout(shape, name="X"):
    """How an array of images of ``shape`` is read.

    Parameters
    ----------
    shape : tuple of int
        ``(n, H, W)`` or ``(n, a, b, c)``; the rule for 4-D shapes is in
        the module docstring.
    name : str, default="X"
        The parameter name used in error messages.

    Returns
    -------
    layout : {"gray", "channels_first", "channels_last"}

    Raises
    ------
    ValueError
        If both readings of a 4-D shape fit, or neither does.

    Examples
    --------
    >>> from aalu_sk.validation import image_layout
    >>> image_layout((10, 32, 32, 3)), image_layout((10, 3, 32, 32))
    ('channels_last', 'channels_first')
    >>> image_layout((10, 8, 8))
    'gray'
    """
    if len(shape) == 3:
        return "gray"
    _, a, b, c = shape
    last = c in _LAST_CHANNELS and c <= min(a, b)
    first = (a in _LAST_CHANNELS and a <= min(b, c)) or \
        c > max(_LAST_CHANNELS)
    if first != last:
        return "channels_first" if first else "channels_last"
    readings = (f"channels first (n, C, H, W) would be {a} channel(s) of "
                f"{b}x{c} pixels; channels last (n, H, W, C) would be {c} "
                f"channel(s) of {a}x{b} pixels")
    why = "both readings fit, so the layout is ambiguous" if first else \
        "neither reading fits"
    raise ValueError(
        f"{name} has shape {tuple(shape)}: {readings}; {why}. Channels "
        f"first needs C in (1, 3, 4) no larger than H and W, or W above 4; "
        f"channels last needs C in (1, 3, 4) no larger than H and W. Give "
        f"the images in a layout that only one reading fits (e.g. "
        f"np.moveaxis(X, -1, 1) turns channels last into channels first; "
        f"resize images smaller than their channel count).")


def _layout(shape):
    """:func:`image_layout`, or None for other ranks (rows kept as they are)."""
    return image_layout(shape) if len(shape) in (3, 4) else None


def image_shape(X):
    """The ``(C, H, W)`` shape that :func:`to_tensor` gives one image of ``X``.

    Arrays of another rank (feature rows ``(n, d)``) keep their shape.
    """
    layout = _layout(X.shape)
    if layout == "gray":
        return (1,) + tuple(X.shape[1:])
    if layout == "channels_last":
        return (X.shape[3], X.shape[1], X.shape[2])
    return tuple(X.shape[1:])


def to_tensor(X, device="cpu"):
    """Convert a (batch of) checked images to a float32 ``(n, C, H, W)`` tensor.

    Parameters
    ----------
    X : ndarray
        Images as accepted by :func:`check_images`.
    device : str or torch.device, default="cpu"
        Where the tensor goes.

    Returns
    -------
    tensor : torch.Tensor of shape (n, C, H, W), dtype float32
    """
    return as_image_tensor(torch.from_numpy(np.ascontiguousarray(X)).to(device))


def as_image_tensor(t):
    """:func:`to_tensor` of a tensor that holds checked images as stored.

    Lets a loader move raw ``uint8`` batches (four times smaller than
    float) to the GPU and convert them there.

    Parameters
    ----------
    t : torch.Tensor
        A batch as :func:`check_images` accepts it (e.g. ``uint8`` of
        shape ``(n, H, W, C)``), on any device.

    Returns
    -------
    tensor : torch.Tensor of shape (n, C, H, W), dtype float32
        On the same device.
    """
    uint8 = t.dtype == torch.uint8
    layout = _layout(tuple(t.shape))
    if layout == "gray":
        t = t.unsqueeze(1)
    elif layout == "channels_last":
        t = t.permute(0, 3, 1, 2)
    t = t.to(torch.float32)
    if uint8:
        t = t / 255.0
    return t.contiguous()


def check_labels(y, n_samples, name="y", n_classes=None, integer=True):
    """Validate class labels, one per sample.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    n_samples : int
        The number of samples the labels must match.
    name : str, default="y"
    n_classes : int or None, default=None
        If given, labels must be below it.
    integer : bool, default=True
        Require integer labels ``0..K-1`` (what :class:`ImageClassifier`
        trains on). With False any 1-d labels pass (a scikit-learn
        classifier maps them through its ``classes_``).

    Returns
    -------
    y : ndarray of shape (n_samples,)
        int64 when ``integer``.
    """
    y = _as_array(y, name)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-d class labels; got shape {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {y.shape[0]} labels for {n_samples} samples.")
    if not integer:
        return y
    if y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) \
            and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer class labels 0..K-1; got dtype "
            f"{y.dtype}. Encode other labels first, e.g. with "
            f"sklearn.preprocessing.LabelEncoder.")
    y = y.astype(np.int64, copy=False)
    if y.size and y.min() < 0:
        raise ValueError(f"{name} has negative labels; labels must be 0..K-1.")
    if n_classes is not None and y.size and y.max() >= n_classes:
        raise ValueError(
            f"{name} has label {y.max()} but num_classes={n_classes}; labels "
            f"must be 0..{n_classes - 1}.")
    return y


def check_n_instances(n_instances, n_pool):
    """Validate the number of samples to query from a pool of ``n_pool``."""
    if isinstance(n_instances, (bool, np.bool_)) or not isinstance(
            n_instances, numbers.Integral):
        raise TypeError(
            f"n_instances must be a positive integer; got "
            f"{n_instances!r} of type {type(n_instances).__name__}.")
    if n_instances < 1:
        raise ValueError(f"n_instances must be at least 1; got {n_instances}.")
    if n_instances > n_pool:
        raise ValueError(
            f"n_instances={n_instances} is larger than the pool, which holds "
            f"{n_pool} samples.")
    return int(n_instances)


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type or outside its range.

    Both a :class:`ValueError`, which aalu_sk has always raised for a bad
    parameter, and a :class:`TypeError`, which
    :func:`sklearn.utils.check_scalar` raises for one of the wrong type
    (scikit-learn's own parameter validation raises such a double error
    too), so code that catches either keeps working.
    """


def _describe(integer, low, high, include_boundaries, finite, allow_none,
              alternatives):
    """``"a positive integer"``, ``"a number in (0, 1), None or 'auto'"``."""
    left = include_boundaries in ("left", "both")
    right = include_boundaries in ("right", "both")
    if integer and low == 1 and left and high is None:
        what = "a positive integer"
    else:
        what = "an integer" if integer else \
            "a finite number" if finite else "a number"
        if low is not None and high is not None:
            what += (f" in {'[' if left else '('}{low}, "
                     f"{high}{']' if right else ')'}")
        elif low is not None:
            what += f" {'>=' if left else '>'} {low}"
        elif high is not None:
            what += f" {'<=' if right else '<'} {high}"
    options = [what] + ["None"] * bool(allow_none) + list(alternatives)
    return options[0] if len(options) == 1 else \
        ", ".join(options[:-1]) + " or " + options[-1]


def check_number(value, name, *, integer=False, low=None, high=None,
                 include_boundaries="both", finite=False, allow_none=False,
                 alternatives=()):
    """Check one scalar parameter with :func:`sklearn.utils.check_scalar`.

    On top of ``check_scalar``: booleans are refused (``True`` is an
    integer to Python, never a meaningful count or rate), NaN is refused
    (it passes every bound), so is infinity with ``finite=True``, and the
    error says what the parameter accepts and the value it got.

    Parameters
    ----------
    value : object
        The parameter's value.
    name : str
        The parameter's name, for the message.
    integer : bool, default=False
        Require an integer (:class:`numbers.Integral`, numpy's included)
        rather than any real number (:class:`numbers.Real`).
    low, high : int or float, default=None
        Bounds; None: unbounded on that side.
    include_boundaries : {"both", "left", "right", "neither"}, default="both"
        Which bounds are allowed values, as in ``check_scalar`` (use
        ``"neither"`` for a strict lower bound alone).
    finite : bool, default=False
        Also refuse ``inf`` and ``-inf``.
    allow_none : bool, default=False
        Accept None (returned as is).
    alternatives : sequence of str, default=()
        Other values the caller accepts (and resolved before the check,
        like ``"'auto'"``), named in the message only.

    Returns
    -------
    value : object
        ``value``, unchanged.

    Raises
    ------
    InvalidParameterError
        A :class:`ValueError` and :class:`TypeError`, with a message like
        ``"lr must be a number > 0 or 'auto'; got -1.0."``.

    Examples
    --------
    >>> from aalu_sk.validation import check_number
    >>> check_number(3, "epochs", integer=True, low=1)
    3
    >>> check_number(0.0, "lr", low=0, include_boundaries="neither")
    Traceback (most recent call last):
    ...
    aalu_sk.validation.InvalidParameterError: lr must be a number > 0; got 0.0.
    """
    if allow_none and value is None:
        return value
    message = (f"{name} must be "
               f"{_describe(integer, low, high, include_boundaries, finite, allow_none, alternatives)}"
               f"; got {value!r}.")
    if isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(message)
    try:
        check_scalar(value, name, numbers.Integral if integer else
                     numbers.Real, min_val=low, max_val=high,
                     include_boundaries=include_boundaries)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(message) from exc
    if not integer and (math.isnan(value) or finite and math.isinf(value)):
        raise InvalidParameterError(message)
    return value


def check_positive_ints(estimator, names):
    """Check that each named parameter is an integer >= 1.

    One :func:`check_number` per name; raises
    :class:`InvalidParameterError` (a ValueError) naming the first bad one.
    """
    for name in names:
        check_number(getattr(estimator, name), name, integer=True, low=1)


def check_nonnegative_numbers(estimator, names):
    """Check that each named parameter is a finite number >= 0.

    One :func:`check_number` per name; raises
    :class:`InvalidParameterError` (a ValueError) naming the first bad one.
    """
    for name in names:
        check_number(getattr(estimator, name), name, low=0, finite=True)


def array_fingerprint(*arrays):
    """SHA-256 over arrays' values, dtypes and shapes, in order.

    Parameters
    ----------
    *arrays : array-like

    Returns
    -------
    fingerprint : str
        64 hexadecimal digits; equal only for equal data.
    """
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(_as_array(array, "array"))
        digest.update(f"{array.dtype.str}:{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()
