"""What every representation shares: encoding in batches, caching, checkpoints.

A representation is a scikit-learn transformer: ``fit(X_unlabeled)``
learns (or loads) an encoder without labels, ``transform(X)`` gives a
float32 ``(n, d)`` embedding. The ones in this package keep the encoder as
a torch module in ``encoder_`` (float ``(n, C, H, W)`` images in, ``(n, d)``
out), which :class:`aalu_sk.ImageClassifier` fine-tunes with
``finetune=True``.
"""

import copy
import hashlib
import io
import json
import logging
import os
import weakref
from collections import OrderedDict

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .._io import atomic_write
from .._runtime import resolve_device
from ..validation import (array_fingerprint, check_images, image_shape,
                          to_tensor)

__all__ = ["encode", "check_representation", "is_fitted",
           "fitted_representation",
           "EmbeddingCache", "training_fingerprint", "save_encoder",
           "load_encoder"]

log = logging.getLogger(__name__)

_CHECKPOINT_FORMAT = 1


def encode(encoder, X, batch_size=256, device="cpu"):
    """Embed images ``X`` with ``encoder`` in batches: eval mode, no grad.

    Parameters
    ----------
    encoder : torch.nn.Module
    X : ndarray
        Checked images (:func:`aalu_sk.validation.check_images`).
    batch_size : int, default=256
    device : str, default="cpu"
        The encoder is moved there for the pass and back to the CPU after.

    Returns
    -------
    Z : ndarray of shape (n_samples, d), float32
    """
    was_training = encoder.training
    encoder.eval().to(device)
    out = []
    try:
        with torch.no_grad():
            for start in range(0, X.shape[0], batch_size):
                xb = to_tensor(X[start:start + batch_size], device)
                out.append(encoder(xb).flatten(1).float().cpu().numpy())
    finally:
        encoder.train(was_training).to("cpu")
    return np.concatenate(out).astype(np.float32, copy=False)


def encode_fitted(representation, X):
    """``transform`` of a fitted torch representation (``encoder_``,
    ``input_shape_``, ``batch_size``, ``device``): images checked against
    the shape it was fitted on, then :func:`encode`."""
    check_is_fitted(representation, "encoder_")
    X = check_images(X)
    if image_shape(X) != representation.input_shape_:
        raise ValueError(
            f"X holds images of shape {image_shape(X)} (C, H, W) but the "
            f"embedding was fitted on {representation.input_shape_}.")
    return encode(representation.encoder_, X, representation.batch_size,
                  resolve_device(representation.device))


def check_representation(representation, name="representation"):
    """Raise TypeError unless ``representation`` has ``fit`` and ``transform``."""
    if not (callable(getattr(representation, "fit", None))
            and callable(getattr(representation, "transform", None))):
        raise TypeError(
            f"{name} must be a scikit-learn transformer with fit(X) and "
            f"transform(X), e.g. aalu_sk.representation."
            f"SelfSupervisedEmbedding(); got {representation!r}.")
    return representation


def is_fitted(estimator):
    """Whether :func:`sklearn.utils.validation.check_is_fitted` passes."""
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def fitted_representation(representation, X):
    """``representation`` itself if it is fitted, else a fitted clone on ``X``."""
    check_representation(representation)
    if is_fitted(representation):
        return representation
    return clone(representation).fit(X)


def is_frozen_head(estimator):
    """Whether ``estimator`` is a head on a frozen label-free representation.

    True for a classifier with a ``representation`` and ``finetune``
    false (:class:`~aalu_sk.ImageClassifier`'s frozen mode); False for any
    other estimator.
    """
    return getattr(estimator, "representation", None) is not None and \
        not getattr(estimator, "finetune", False)


