"""Where torch work runs and how it is seeded.

- :func:`resolve_device` turns ``"auto"`` into ``"cuda"`` or ``"cpu"`` and
  refuses CUDA on a machine without it, with a clear message.
- :func:`seeded` runs a block with torch's global RNG seeded from a
  ``random_state`` and restores the caller's RNG state afterwards, so
  nothing outside the block sees a changed global state.
- :func:`prefetch` runs a producer a few items ahead in a thread, so that
  loading the next batch overlaps with computing on this one.
"""

import contextlib
import queue
import threading

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


_DONE = object()


def prefetch(items, depth=2):
    """Iterate over ``items`` while a thread produces up to ``depth`` ahead.

    The producer (e.g. reading a memory-mapped batch, converting it to
    float and pinning it) runs in a daemon thread; PyTorch and NumPy
    release the GIL in their kernels, so it overlaps with the consumer's
    computation. An exception in the producer is raised in the consumer;
    a consumer that stops early stops the producer.

    Parameters
    ----------
    items : iterable
    depth : int, default=2
        Items produced ahead of the consumer.

    Yields
    ------
    item
        The items of ``items``, in order.
    """
    ready = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry):
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # handed to the consumer
            put((_DONE, exc))

    thread = threading.Thread(target=produce, daemon=True,
                              name="aalu_sk-prefetch")
    thread.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()
