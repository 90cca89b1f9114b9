"""The state an experiment resumes from: what is saved, how, and when.

An experiment folder holds ``checkpoint.json`` (the labeled indices of every
(strategy, seed) run in query order and its result rows) and
``results.csv`` (the rows, in :data:`RESULT_FIELDS` order). Both are
replaced with :func:`atomic_write` after every cycle, the checkpoint first,
so a process killed at any moment leaves the previous complete version of
each file, never a partial one.

No random-generator state is saved: every random choice of a run is seeded
by :func:`derive_seed` from the run's seed, a purpose and the cycle number,
so the labeled indices (checked by :func:`check_split`) are all a resumed
run needs.

A checkpoint is only resumed by the experiment that wrote it: it records
the configuration (minus the fields that cannot change the results, such as
``data_dir``) and :func:`dataset_fingerprint` of the data, and
:func:`open_checkpoint` refuses a folder that differs in either with
:class:`ConfigMismatchError`.
"""

import contextlib
import csv
import io
import json
from pathlib import Path

import numpy as np

from .._io import atomic_write
from .._runtime import derive_seed, resolve_device  # noqa: F401  (re-exported)
from ..validation import array_fingerprint

__all__ = ["ConfigMismatchError", "RESULT_FIELDS", "CHECKPOINT",
           "atomic_write", "remove_partial_writes", "dataset_fingerprint",
           "derive_seed", "check_split", "config_identity", "open_checkpoint",
           "start_run", "save_checkpoint", "result_rows"]

#: Columns of ``results.csv``, in order.
RESULT_FIELDS = ("strategy", "seed", "cycle", "n_labeled", "fraction",
                 "accuracy", "train_seconds", "query_seconds", "n_selected",
                 "stop_agreement")
#: File name of the checkpoint inside an experiment folder.
CHECKPOINT = "checkpoint.json"
_FORMAT = 1
# Config fields that do not change the active-learning results: they may
# differ when a run is resumed.
_NOT_IDENTITY = ("full_data", "data_dir", "download", "stop_set")


class ConfigMismatchError(ValueError):
    """An output folder holds a run of another configuration or dataset."""


def remove_partial_writes(folder, names):
    """Delete what a killed :func:`atomic_write` of ``names`` left behind.

    Parameters
    ----------
    folder : str or path-like
    names : iterable of str
        File names in ``folder`` written with :func:`atomic_write`.

    Returns
    -------
    removed : list of pathlib.Path
        The temporary files deleted.
    """
    removed = []
    for name in names:
        for tmp in Path(folder).glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def dataset_fingerprint(dataset):
    """SHA-256 over the train and test arrays (values, dtypes, shapes).

    Parameters
    ----------
    dataset : ImageDataset
        Anything with ``X_train``, ``y_train``, ``X_test`` and ``y_test``.

    Returns
    -------
    fingerprint : str
        64 hexadecimal digits.
    """
    return array_fingerprint(dataset.X_train, dataset.y_train,
                             dataset.X_test, dataset.y_test)




def check_split(labeled, n_train):
    """Check labeled indices against the training set; return the pool.

    Labeled and pool indices are positions in the *training* array only:
    the test set can never enter the pool. Called every cycle and for
    every run of a checkpoint that is resumed.

    Parameters
    ----------
    labeled : array-like of int
    n_train : int

    Returns
    -------
    pool : ndarray of int64
        The training indices not labeled, ascending.

    Raises
    ------
    RuntimeError
        If an index is not an integer position in ``range(n_train)``, is
        repeated, or pool and labeled set overlap or miss a sample.
    """
    labeled = np.asarray(labeled)
    if labeled.ndim != 1 or (labeled.size and labeled.dtype.kind not in "iu"):
        raise RuntimeError(f"Labeled indices must be a 1-d integer array; got "
                           f"dtype {labeled.dtype}, shape {labeled.shape}.")
    if labeled.size and (labeled.min() < 0 or labeled.max() >= n_train):
        raise RuntimeError(
            f"A labeled index lies outside the training set (0..{n_train - 1}"
            f"): range {labeled.min()}..{labeled.max()}. Only training samples "
            f"may be labeled; the test set never enters the pool.")
    if np.unique(labeled).size != labeled.size:
        raise RuntimeError("The labeled set holds an index twice.")
    is_pool = np.ones(n_train, dtype=bool)
    is_pool[labeled] = False
    pool = np.flatnonzero(is_pool).astype(np.int64)
    if pool.size + labeled.size != n_train or np.any(~is_pool[pool]):
        raise RuntimeError("Pool and labeled set do not partition the "
                           "training set.")
    return pool


def config_identity(config):
    """The configuration fields a resumed run must share with the saved one.

    Parameters
    ----------
    config : ExperimentConfig

    Returns
    -------
    identity : dict
        ``config.to_dict()`` without ``full_data``, ``data_dir`` and
        ``download``, with ``device="auto"`` resolved to the concrete
        device (results on CPU and CUDA differ).
    """
    identity = {k: v for k, v in config.to_dict().items()
                if k not in _NOT_IDENTITY}
    identity["device"] = resolve_device(config.device)
    return identity


