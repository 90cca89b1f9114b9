"""Where torch work runs and how it is seeded.

- :func:`resolve_device` turns ``"auto"`` into ``"cuda"`` or ``"cpu"`` and
  refuses CUDA on a machine without it, with a clear message.
- :func:`seeded` runs a block with torch's global RNG seeded from a
  ``random_state`` and restores the caller's RNG state afterwards, so
  nothing outside the block sees a changed global state.
"""

import contextlib

import numpy as np
import torch
from sklearn.utils import check_random_state


def resolve_device(device, name="device"):
    """Return a concrete torch device string for ``device``.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device
    name : str, default="device"
        Parameter name for error messages.
    """
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"{name}={device!r} is not a device; use 'auto', 'cpu', 'cuda' "
            f"or 'cuda:N'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{name}={device!r} asks for CUDA, but torch sees no CUDA device "
            f"on this machine; use device='auto' or 'cpu'.")
    return str(dev)


def seed_from(random_state):
    """Draw a torch seed from ``random_state`` (int, RandomState or None)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def seeded(seed, device="cpu"):
    """Run the block with torch's RNG seeded by ``seed``; restore it after.

    ``seed=None`` leaves the RNG alone (the block consumes global
    randomness, like plain PyTorch code).
    """
    if seed is None:
        yield
        return
    devices = []
    if torch.device(device).type == "cuda":
        devices = [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
