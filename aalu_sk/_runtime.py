"""Where torch work runs and how it is seeded.

- :func:`resolve_device` turns ``"auto"`` into ``"cuda"`` or ``"cpu"`` and
  refuses CUDA on a machine without it, with a clear message.
- :func:`seeded` runs a block with torch's global RNG seeded from a
  ``random_state`` and restores the caller's RNG state afterwards, so
  nothing outside the block sees a changed global state.
- :func:`prefetch` runs a producer a few items ahead in a thread, so that
  loading the next batch overlaps with computing on this one.
- :func:`available_cpus` counts the cores this process may use (its CPU
  affinity and a cgroup quota); :func:`check_thread_count` warns, once per
  process, when torch runs more threads than that. Oversubscribed torch
  threads do not just share the cores, they slow each other down sharply
  (a quickstart query measured 20 times slower), so
  :func:`resolve_device` runs the check whenever work goes to the CPU.
"""

import contextlib
import math
import os
import queue
import threading
import warnings

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
        return _resolved("cuda" if torch.cuda.is_available() else "cpu")
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
    return _resolved(str(dev))


def _resolved(device):
    if device == "cpu":
        check_thread_count()
    return device


#: Where cgroup v2 states a CPU quota: ``"max 100000"`` or ``"QUOTA PERIOD"``.
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"


def available_cpus(cpu_max=CGROUP_CPU_MAX):
    """The number of CPU cores this process may use.

    The smaller of its CPU affinity (:func:`os.sched_getaffinity`, else
    :func:`os.cpu_count`) and the cgroup v2 quota in ``cpu_max`` rounded
    up (``"150000 100000"`` allows 1.5 cores: 2); no quota file or
    ``"max"`` means no quota.

    Parameters
    ----------
    cpu_max : str or path-like, default="/sys/fs/cgroup/cpu.max"

    Returns
    -------
    n_cpus : int
        At least 1.

    Examples
    --------
    >>> from aalu_sk._runtime import available_cpus
    >>> available_cpus() >= 1
    True
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        n = os.cpu_count() or 1
    try:
        with open(cpu_max) as f:
            quota, period = f.read().split()[:2]
        if quota != "max" and int(period) > 0:
            n = min(n, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):  # no cgroup v2 quota readable
        pass
    return max(1, n)


_THREADS_WARNED = False


def check_thread_count(n_threads=None, n_cpus=None):
    """Warn once per process when torch runs more threads than cores.

    Parameters
    ----------
    n_threads : int or None, default=None
        torch's intra-op threads; :func:`torch.get_num_threads`.
    n_cpus : int or None, default=None
        The cores this process may use; :func:`available_cpus`.

    Returns
    -------
    message : str or None
        The warning's text when there are too many threads (also on later
        calls, which do not warn again), else None.
    """
    global _THREADS_WARNED
    n_threads = torch.get_num_threads() if n_threads is None else n_threads
    n_cpus = available_cpus() if n_cpus is None else n_cpus
    if n_threads <= n_cpus:
        return None
    message = (
        f"torch uses {n_threads} threads but this process may use only "
        f"{n_cpus} CPU core{'s' if n_cpus > 1 else ''} (CPU affinity and "
        f"cgroup quota); oversubscribed threads make training and queries "
        f"many times slower. Call torch.set_num_threads({n_cpus}) or set "
        f"OMP_NUM_THREADS={n_cpus} before starting Python.")
    if not _THREADS_WARNED:
        _THREADS_WARNED = True
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    return message


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


#: The random choices of a run, each seeded by its own stream.
_PURPOSES = {"initial": 0, "model": 1, "query": 2, "full": 3, "stop": 4,
             "audit": 5, "compare": 6,  # these two: labeling.estimate
             "representation": 7}


def derive_seed(seed, purpose, cycle=0):
    """A seed for one random choice, a pure function of its arguments.

    Parameters
    ----------
    seed : int
        The run's seed (non-negative).
    purpose : str
        A key of ``_PURPOSES`` (``"initial"``, ``"model"``, ``"query"``,
        ``"full"``, ``"stop"``, ``"audit"``, ``"compare"``,
        ``"representation"``); each draws from its own stream.
    cycle : int, default=0

    Returns
    -------
    seed : int in ``[0, 2**31)``
    """
    seq = np.random.SeedSequence(int(seed),
                                 spawn_key=(_PURPOSES[purpose], int(cycle)))
    return int(seq.generate_state(1, np.uint32)[0] >> 1)
