"""The label-free representation of a labeling project, fitted once per folder.

With ``LabelingProject(representation=...)`` other than ``"none"``, every
image of the folder is embedded once, without labels, and the embedding
is used twice: the cold-start batch is chosen for coverage in it
(:func:`.coverage.coverage_batch` on the embedding instead of 8x8
thumbnails), and the model of every cycle is a linear head on it
(:class:`~aalu_sk.ImageClassifier` with ``representation=`` and
``finetune=False``), which retrains in about a second. The strategy reads
the same embedding: AALU's cold start (TypiClust) clusters it through the
model's :meth:`~aalu_sk.ImageClassifier.embed`, and the model's features
are the embedding itself.

The names (:data:`LABEL_REPRESENTATIONS`, checked by
:func:`check_representation`):

- ``"none"``: no representation; thumbnails for the cold start and the
  task model (``model=``, the small CNN) trained from scratch.
- ``"pixels"``: :class:`~aalu_sk.representation.PixelPCA` (standardised
  pixels, 50 principal components); well under a second.
- ``"ssl"``: :class:`~aalu_sk.representation.SelfSupervisedEmbedding`
  (SimCLR on the folder itself, its default recipe; needs lightly, the
  ``ssl`` extra); minutes on a CPU, seconds on a GPU.
- ``"pretrained:SOURCE:MODEL"``:
  :class:`~aalu_sk.representation.PretrainedEmbedding` with the weights
  of the local cache (``pretrained:torchvision:resnet18``); a
  ``PretrainedEmbedding`` (or any other scikit-learn transformer) can be
  passed as an object instead, e.g. with ``weights=`` a local file.

The fitted embedding is kept in one ``.npz`` file beside the store
(:func:`embedding_path`), written atomically (:func:`aalu_sk._io.atomic_write`)
with a fingerprint of the folder's decoded images (the set, not the
order or the file names) and of the representation's parameters:
reopening the project loads it, while an image added, removed or edited,
another ``image_size`` or other parameters fit it again. The file holds
plain arrays (it is read with ``allow_pickle=False``); a file that does
not load is refitted.
"""

import hashlib
import importlib.util
import json
import logging
import os
import re
import time
import zipfile
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from .._io import atomic_write
from .._runtime import derive_seed
from ..representation import (PRETRAINED_SOURCES, PixelPCA,
                              PretrainedEmbedding, SelfSupervisedEmbedding)
from ..representation.base import check_representation as _check_transformer
from ..representation.base import pixel_keys
from ..validation import check_images

__all__ = ["LABEL_REPRESENTATIONS", "DEFAULT_REPRESENTATION",
           "check_representation", "representation_name", "make_representation",
           "FolderEmbedding", "embedding_path", "embedding_fingerprint",
           "load_embedding", "fit_embedding", "check_weights"]

logger = logging.getLogger("aalu_sk.labeling")

#: The names ``LabelingProject(representation=...)`` takes, besides
#: ``"pretrained:SOURCE:MODEL"`` and transformer objects.
LABEL_REPRESENTATIONS = ("none", "pixels", "ssl")
#: The default: the cheap one (see :doc:`/user_guide/labeling`).
DEFAULT_REPRESENTATION = "pixels"
_FORMAT = 1
# Parameters that do not change the embedding (left out of the fingerprint).
_NOT_LEARNED = ("device", "verbose", "checkpoint", "batch_size")


def check_representation(value, name="representation"):
    """``value`` checked: a name of :data:`LABEL_REPRESENTATIONS`,
    ``"pretrained:SOURCE:MODEL"``, or a transformer (returned as it is).

    Raises
    ------
    ValueError
        For an unknown name, or ``"ssl"`` without lightly installed.
    TypeError
        For an object that is not a transformer.
    """
    if not isinstance(value, str):
        return _check_transformer(value, name)
    if value in LABEL_REPRESENTATIONS:
        if value == "ssl" and importlib.util.find_spec("lightly") is None:
            raise ValueError(f"{name}='ssl' trains SimCLR with lightly, "
                             f"which is not installed: pip install "
                             f"'aalu_sk[ssl]' (or use 'pixels').")
        return value
    kind, _, model = value.partition(":")
    source, _, arch = model.partition(":")
    if kind == "pretrained" and source in PRETRAINED_SOURCES and arch:
        return value
    raise ValueError(
        f"{name}={value!r}: use one of {', '.join(LABEL_REPRESENTATIONS)} "
        f"or pretrained:SOURCE:MODEL with SOURCE one of "
        f"{', '.join(PRETRAINED_SOURCES)} (e.g. "
        f"pretrained:torchvision:resnet18).")


