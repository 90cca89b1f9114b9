"""Random views of image batches for self-supervised learning.

Contrastive methods (SimCLR) learn by telling two random views of the same
image from views of other images, so the views decide what the embedding
ignores. :func:`random_views` draws, for a whole batch at once and on its
device, a random resized crop with a small rotation (one
:func:`torch.nn.functional.grid_sample`, exact for 8x8 digits as for 32x32
colour images), optionally a horizontal flip, and a brightness/contrast
jitter; colour images also get a saturation jitter and, with probability
0.2, are turned grey. Every draw comes from a :class:`torch.Generator`.
"""

import math

import torch
import torch.nn.functional as F

__all__ = ["random_views"]


def _uniform(n, low, high, generator, device):
    return low + (high - low) * torch.rand(n, generator=generator,
                                           device=device)


def random_views(x, generator, crop_scale=(0.5, 1.0), rotation=15.0,
                 flip=False, jitter=0.4):
    """One random view of each image of ``x``.

    Parameters
    ----------
    x : torch.Tensor of shape (n, C, H, W), float
    generator : torch.Generator
        On ``x``'s device.
    crop_scale : tuple of float, default=(0.5, 1.0)
        Range of the crop's area as a fraction of the image; the aspect
        ratio is drawn in [3/4, 4/3]. The crop is resized to ``(H, W)``.
    rotation : float, default=15.0
        Largest rotation, in degrees, either way.
    flip : bool, default=False
        Flip horizontally with probability 1/2 (not for digits or text).
    jitter : float, default=0.4
        Strength of the brightness, contrast (and, for 3 channels,
        saturation) jitter: factors in ``[1 - jitter, 1 + jitter]``.

    Returns
    -------
    views : torch.Tensor of shape (n, C, H, W)
    """
    n, c, _, _ = x.shape
    dev, g = x.device, generator
    area = _uniform(n, crop_scale[0], crop_scale[1], g, dev)
    log_ratio = _uniform(n, math.log(3 / 4), math.log(4 / 3), g, dev)
    ratio = torch.exp(log_ratio)
    sx = torch.sqrt(area * ratio).clamp(max=1.0)
    sy = torch.sqrt(area / ratio).clamp(max=1.0)
    tx = _uniform(n, -1.0, 1.0, g, dev) * (1 - sx)
    ty = _uniform(n, -1.0, 1.0, g, dev) * (1 - sy)
    angle = _uniform(n, -rotation, rotation, g, dev) * (math.pi / 180)
    if flip:
        sx = torch.where(torch.rand(n, generator=g, device=dev) < 0.5, -sx, sx)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([sx * cos, -sy * sin, tx], 1),
                         torch.stack([sx * sin, sy * cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    v = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                      align_corners=False)
    if jitter:
        shape = (n, 1, 1, 1)
        bright = _uniform(n, 1 - jitter, 1 + jitter, g, dev).view(shape)
        contrast = _uniform(n, 1 - jitter, 1 + jitter, g, dev).view(shape)
        mean = v.mean(dim=(1, 2, 3), keepdim=True)
        v = (v - mean) * contrast + mean * bright
        if c == 3:
            grey = v.mean(dim=1, keepdim=True)
            sat = _uniform(n, 1 - jitter, 1 + jitter, g, dev).view(shape)
            drop = (torch.rand(n, generator=g, device=dev) < 0.2).view(shape)
            sat = torch.where(drop, torch.zeros_like(sat), sat)
            v = grey + (v - grey) * sat
    return v