def _read(path):
    try:
        state = json.loads(Path(path).read_text())
    except ValueError as exc:  # not UTF-8 or not JSON
        raise ConfigMismatchError(f"{path} is not a readable checkpoint "
                                  f"({exc}); use a new directory.") from None
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ConfigMismatchError(
            f"{path} has an unknown format "
            f"{state.get('format') if isinstance(state, dict) else None!r}.")
    return state


def _check_matches(out, state, identity, fingerprint, dataset_name):
    saved = state["config"]
    diffs = [f"{k}: saved {saved.get(k)!r}, now {identity.get(k)!r}"
             for k in sorted(set(saved) | set(identity))
             if saved.get(k) != identity.get(k)]
    if diffs:
        raise ConfigMismatchError(
            f"{out} holds an experiment with another configuration ("
            f"{'; '.join(diffs)}). Re-run with the saved configuration "
            f"({out / 'config.json'}) to resume it, or use a new directory.")
    if state["dataset"]["fingerprint"] != fingerprint:
        raise ConfigMismatchError(
            f"{out} holds an experiment on other data: the dataset "
            f"{dataset_name!r} has fingerprint {fingerprint[:12]}..., the "
            f"saved one {state['dataset']['fingerprint'][:12]}.... Use a new "
            f"directory.")


def open_checkpoint(out, config, dataset, sizes, fractions):
    """Load the checkpoint of ``out``, or create and write an empty one.

    Parameters
    ----------
    out : pathlib.Path
        The experiment folder (existing).
    config : ExperimentConfig
    dataset : ImageDataset
    sizes, fractions : list
        The label schedule, from
        :meth:`~aalu_sk.experiment.ExperimentConfig.label_schedule`.

    Returns
    -------
    state : dict
        JSON-ready; ``state["runs"]["NAME/seedS"]`` holds ``labeled`` and
        ``rows`` of one run, ``state["full_data"]`` the reference result.

    Raises
    ------
    ConfigMismatchError
        If ``out`` holds results without a checkpoint, a checkpoint of
        another configuration or data, or an inconsistent checkpoint.
    """
    from .. import __version__  # informative only; lazy: no import cycle
    path = out / CHECKPOINT
    fingerprint = dataset_fingerprint(dataset)
    identity = config_identity(config)
    if not path.exists():
        if (out / "results.csv").exists():
            raise ConfigMismatchError(
                f"{out} holds a results.csv but no {CHECKPOINT}; refusing to "
                f"overwrite it. Choose another output directory.")
        state = {"format": _FORMAT, "aalu_sk_version": __version__,
                 "config": identity,
                 "dataset": {"name": dataset.name, "fingerprint": fingerprint,
                             "n_train": len(dataset.y_train),
                             "n_test": len(dataset.y_test)},
                 "schedule": {"n_labeled": sizes, "fraction": fractions},
                 "seeding": "derived: SeedSequence(seed, spawn_key=(purpose, "
                            "cycle)); no RNG state is stored",
                 "runs": {}, "full_data": None}
        atomic_write(path, json.dumps(state))
        return state
    state = _read(path)
    _check_matches(out, state, identity, fingerprint, dataset.name)
    for key, run in state["runs"].items():
        n_done = len(run["rows"])
        expected = sizes[min(n_done, len(sizes) - 1)]
        if [r["cycle"] for r in run["rows"]] != list(range(n_done)) or \
                len(run["labeled"]) != expected:
            raise ConfigMismatchError(f"{path} is inconsistent for {key}: "
                                      f"{n_done} cycles, "
                                      f"{len(run['labeled'])} labeled.")
        try:
            check_split(run["labeled"], len(dataset.y_train))
        except RuntimeError as exc:
            raise ConfigMismatchError(f"{path} is inconsistent for {key}: "
                                      f"{exc}") from None
    return state


def start_run(state, name, seed, initial):
    """The saved run of ``(name, seed)``, or a new one from ``initial``.

    Parameters
    ----------
    state : dict
        From :func:`open_checkpoint`; a new run is added to it.
    name : str
    seed : int
    initial : list of int
        The initial labeled set this seed gives.

    Returns
    -------
    run : dict
        With ``labeled`` (indices in query order) and ``rows``.

    Raises
    ------
    ConfigMismatchError
        If the saved run started from another initial set.
    """
    key = f"{name}/seed{seed}"
    run = state["runs"].setdefault(key, {"strategy": name, "seed": seed,
                                         "labeled": list(initial), "rows": []})
    if run["labeled"][:len(initial)] != list(initial):
        raise ConfigMismatchError(f"The checkpoint's initial set for {key} "
                                  f"is not the one this seed gives.")
    return run


def result_rows(state, config):
    """Copies of the saved rows, by strategy, then seed, then cycle."""
    rows = []
    for name in config.strategies:
        for seed in config.seeds:
            run = state["runs"].get(f"{name}/seed{seed}")
            rows += [dict(r) for r in run["rows"]] if run else []
    return rows


def save_checkpoint(out, state, config):
    """Atomically rewrite ``checkpoint.json``, then ``results.csv``."""
    atomic_write(out / CHECKPOINT, json.dumps(state))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RESULT_FIELDS,
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(result_rows(state, config))
    atomic_write(out / "results.csv", buffer.getvalue())