def representation_name(representation):
    """What the page and the cycles call ``representation``."""
    if isinstance(representation, str):
        return representation
    name = getattr(representation, "name", None)
    if isinstance(representation, PretrainedEmbedding) and isinstance(
            name, str):
        return f"pretrained:{name}"
    return type(representation).__name__


def make_representation(representation, random_state=0, device="auto"):
    """The unfitted transformer for ``representation`` (None for ``"none"``).

    A transformer object is cloned; names get the project's seed and
    device.
    """
    representation = check_representation(representation)
    seed = derive_seed(random_state, "representation")
    if not isinstance(representation, str):
        return clone(representation)
    if representation == "none":
        return None
    if representation == "pixels":
        return PixelPCA(n_components=50, random_state=seed)
    if representation == "ssl":
        return SelfSupervisedEmbedding(random_state=seed, device=device,
                                       verbose=1)
    return PretrainedEmbedding(representation.partition(":")[2],
                               device=device)


def check_weights(representation):
    """Load an unfitted pretrained backbone's weights once, so that a
    missing or unreadable file is refused before any work, not after the
    images are read.

    Other representations are left alone (an SSL fit is the training).

    Raises
    ------
    ValueError
        Naming ``representation`` and what is wrong with its weights.
    """
    if isinstance(representation, PretrainedEmbedding):
        try:
            clone(representation).fit(np.zeros((1, 3, 32, 32), np.float32))
        except (OSError, ValueError, ImportError) as exc:
            raise ValueError(f"representation="
                             f"{representation_name(representation)!r}: "
                             f"{exc}") from None