class EmbeddingCache:
    """Embeddings of a fitted representation, remembered image by image.

    Each image is keyed by a digest of its bytes, so a pool that loses its
    queried samples, a labeled set that grows, or the same images seen
    again in another fit are embedded once.

    Parameters
    ----------
    representation : fitted transformer
    max_items : int, default=1_000_000
        Images remembered at most (the oldest are dropped first).
    shared : bool, default=False
        Share the remembered embeddings with every other shared cache of
        the same representation object while it stays fitted the same way
        (the classifiers of an active-learning loop, each a clone reading
        one fitted representation, embed the pool once between them).
        Fitting the representation again (new fitted attributes) starts
        afresh, so no embedding of the earlier fit is ever returned.
    """

    def __init__(self, representation, max_items=1_000_000, shared=False):
        self.representation = representation
        self.max_items = max_items
        self.shared = shared
        self._state = _fitted_state(representation)
        self._rows = _shared_rows(representation, self._state) if shared \
            else OrderedDict()

    def transform(self, X):
        """Embeddings of images ``X``, computing only the ones not seen yet."""
        X = check_images(X)
        state = _fitted_state(self.representation)
        if not _same_state(state, self._state):  # refitted since
            self._state = state
            self._rows = _shared_rows(self.representation, state) \
                if self.shared else OrderedDict()
        keys = [key.tobytes() for key in pixel_keys(X)]
        missing = [i for i, k in enumerate(keys) if k not in self._rows]
        if missing:
            new = np.asarray(self.representation.transform(X[missing]),
                             dtype=np.float32)
            for i, row in zip(missing, new):
                self._rows[keys[i]] = row
            while len(self._rows) > self.max_items:
                self._rows.popitem(last=False)
            if not all(k in self._rows for k in keys):  # more than fits
                return np.asarray(self.representation.transform(X),
                                  dtype=np.float32)
        return np.stack([self._rows[k] for k in keys])


#: representation -> (fitted state, rows) of the shared caches; an entry
#: holds no reference to its representation, so it goes when that does.
_SHARED_ROWS = weakref.WeakKeyDictionary()


def _fitted_state(representation):
    """The fitted attributes (``name_``) of ``representation``, by object.

    A fit assigns new objects to them, so an unchanged tuple (compared with
    ``is``) means the same fit. The tuple keeps those objects alive, so
    their ids cannot be reused while it is compared against.
    """
    attributes = getattr(representation, "__dict__", {})
    return tuple((k, v) for k, v in sorted(attributes.items())
                 if k.endswith("_") and not k.startswith("__"))


def _same_state(a, b):
    return len(a) == len(b) and all(
        ka == kb and va is vb for (ka, va), (kb, vb) in zip(a, b))


def _shared_rows(representation, state):
    try:
        entry = _SHARED_ROWS.get(representation)
        if entry is None or not _same_state(entry[0], state):
            entry = _SHARED_ROWS[representation] = (state, OrderedDict())
    except TypeError:  # not hashable or not weak-referenceable: no sharing
        return OrderedDict()
    return entry[1]


def pixel_keys(X):
    """A 16-byte digest (BLAKE2b) of each image's pixels: ``(n, 16)`` uint8.

    Equal images get equal keys, whatever their position; the caches of
    embeddings look images up by them.
    """
    flat = np.ascontiguousarray(X).reshape(X.shape[0], -1)
    keys = np.empty((X.shape[0], 16), np.uint8)
    for i, row in enumerate(flat):
        keys[i] = np.frombuffer(hashlib.blake2b(
            row.tobytes(), digest_size=16).digest(), np.uint8)
    return keys


def training_fingerprint(X, params):
    """A digest of training images ``X`` and the parameters that shape a fit."""
    digest = hashlib.sha256(array_fingerprint(X).encode())
    digest.update(json.dumps(params, sort_keys=True, default=repr).encode())
    return digest.hexdigest()


def save_encoder(path, fingerprint, encoder):
    """Write ``encoder``'s weights and ``fingerprint`` to ``path`` atomically."""
    buffer = io.BytesIO()
    torch.save({"format": _CHECKPOINT_FORMAT, "fingerprint": fingerprint,
                "state_dict": copy.deepcopy(encoder).cpu().state_dict()},
               buffer)
    atomic_write(path, buffer.getvalue())


def load_encoder(path, fingerprint, encoder):
    """Load weights saved for ``fingerprint`` into ``encoder``; False if none.

    A missing file, another format or another fingerprint (other data or
    parameters) gives False and leaves ``encoder`` as it was; so does a
    file that does not load (damaged, or not a checkpoint), with a warning
    naming it, and the fit that follows replaces it.
    """
    if path is None or not os.path.exists(path):
        return False
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged or foreign file raises anything
        log.warning("checkpoint %s does not load (%s: %s); training the "
                    "encoder again and replacing it", path,
                    type(exc).__name__, exc)
        return False
    if not isinstance(saved, dict) or saved.get("format") != _CHECKPOINT_FORMAT \
            or saved.get("fingerprint") != fingerprint:
        return False
    encoder.load_state_dict(saved["state_dict"])
    return True

