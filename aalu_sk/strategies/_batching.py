"""Mini-batch plans for the adversarial selectors (no per-sample Python)."""

import math

import torch


def epoch_batches(n, n_steps, batch, device):
    """Indices of ``n_steps`` batches of ``batch`` samples from ``range(n)``.

    Concatenates as many random permutations as needed, so every sample is
    seen once before any is seen twice; returns a ``(n_steps, batch)`` tensor.
    """
    reps = math.ceil(n_steps * batch / n)
    perms = [torch.randperm(n, device=device)
             for _ in range(reps)]
    return torch.cat(perms)[:n_steps * batch].view(n_steps, batch)


def steps_per_epoch(n_labeled, n_unlabeled, batch_size):
    """One epoch is one pass over the larger of the two pools."""
    return math.ceil(max(n_labeled, n_unlabeled) / batch_size)


def epoch_plan(n_labeled, n_unlabeled, batch_size, epochs, max_steps=None):
    """Steps of each (possibly partial) epoch of a selector's training.

    Every step draws ``batch_size`` samples from each pool; an epoch is one
    pass over the larger pool, and ``max_steps`` (None: no cap) caps the
    total, so a huge pool costs no more steps than ``max_steps``.

    Returns
    -------
    steps : list of int
        Steps per epoch; they add up to
        ``min(epochs * steps_per_epoch, max_steps)``.
    """
    per_epoch = steps_per_epoch(n_labeled, n_unlabeled, batch_size)
    total = epochs * per_epoch
    if max_steps is not None:
        total = min(total, max_steps)
    full, rest = divmod(total, per_epoch)
    return [per_epoch] * full + ([rest] if rest else [])
