"""modAL on today's scikit-learn and pandas: a small compatibility layer.

modAL-python (0.4.1 and 0.4.2, unmaintained) breaks on the current stack
in three places that an everyday active-learning loop reaches:

**Input checks.** modAL's learners validate data with scikit-learn's
``check_X_y(..., force_all_finite=...)``. scikit-learn 1.6 renamed the
keyword ``ensure_all_finite`` and 1.8 removed the old name, so ``fit``,
``teach`` and ``score`` raise ``TypeError: check_X_y() got an unexpected
keyword argument 'force_all_finite'``.

**Stacking pandas data.** ``modAL.utils.data.data_vstack`` stacks data
frames with ``DataFrame.append``, removed in pandas 2, so ``teach`` with
pandas inputs raises ``AttributeError``.

**Printing a learner.** modAL's learners are scikit-learn estimators, but
their ``__init__`` does not store every argument it takes (``bootstrap_init``
is used once and dropped), so ``get_params``, and with it ``repr`` (what a
notebook shows for ``learner``) and :func:`sklearn.base.clone`, raise
``AttributeError: 'ActiveLearner' object has no attribute
'bootstrap_init'``.

:func:`apply` (run by ``import aalu_sk``) repairs each one only where it is
broken, and only inside modAL:

- ``check_X_y`` / ``check_array``: when the installed scikit-learn no
  longer accepts ``force_all_finite`` (read from the function's signature)
  and a modAL module both binds scikit-learn's own function at module level
  and passes that keyword in its source, that module's name is rebound to
  a wrapper that renames the keyword to ``ensure_all_finite``. The wrapper
  changes nothing else, and does nothing when the keyword is absent.
- ``data_vstack``: when modAL's own function fails to stack two small data
  frames (tried once, on made-up data), every modAL module that binds it
  gets a wrapper that stacks data frames (and rows given as Series) with
  :func:`pandas.concat`, as ``DataFrame.append`` did, and hands every other
  input to modAL's function.
- ``__init__`` of modAL's learner classes: when an instance built without
  data (no training, nothing fitted) lacks an attribute for one of its
  constructor parameters, the class's ``__init__`` gets a wrapper that
  runs modAL's and then stores those arguments, as given, under their own
  names (what scikit-learn's estimator contract asks), so that
  ``get_params`` reports what was passed.

scikit-learn, pandas and numpy themselves are never patched: other callers
of ``check_X_y`` see the real function. A modAL fixed upstream (passing
``ensure_all_finite``, stacking with ``concat``) is left alone, and so is
one that already works with the installed scikit-learn and pandas.
:func:`status` says what was done; the environment variable
``AALU_SK_NO_COMPAT=1`` turns the layer off (then modAL fails as described).

Left unfixed: ``modAL.expected_error`` annotates a parameter with
``np.float``, removed in numpy 1.24, so that module cannot be imported on a
current numpy; repairing it would mean putting ``float`` back into numpy
for everyone. Its one strategy, ``expected_error_reduction``, is not used
by aalu_sk.
"""

import functools
import importlib
import inspect
import os
import re
import sys

__all__ = ["apply", "status", "undo"]

#: What :func:`apply` did: ``(module name, attribute) -> reason``.
_APPLIED = {}
# A call that passes force_all_finite to check_X_y / check_array, possibly
# over several lines and with one level of nested parentheses.
_PASSES_OLD_KEYWORD = re.compile(
    r"\bcheck_(?:X_y|array)\((?:[^()]|\([^()]*\))*?\bforce_all_finite\s*=")


def _sklearn_accepts(func, keyword):
    try:
        return keyword in inspect.signature(func).parameters
    except (TypeError, ValueError):  # no signature: assume it still does
        return True


def _passes_old_keyword(module):
    """Whether ``module``'s source passes ``force_all_finite`` (True if unknown)."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return True  # the wrapper is harmless where the keyword is not passed
    return _PASSES_OLD_KEYWORD.search(source) is not None


def _renaming_wrapper(func):
    """``func`` with ``force_all_finite=`` passed on as ``ensure_all_finite=``."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if "force_all_finite" in kwargs:
            value = kwargs.pop("force_all_finite")
            if "ensure_all_finite" in kwargs:
                raise TypeError(
                    f"{func.__name__}() got both force_all_finite and "
                    f"ensure_all_finite; pass only ensure_all_finite.")
            kwargs["ensure_all_finite"] = value
        return func(*args, **kwargs)

    wrapper.__aalu_sk_compat__ = func
    return wrapper


