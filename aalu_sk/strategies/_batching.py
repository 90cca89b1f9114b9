"""Mini-batch index plans for the adversarial selectors (no per-sample Python)."""

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
