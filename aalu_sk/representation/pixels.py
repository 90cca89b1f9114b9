"""A label-free view of raw images: standardised pixels, projected by PCA."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..validation import check_number, check_samples

__all__ = ["PixelPCA"]


def _flat(X, name):
    X = check_samples(X, name)
    flat = X.reshape(X.shape[0], -1).astype(np.float64)
    if X.dtype == np.uint8:
        flat /= 255.0
    return X.shape[1:], flat


class PixelPCA(TransformerMixin, BaseEstimator):
    """Flattened, standardised pixels projected onto their principal axes.

    The embedding that label-free strategies
    (:class:`~aalu_sk.strategies.lowbudget.TypiClustSampler`,
    :class:`~aalu_sk.strategies.lowbudget.ProbCoverSampler`) fall back on
    when neither a representation nor a task model with one is given: it
    needs no labels and no network, and on small grayscale images (digits,
    MNIST) it keeps the class structure distances rely on. On natural
    images (CIFAR) pixel distances say little about classes; use a
    self-supervised or pretrained representation there.

    Parameters
    ----------
    n_components : int, default=50
        Dimensions kept; fewer when the data has fewer samples or pixels.
    whiten : bool, default=False
        Scale each component to unit variance. Off by default: on digits
        it made the low-budget strategies worse (every direction, noise
        included, then counts as much as the main ones).
    random_state : int, RandomState instance or None, default=None
        Seeds PCA's randomised solver (used on large inputs).

    Attributes
    ----------
    input_shape_ : tuple
        Shape of one sample seen in ``fit`` (images in any layout that
        :func:`~aalu_sk.validation.check_images` accepts, or feature rows).
    scaler_ : StandardScaler
    pca_ : PCA
    n_components_ : int
        Dimensions of the embedding.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.representation import PixelPCA
    >>> X = np.random.RandomState(0).rand(30, 1, 8, 8).astype(np.float32)
    >>> PixelPCA(n_components=5, random_state=0).fit_transform(X).shape
    (30, 5)
    """

    def __init__(self, n_components=50, whiten=False, random_state=None):
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    def fit(self, X, y=None):
        """Learn the standardisation and the principal axes of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Images (``(n, C, H, W)``, ``(n, H, W)``, ``(n, H, W, C)``) or
            feature rows; ``uint8`` values are divided by 255.
        y : ignored

        Returns
        -------
        self : PixelPCA
        """
        n = check_number(self.n_components, "n_components", integer=True,
                         low=1)
        if not isinstance(self.whiten, (bool, np.bool_)):
            raise ValueError(f"whiten must be True or False; got "
                             f"{self.whiten!r}.")
        self.input_shape_, flat = _flat(X, "X")
        self.scaler_ = StandardScaler().fit(flat)
        scaled = self.scaler_.transform(flat)
        self.n_components_ = int(min(n, scaled.shape[0], scaled.shape[1]))
        self.pca_ = PCA(self.n_components_, whiten=bool(self.whiten),
                        random_state=self.random_state).fit(scaled)
        return self

    def transform(self, X):
        """Embed ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the shape seen in ``fit``.

        Returns
        -------
        embedding : ndarray of shape (n_samples, ``n_components_``), float32
        """
        check_is_fitted(self, "pca_")
        shape, flat = _flat(X, "X")
        if shape != self.input_shape_:
            raise ValueError(
                f"X samples have shape {shape}; this PixelPCA was fit on "
                f"samples of shape {self.input_shape_}.")
        return self.pca_.transform(self.scaler_.transform(flat)).astype(
            np.float32)