def _stacking_wrapper(func):
    """modAL's ``data_vstack`` with data frames stacked by ``pandas.concat``."""
    import pandas as pd
    import scipy.sparse as sp

    @functools.wraps(func)
    def wrapper(blocks):
        if len(blocks) and isinstance(blocks[0], pd.DataFrame) and \
                not any(sp.issparse(b) for b in blocks):
            # DataFrame.append took a Series as one row named by its name.
            frames = [b.to_frame().T if isinstance(b, pd.Series) else b
                      for b in blocks]
            return pd.concat(frames)
        return func(blocks)

    wrapper.__aalu_sk_compat__ = func
    return wrapper


def _modal_modules():
    """modAL's loaded modules, after importing what its learners use."""
    importlib.import_module("modAL.models")
    return [m for name, m in sorted(sys.modules.items())
            if m is not None and (name == "modAL" or name.startswith("modAL."))]


def _stacking_is_broken(data_vstack):
    import pandas as pd

    try:
        data_vstack((pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": [2.0]})))
    except AttributeError:
        return True
    return False


def _storing_init(init, names):
    """``init`` followed by storing the arguments ``names`` as attributes."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        init(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name in names:
            if name not in vars(self):
                setattr(self, name, bound.arguments[name])

    wrapper.__aalu_sk_compat__ = init
    return wrapper


def _unstored_parameters(cls):
    """Constructor parameters of a modAL learner that ``__init__`` drops."""
    from sklearn.dummy import DummyClassifier

    try:
        probe = cls(DummyClassifier(), lambda learner, X, n_instances=1: [0])
    except Exception:  # noqa: BLE001  (another signature: not probed)
        return []
    return [name for name in cls._get_param_names()
            if name not in vars(probe)]


def _repair_learner_params():
    from sklearn.base import BaseEstimator

    models = sys.modules.get("modAL.models")
    for cls in {c for c in vars(models).values() if isinstance(c, type)
                and issubclass(c, BaseEstimator)}:
        init = cls.__dict__.get("__init__")
        if init is None or hasattr(init, "__aalu_sk_compat__"):
            continue
        names = _unstored_parameters(cls)
        if names:
            cls.__init__ = _storing_init(init, names)
            _APPLIED[(cls.__module__, f"{cls.__name__}.__init__")] = (
                f"modAL's {cls.__name__} does not store {', '.join(names)}, "
                f"so get_params and repr fail")


def _rebind(modules, name, original, wrapper, reason):
    for module in modules:
        if getattr(module, name, None) is original:
            setattr(module, name, wrapper)
            _APPLIED[(module.__name__, name)] = reason


def apply():
    """Repair modAL where the installed scikit-learn / pandas break it.

    Safe to call more than once; does nothing when modAL is not installed,
    when it works as it is, or when ``AALU_SK_NO_COMPAT=1`` is set.

    Returns
    -------
    applied : dict
        ``(module name, attribute) -> reason`` for every name rebound.
    """
    if os.environ.get("AALU_SK_NO_COMPAT") == "1":
        return dict(_APPLIED)
    import sklearn.utils

    renames = [name for name in ("check_X_y", "check_array")
               if not _sklearn_accepts(getattr(sklearn.utils, name),
                                       "force_all_finite")]
    try:
        import pandas as pd
    except ImportError:  # modAL needs pandas; without it there is no modAL
        return dict(_APPLIED)
    try:
        modules = _modal_modules()
    except ImportError:
        return dict(_APPLIED)
    _repair_learner_params()
    if not renames and hasattr(pd.DataFrame, "append"):
        return dict(_APPLIED)  # nothing else modAL uses is missing
    for name in renames:
        original = getattr(sklearn.utils, name)
        users = [m for m in modules if getattr(m, name, None) is original
                 and _passes_old_keyword(m)]
        _rebind(users, name, original, _renaming_wrapper(original),
                f"scikit-learn {sklearn.__version__} has no force_all_finite")
    data = sys.modules.get("modAL.utils.data")
    original = getattr(data, "data_vstack", None)
    if original is not None and not hasattr(original, "__aalu_sk_compat__") \
            and _stacking_is_broken(original):
        _rebind(modules, "data_vstack", original, _stacking_wrapper(original),
                f"pandas {pd.__version__} has no DataFrame.append")
    return dict(_APPLIED)


def status():
    """What :func:`apply` rebound: ``(module name, attribute) -> reason``."""
    return dict(_APPLIED)


def undo():
    """Restore every name :func:`apply` rebound (for tests)."""
    for (modname, name) in list(_APPLIED):
        owner = sys.modules.get(modname)
        *path, attribute = name.split(".")  # "ActiveLearner.__init__"
        for part in path:
            owner = getattr(owner, part, None)
        current = getattr(owner, attribute, None)
        original = getattr(current, "__aalu_sk_compat__", None)
        if original is not None:
            setattr(owner, attribute, original)
        del _APPLIED[(modname, name)]
