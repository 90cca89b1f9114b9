"""Sending estimators to Ray workers: user classes by value.

A task model's ``nn.Module`` class is often defined in the user's script
or notebook (``__main__``), which a Ray worker cannot import. Ray's
cloudpickle carries such classes by value, but a skorch net pickles its
fitted parts (``module_``, ``optimizer_``, ``criterion_``...) with plain
:mod:`pickle` inside its own ``__getstate__``, where the module's class
goes by reference: the worker then fails with ``Can't get attribute
'MLP' on <module '__main__'>``. :func:`dumps_for_workers` pickles every
skorch net it meets (however deeply nested) in skorch's own format, with
the inner stream written by cloudpickle too, so the net is rebuilt by
skorch's ``__setstate__`` (which maps CUDA tensors to the CPU where the
worker has no GPU) and the module class arrives by value.
:func:`loads_on_worker` reads the result back.
"""

import builtins
import functools
import io
import pickle
import types

__all__ = ["dumps_for_workers", "loads_on_worker"]


def _builtin(name):
    return getattr(builtins, name)


def _new(cls):
    return cls.__new__(cls)


@functools.lru_cache(maxsize=None)
def _pickler():
    """The pickler class (made on first use: it needs Ray's cloudpickle)."""
    import ray.cloudpickle as cloudpickle
    from skorch import NeuralNet

    class Pickler(cloudpickle.CloudPickler):
        def reducer_override(self, obj):
            if isinstance(obj, types.BuiltinFunctionType) and \
                    getattr(obj, "__module__", None) == "builtins" and \
                    getattr(builtins, obj.__name__, None) is not obj:
                return _builtin, (obj.__name__,)
            # skorch's own state, or a subclass's that only drops its
            # _transient_attributes (ImageClassifier's)
            if isinstance(obj, NeuralNet) and (
                    type(obj).__getstate__ is NeuralNet.__getstate__ or
                    hasattr(type(obj), "_transient_attributes")):
                return _new, (type(obj),), _net_state(obj)
            return super().reducer_override(obj)

    return Pickler


def _net_state(net):
    """skorch's ``NeuralNet.__getstate__``, its inner stream by cloudpickle.

    The result is what skorch's ``__setstate__`` reads (a plain pickle
    stream under ``__cuda_dependent_attributes__``); only the writer of
    that stream differs, so user classes in it travel by value.
    """
    state = net.__dict__.copy()
    for name in getattr(type(net), "_transient_attributes", ()):
        state.pop(name, None)
    prefixes = tuple(net.cuda_dependent_attributes_)
    cuda_attrs = {k: state.pop(k) for k in list(state)
                  if isinstance(k, str) and k.startswith(prefixes)}
    state["__cuda_dependent_attributes__"] = dumps_for_workers(cuda_attrs)
    return state


def dumps_for_workers(obj):
    """Pickle ``obj`` for Ray workers.

    Classes and functions defined in ``__main__`` (a script, a notebook)
    travel by value, also inside skorch nets; builtins are pickled by
    name, which keeps a net's ``PrintLog`` picklable after Ray's progress
    bars replaced ``builtins.print`` in the driver. Importable classes (a
    scikit-learn estimator, a module from an installed package) go by
    reference, as with :mod:`pickle`.

    Parameters
    ----------
    obj : object
        A fitted estimator, a dict of parameters, anything cloudpickle
        takes.

    Returns
    -------
    data : bytes
        For :func:`loads_on_worker` (or :func:`pickle.loads`) in a process
        that can import ``aalu_sk``, skorch and Ray.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from aalu_sk.distributed.shipping import (dumps_for_workers,
    ...                                           loads_on_worker)
    >>> model = loads_on_worker(dumps_for_workers(LogisticRegression(C=2.0)))
    >>> model.C
    2.0
    """
    buffer = io.BytesIO()
    _pickler()(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def loads_on_worker(data):
    """The object :func:`dumps_for_workers` pickled.

    Parameters
    ----------
    data : bytes

    Returns
    -------
    obj : object
    """
    return pickle.loads(data)
