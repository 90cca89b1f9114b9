"""A sample folder to try the labeling app on: digits as PNG files."""

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

__all__ = ["write_digits_folder"]


def write_digits_folder(folder, n=None, size=32, random_state=0):
    """Write scikit-learn's handwritten digits as PNG files.

    The files are named ``digit_0000.png``, ... in a shuffled order, so
    neither names nor order give the class away. Files already there are
    left as they are.

    Parameters
    ----------
    folder : str or path-like
        Created when missing.
    n : int or None, default=None
        How many digits (of 1797); None writes all.
    size : int, default=32
        Side of each PNG (the 8x8 digits are enlarged, nearest neighbour).
    random_state : int, default=0
        Seeds the order.

    Returns
    -------
    truth : dict
        ``{relative path: digit as text}``, the right answers (for
        simulated labelers and tests).

    Examples
    --------
    >>> import tempfile
    >>> from aalu_sk.labeling import write_digits_folder
    >>> truth = write_digits_folder(tempfile.mkdtemp(), n=5)
    >>> sorted(truth)[0], len(truth)
    ('digit_0000.png', 5)
    """
    digits = load_digits()
    order = np.random.default_rng(random_state).permutation(len(digits.target))
    order = order[:n] if n is not None else order
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for k, i in enumerate(order):
        name = f"digit_{k:04d}.png"
        pixels = (255 - digits.images[i] * 255 / 16).round().astype(np.uint8)
        path = folder / name
        if not path.exists():
            Image.fromarray(pixels).resize((size, size),
                                           Image.Resampling.NEAREST).save(path)
        truth[name] = str(int(digits.target[i]))
    return truth
