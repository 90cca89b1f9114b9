"""Mini-batch plans for the adversarial selectors (no per-sample Python)."""

import math

import numpy as np
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


def budget_sample(n_pool, max_steps, batch_size, random_state):
    """Pool rows a training of ``max_steps`` batches sees, or None for all.

    ``max_steps`` steps of ``batch_size`` pool samples see at most
    ``max_steps * batch_size`` of them: that many rows, drawn up front
    (sorted, without replacement). None when there is no budget
    (``max_steps`` None) or the pool is no larger than the sample.
    ``random_state`` (a RandomState) is advanced only when rows are drawn.
    """
    if max_steps is None or n_pool <= max_steps * batch_size:
        return None
    return np.sort(random_state.choice(n_pool, max_steps * batch_size,
                                       replace=False))


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


class LossPlateau:
    """Stop a selector's training once its loss stops improving.

    The rule of scikit-learn's ``SGDClassifier``/``MLPClassifier``
    (``tol``, ``n_iter_no_change``), applied to windows of steps instead of
    epochs, so that it means the same on a pool of 1k and of 1M samples:
    every ``window`` steps the mean loss of those steps is compared with
    the best window mean so far; a window improves when it is below
    ``best * (1 - tol)`` (a *relative* tolerance: the losses' scale depends
    on the configuration). Training stops after ``n_iter_no_change``
    windows in a row without improvement, and never before ``min_steps``
    (a loss that is flat at first, as a hinge ranking loss near its
    margin, is not yet a plateau).

    Losses are summed on their device and read once per window, so a GPU
    is not synchronised every step.

    Parameters
    ----------
    tol : float
        Relative improvement a window needs over the best so far.
    n_iter_no_change : int
        Windows without improvement before stopping.
    window : int, default=25
        Steps per window.
    min_steps : int, default=0
        Steps before the rule may stop.

    Attributes
    ----------
    curve : list of float
        The mean loss of each finished window.
    """

    def __init__(self, tol, n_iter_no_change, window=25, min_steps=0):
        self.tol, self.n_iter_no_change, self.window = \
            tol, n_iter_no_change, window
        self.min_steps = min_steps
        self.curve, self._best, self._bad = [], float("inf"), 0
        self._sum, self._count = None, 0

    def update(self, loss):
        """Record one step's loss (a 0-d tensor); True when training should stop."""
        loss = loss.detach()
        self._sum = loss if self._sum is None else self._sum + loss
        self._count += 1
        if self._count < self.window:
            return False
        mean = float(self._sum) / self._count
        self._sum, self._count = None, 0
        self.curve.append(mean)
        if not self.curve[:-1] or \
                mean < self._best - self.tol * abs(self._best):
            self._best, self._bad = mean, 0
        else:
            self._bad += 1
        return self._bad >= self.n_iter_no_change and \
            len(self.curve) * self.window >= self.min_steps


def warm_modules(fresh, previous):
    """Load the ``previous`` networks' weights into ``fresh`` ones, if they fit.

    A warm start continues from the last query's selector. It applies
    only when every previous network exists and has exactly the fresh
    one's parameter names and shapes (same feature size, class count,
    latent and hidden sizes); otherwise ``fresh`` is left as initialised,
    a cold start, without an error.

    Parameters
    ----------
    fresh : sequence of torch.nn.Module
    previous : sequence of torch.nn.Module or None

    Returns
    -------
    warm : bool
        Whether the weights were loaded.
    """
    def shapes(module):
        return {k: tuple(v.shape) for k, v in module.state_dict().items()}

    if any(p is None or shapes(p) != shapes(f)
           for f, p in zip(fresh, previous)):
        return False
    for f, p in zip(fresh, previous):
        f.load_state_dict(p.state_dict())
    return True
