"""Importing Ray lazily, and the few Ray settings the package relies on.

Ray is an optional dependency (``pip install "aalu_sk[ray]"``); only
:mod:`aalu_sk.distributed` uses it, and only when one of its functions
runs, so ``import aalu_sk`` (and even ``import aalu_sk.distributed``)
works without it.
"""

import contextlib

__all__ = ["import_ray", "ordered_execution", "cluster_cpus"]

INSTALL_HINT = ('install it with: pip install "aalu_sk[ray]" (or pip install '
                '"ray[data,train]")')


def import_ray():
    """Return the ``ray`` module, or raise ImportError saying how to get it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the pool API)
    except ImportError as exc:
        raise ImportError(f"aalu_sk.distributed needs Ray; {INSTALL_HINT}. "
                          f"({exc})") from None
    return ray


@contextlib.contextmanager
def ordered_execution(ray):
    """Execute Ray Data pipelines inside the block with row order preserved.

    Distributed results must match the local path row for row, so a pool's
    blocks have to come out of ``map_batches`` in the dataset's order.
    """
    options = ray.data.DataContext.get_current().execution_options
    old = options.preserve_order
    options.preserve_order = True
    try:
        yield
    finally:
        options.preserve_order = old


def cluster_cpus(ray):
    """CPUs of the running cluster (starting a local one when none runs)."""
    if not ray.is_initialized():
        ray.init()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
