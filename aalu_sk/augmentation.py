"""Training-time image augmentation on batches of tensors, seeded by a generator.

:class:`aalu_sk.ImageClassifier` applies one of :data:`AUGMENTATIONS` to
every training batch (never at prediction time):

- ``"none"``: the images as they are.
- ``"flip"``: a horizontal flip with probability 1/2, the paper's only
  augmentation (right for CIFAR, wrong for digits: a flipped 2 is no 2).
- ``"crop"``: the standard random crop with padding: each image is
  zero-padded by :func:`crop_padding` pixels on every side (4 for 32x32
  images, as in the CIFAR literature; ``size // 8`` in general, at least 1)
  and a window of the original size is cut at a random offset, i.e. a
  random shift of up to that many pixels.
- ``"crop+flip"``: both, the usual recipe for natural images.

All randomness comes from a :class:`torch.Generator` on the batch's device,
so a seeded classifier augments the same way on every run and never
touches the global torch RNG.
"""

import torch
import torch.nn.functional as F

__all__ = ["AUGMENTATIONS", "check_augment", "crop_padding", "random_crop",
           "random_flip", "augment_batch"]

#: Values of ``ImageClassifier(augment=...)`` (besides False/True).
AUGMENTATIONS = ("none", "flip", "crop", "crop+flip")


def check_augment(augment):
    """The canonical name of an ``augment`` value.

    ``False`` and None mean ``"none"``; ``True`` means ``"flip"`` (what
    ``augment=True`` always meant).

    Parameters
    ----------
    augment : bool, None or str

    Returns
    -------
    name : str
        One of :data:`AUGMENTATIONS`.
    """
    if augment is None or augment is False:
        return "none"
    if augment is True:
        return "flip"
    if isinstance(augment, str) and augment in AUGMENTATIONS:
        return augment
    raise ValueError(
        f"augment={augment!r}; use False, True (= 'flip') or one of "
        f"{list(AUGMENTATIONS)}.")


def crop_padding(size):
    """Padding of the random crop for images of side ``size``: ``max(1, size // 8)``."""
    return max(1, int(size) // 8)


def random_flip(x, generator):
    """Flip each image of ``x`` (n, C, H, W) horizontally with probability 1/2."""
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def random_crop(x, generator, padding=None):
    """Zero-pad ``x`` (n, C, H, W) and cut each image back at a random offset.

    Parameters
    ----------
    x : torch.Tensor of shape (n, C, H, W)
    generator : torch.Generator
        On ``x``'s device.
    padding : int or None, default=None
        Pixels added on each side; None is :func:`crop_padding` of the
        smaller image side.

    Returns
    -------
    x : torch.Tensor of shape (n, C, H, W)
    """
    n, _, h, w = x.shape
    p = crop_padding(min(h, w)) if padding is None else int(padding)
    padded = F.pad(x, (p, p, p, p))
    dy, dx = (torch.randint(0, 2 * p + 1, (2, n), device=x.device,
                            generator=generator))
    rows = dy[:, None] + torch.arange(h, device=x.device)  # (n, H)
    cols = dx[:, None] + torch.arange(w, device=x.device)  # (n, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    # (n, H, W, C) by advanced indexing, back to channels first
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def augment_batch(x, augment, generator):
    """Apply the augmentation named ``augment`` (see :data:`AUGMENTATIONS`)."""
    if augment in ("crop", "crop+flip"):
        x = random_crop(x, generator)
    if augment in ("flip", "crop+flip"):
        x = random_flip(x, generator)
    return x
