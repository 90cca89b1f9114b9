"""Importing Ray lazily, and the few Ray settings the package relies on.

Ray is an optional dependency (``pip install "aalu_sk[ray]"``); only
:mod:`aalu_sk.distributed` uses it, and only when one of its functions
runs, so ``import aalu_sk`` (and even ``import aalu_sk.distributed``)
works without it.
"""

import contextlib
import os

from .shipping import dumps_for_workers  # noqa: F401  (its old home)

__all__ = ["import_ray", "ordered_execution", "cluster_cpus",
           "dumps_for_workers"]

INSTALL_HINT = ('install it with: pip install "aalu_sk[ray]" (or pip install '
                '"ray[data,train]")')


def import_ray():
    """Return the ``ray`` module, or raise ImportError saying how to get it.

    Ray's progress bars replace ``builtins.print`` in the driver for good
    (``RAY_TQDM_PATCH_PRINT``), after which a fitted skorch net, whose
    ``PrintLog`` holds the original ``print``, no longer pickles; unless
    the user chose otherwise, the patch is turned off.
    """
    os.environ.setdefault("RAY_TQDM_PATCH_PRINT", "0")
    try:
        import ray
        import ray.data  # noqa: F401  (the pool API)
    except ImportError as exc:
        raise ImportError(f"aalu_sk.distributed needs Ray; {INSTALL_HINT}. "
                          f"({exc})") from None
    return ray


@contextlib.contextmanager
def ordered_execution(ray, dataset=None):
    """Execute Ray Data pipelines inside the block with row order preserved.

    Distributed results must match the local path row for row, so a pool's
    blocks have to come out of ``map_batches`` in the dataset's order. A
    Dataset keeps the DataContext of its creation (datasets derived from
    it copy that one), so ``dataset``'s own context is switched as well as
    the current one; both are restored on the way out.
    """
    contexts = [ray.data.DataContext.get_current()]
    if dataset is not None and dataset.context is not contexts[0]:
        contexts.append(dataset.context)
    old = [c.execution_options.preserve_order for c in contexts]
    for context in contexts:
        context.execution_options.preserve_order = True
    try:
        yield
    finally:
        for context, value in zip(contexts, old):
            context.execution_options.preserve_order = value


def cluster_cpus(ray):
    """CPUs of the running cluster (starting a local one when none runs)."""
    if not ray.is_initialized():
        ray.init()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