class FolderEmbedding(TransformerMixin, BaseEstimator):
    """The embedding of a fixed set of images, looked up by their pixels.

    :meth:`fit` fits a clone of ``representation`` on the images (in an
    order fixed by their pixels, so the result depends on the set only),
    embeds each once and divides the embedding by one number, its root
    mean variance per dimension (distances keep their shape; a head on it
    trains with the same learning rate whatever the representation).
    :meth:`transform` then looks each image up by a digest of its pixels:
    the model and the strategy read the embedding without running the
    encoder again. Images not seen in :meth:`fit` are refused.

    A fitted one is frozen: :func:`sklearn.base.clone` returns it as it is.

    Parameters
    ----------
    representation : transformer
        Unfitted (it is cloned), e.g. :class:`~aalu_sk.representation.PixelPCA`.

    Attributes
    ----------
    embedding_ : ndarray of float32, shape (n_images, d)
        In the (pixel-sorted) order of ``keys_``.
    keys_ : ndarray of uint8, shape (n_images, 16)
    pixel_shape_ : tuple of int
        Shape of one image as given to :meth:`fit`.
    scale_ : float
        What the raw embedding was divided by.
    fit_seconds_ : float
        Time of the fit and embedding (kept when loaded).
    """

    def __init__(self, representation=None):
        self.representation = representation

    def __sklearn_clone__(self):
        if hasattr(self, "embedding_"):
            return self
        return super().__sklearn_clone__()

    def fit(self, X, y=None):
        """Fit the representation on images ``X`` and embed each of them.

        Parameters
        ----------
        X : array-like of images
        y : ignored

        Returns
        -------
        self : FolderEmbedding
        """
        X = check_images(X)
        rep = _check_transformer(self.representation)
        start = time.perf_counter()
        keys = pixel_keys(X)
        keys, first = np.unique(keys, axis=0, return_index=True)
        X = X[first]
        fitted = clone(rep).fit(X)
        raw = np.asarray(fitted.transform(X), np.float64).reshape(len(X), -1)
        scale = float(np.sqrt(raw.var(axis=0).mean()))
        self.scale_ = scale if scale > 0 else 1.0
        self.embedding_ = (raw / self.scale_).astype(np.float32)
        self.keys_ = keys
        self.pixel_shape_ = tuple(X.shape[1:])
        self.fit_seconds_ = time.perf_counter() - start
        self._rows = None
        return self

    def _lookup(self):
        if getattr(self, "_rows", None) is None:
            self._rows = {k.tobytes(): i for i, k in enumerate(self.keys_)}
        return self._rows

    def transform(self, X):
        """The embedding of images ``X`` (each one seen in :meth:`fit`).

        Returns
        -------
        Z : ndarray of float32, shape (n_samples, d)

        Raises
        ------
        ValueError
            For an image of another shape, or one not seen in :meth:`fit`.
        """
        check_is_fitted(self, "embedding_")
        X = check_images(X)
        if tuple(X.shape[1:]) != self.pixel_shape_:
            raise ValueError(f"X holds images of shape {X.shape[1:]}; this "
                             f"embedding was fitted on {self.pixel_shape_}.")
        rows, at = self._lookup(), []
        for k, key in enumerate(pixel_keys(X)):
            row = rows.get(key.tobytes())
            if row is None:
                raise ValueError(
                    f"image {k} of X is not one of the {len(rows)} images "
                    f"this embedding was fitted on; fit it on the folder "
                    f"again.")
            at.append(row)
        return self.embedding_[np.asarray(at, np.int64)]

    def save(self, path, fingerprint):
        """Write the fitted embedding and ``fingerprint`` to ``path``
        atomically (an ``.npz`` of plain arrays)."""
        check_is_fitted(self, "embedding_")
        arrays = dict(format=np.int64(_FORMAT),
                      fingerprint=np.str_(fingerprint), keys=self.keys_,
                      embedding=self.embedding_,
                      pixel_shape=np.asarray(self.pixel_shape_, np.int64),
                      scale=np.float64(self.scale_),
                      fit_seconds=np.float64(self.fit_seconds_))
        atomic_write(path, lambda file: np.savez(file, **arrays))

    @classmethod
    def load(cls, path, fingerprint, representation=None):
        """The embedding saved at ``path`` for ``fingerprint``, or None.

        None when the file is missing, not readable, of another format or
        of another fingerprint (other images or parameters).
        """
        try:
            with np.load(path, allow_pickle=False) as saved:
                if int(saved["format"]) != _FORMAT or \
                        str(saved["fingerprint"]) != fingerprint:
                    return None
                out = cls(representation)
                out.keys_ = saved["keys"].astype(np.uint8)
                out.embedding_ = saved["embedding"].astype(np.float32)
                out.pixel_shape_ = tuple(int(v) for v in saved["pixel_shape"])
                out.scale_ = float(saved["scale"])
                out.fit_seconds_ = float(saved["fit_seconds"])
        except FileNotFoundError:
            return None
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            logger.warning("%s does not load (%s); fitting the "
                           "representation again", path, exc)
            return None
        if out.keys_.shape != (out.embedding_.shape[0], 16):
            return None
        out._rows = None
        return out


def embedding_path(store_path, representation):
    """The cache file of ``representation`` beside the store at ``store_path``:
    ``<store>.embedding-<name>.npz`` (one per representation, so switching
    back costs nothing)."""
    store_path = Path(store_path)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-",
                  representation_name(representation)).strip("-")
    return store_path.with_name(f"{store_path.name}.embedding-{slug}.npz")


def embedding_fingerprint(X, representation):
    """A digest of the set of images ``X`` and of what shapes the fit
    (the representation's parameters; for a weights file, also its size
    and modification time)."""
    keys = np.unique(pixel_keys(check_images(X)), axis=0)
    params = {k: v for k, v in representation.get_params(deep=False).items()
              if k not in _NOT_LEARNED}
    weights = params.get("weights")
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        stat = os.stat(weights)            # a replaced file is a new fit
        params["weights"] = [os.fspath(weights), stat.st_size,
                             stat.st_mtime_ns]
    digest = hashlib.sha256(json.dumps(
        {"format": _FORMAT, "class": type(representation).__qualname__,
         "params": params, "shape": list(X.shape[1:])},
        sort_keys=True, default=repr).encode())
    digest.update(keys.tobytes())
    return digest.hexdigest()


def load_embedding(path, X, representation):
    """The cached :class:`FolderEmbedding` of ``X`` at ``path``, or None."""
    return FolderEmbedding.load(path, embedding_fingerprint(X, representation),
                                representation)


def fit_embedding(path, X, representation):
    """Fit a :class:`FolderEmbedding` of ``X`` and cache it at ``path``."""
    fingerprint = embedding_fingerprint(X, representation)
    embedding = FolderEmbedding(representation).fit(X)
    embedding.save(path, fingerprint)
    return embedding
