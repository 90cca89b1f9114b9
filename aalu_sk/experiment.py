"""The active-learning experiment runner: cycles, checkpoints and results.

:func:`run_experiment` runs every (seed, strategy) pair of an
:class:`ExperimentConfig` through the paper's protocol: a random initial
labeled set, then per cycle retrain the task model from scratch, measure
test accuracy, and let the strategy pick the next samples of the pool.

Resuming without stored RNG states
----------------------------------
Every random choice is derived from the seed and the cycle number alone
(:func:`derive_seed`): the initial labeled set from ``(seed, "initial")``,
the task model of cycle ``k`` from ``(seed, "model", k)``, the strategy of
cycle ``k`` from ``(seed, "query", k)``. A cycle is therefore a pure
function of (seed, strategy, cycle, labeled set), and the checkpoint only
has to store the labeled indices in query order and the rows so far. It is
rewritten atomically after each cycle, so a kill loses at most the cycle in
flight and a resumed run gives the results of an uninterrupted one (on the
same machine and device).
"""

import csv
import hashlib
import io
import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Optional

import numpy as np
from sklearn.base import clone
from skorch.callbacks import Callback
from tqdm.auto import tqdm

from ._runtime import resolve_device
from .classifier import ImageClassifier
from .datasets import load_dataset
from .modules import TASK_MODULES
from .plotting import atomic_write, load_results, write_report
from .sampler import AdversarialUncertaintySampler
from .strategies import CoreSetSampler, EntropySampler, RandomSampler
from .vaal import VAALSampler

__all__ = ["ExperimentConfig", "ConfigMismatchError", "STRATEGIES",
           "RESULT_FIELDS", "run_experiment", "load_results", "write_report",
           "derive_seed", "check_split", "dataset_fingerprint",
           "atomic_write"]

RESULT_FIELDS = ("strategy", "seed", "cycle", "n_labeled", "fraction",
                 "accuracy", "train_seconds", "query_seconds", "n_selected")
CHECKPOINT = "checkpoint.json"
_FORMAT = 1
_PURPOSES = {"initial": 0, "model": 1, "query": 2, "full": 3}
# Config fields that do not change the active-learning results: they may
# differ when a run is resumed.
_NOT_IDENTITY = ("full_data", "data_dir", "download")


# -- strategy registry --------------------------------------------------------
def _aalu(**flags):
    def factory(random_state, selector_epochs, device, selector_batch_size=128,
                verbose=0, **_):
        return AdversarialUncertaintySampler(
            epochs=selector_epochs, batch_size=selector_batch_size,
            device=device, random_state=random_state, verbose=verbose, **flags)
    return factory


def _vaal(random_state, selector_epochs, device, selector_batch_size=128,
          vaal_channels=(128, 256, 512, 1024), verbose=0, **_):
    return VAALSampler(channels=tuple(vaal_channels), epochs=selector_epochs,
                       batch_size=selector_batch_size, device=device,
                       random_state=random_state, verbose=verbose)


#: Strategies by name: ``name -> factory(random_state, selector_epochs,
#: device, **options)`` returning a query strategy; the options are
#: ``selector_batch_size``, ``vaal_channels`` and ``verbose``. Add an entry
#: to make a strategy of your own selectable by name.
STRATEGIES = {
    "aalu": _aalu(),
    "advvae": _aalu(adversarial=True, use_prediction=False,
                    ranking_weight=0.0),
    "advvae_pred": _aalu(adversarial=True, use_prediction=True,
                         ranking_weight=0.0),
    "losslearn": _aalu(adversarial=False, use_prediction=False,
                       ranking_weight=10.0),
    "advvae_losslearn": _aalu(adversarial=True, use_prediction=False,
                              ranking_weight=10.0),
    "vaal": _vaal,
    "coreset": lambda random_state, selector_epochs, device, **_:
        CoreSetSampler(device=device, random_state=random_state),
    "entropy": lambda random_state, selector_epochs, device, **_:
        EntropySampler(random_state=random_state),
    "random": lambda random_state, selector_epochs, device, **_:
        RandomSampler(random_state=random_state),
}


class ConfigMismatchError(ValueError):
    """An output folder holds a run of another configuration or dataset."""


@dataclass
class ExperimentConfig:
    """Everything that defines an active-learning experiment.

    Parameters
    ----------
    dataset : str, default="digits"
        A name for :func:`aalu_sk.datasets.load_dataset` or an image folder.
    strategies : tuple of str, default=("aalu", "vaal", "coreset", \
"entropy", "random")
        Keys of :data:`STRATEGIES`.
    seeds : tuple of int, default=(0, 1, 2)
        One run per seed and strategy; non-negative.
    initial, step, final : float, default=0.10, 0.05, 0.40
        Labeled fractions of the training set: start, increment per cycle
        and end (the last increment is capped to reach ``final``).
    model : {"resnet18", "small_cnn"}, default="resnet18"
    epochs : int, default=50
        Task-model epochs per cycle.
    batch_size : int, default=128
        Task-model batch size.
    lr : float, default=1e-3
        Task-model Adam learning rate.
    augment : bool, default=False
        Random horizontal flips for the task model (the paper's, for
        natural images; leave off for digits).
    selector_epochs : int, default=100
        Epochs of the AALU and VAAL selectors.
    selector_batch_size : int, default=128
    vaal_channels : tuple of int, default=(128, 256, 512, 1024)
        Encoder widths of VAAL's convolutional VAE.
    device : str, default="auto"
    full_data : bool, default=False
        Also train once on the whole training set (reference line).
    data_dir : str or None, default=None
    download : bool, default=False

    Examples
    --------
    >>> from aalu_sk.experiment import ExperimentConfig
    >>> config = ExperimentConfig(strategies=("aalu", "random"), seeds=(0,))
    >>> ExperimentConfig.from_dict(config.to_dict()) == config
    True
    >>> config.label_schedule(1000)
    ([100, 150, 200, 250, 300, 350, 400], [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4])
    """

    dataset: str = "digits"
    strategies: tuple = ("aalu", "vaal", "coreset", "entropy", "random")
    seeds: tuple = (0, 1, 2)
    initial: float = 0.10
    step: float = 0.05
    final: float = 0.40
    model: str = "resnet18"
    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    augment: bool = False
    selector_epochs: int = 100
    selector_batch_size: int = 128
    vaal_channels: tuple = (128, 256, 512, 1024)
    device: str = "auto"
    full_data: bool = False
    data_dir: Optional[str] = None
    download: bool = False

    def __post_init__(self):
        for name in ("strategies", "seeds", "vaal_channels"):
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                setattr(self, name, tuple(value))

    def to_dict(self):
        """The configuration as JSON-ready builtins."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data):
        """Build a configuration from :meth:`to_dict`'s output."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"Unknown configuration keys {unknown}; allowed "
                             f"are {[f.name for f in fields(cls)]}.")
        return cls(**data)

    def validate(self):
        """Check every field; return ``self`` or raise ``ValueError``."""
        def refuse(name, allowed):
            raise ValueError(f"{name}={getattr(self, name)!r}: {allowed}.")

        def whole(value, minimum):
            return not isinstance(value, bool) and isinstance(
                value, (int, np.integer)) and value >= minimum
        if not isinstance(self.dataset, str) or not self.dataset:
            refuse("dataset", "give a dataset name or an image folder")
        if not self.strategies or any(s not in STRATEGIES for s in
                                      self.strategies) or \
                len(set(self.strategies)) < len(self.strategies):
            refuse("strategies", f"give distinct names of {sorted(STRATEGIES)}")
        if not self.seeds or not all(whole(s, 0) for s in self.seeds) or \
                len(set(self.seeds)) < len(self.seeds):
            refuse("seeds", "give distinct non-negative integers")
        for name in ("epochs", "batch_size", "selector_epochs",
                     "selector_batch_size"):
            if not whole(getattr(self, name), 1):
                refuse(name, "must be a positive integer")
        if not self.vaal_channels or not all(whole(c, 1)
                                             for c in self.vaal_channels):
            refuse("vaal_channels", "give positive integers")
        if self.model not in TASK_MODULES:
            refuse("model", f"use one of {sorted(TASK_MODULES)}")
        if not self.lr > 0:
            refuse("lr", "must be > 0")
        if not (0 < self.initial <= self.final <= 1 and self.step > 0):
            raise ValueError(
                f"Need 0 < initial <= final <= 1 and step > 0; got "
                f"initial={self.initial}, step={self.step}, "
                f"final={self.final}.")
        resolve_device(self.device)
        return self

    def label_schedule(self, n_train):
        """Labeled-set sizes and nominal fractions of each cycle.

        Each cycle queries ``step * n_train`` samples, rounded so that the
        sizes match the nominal fractions (e.g. 67 or 68 of 1347 for 5%);
        the last query is capped to reach ``final``.

        Parameters
        ----------
        n_train : int
            Size of the training set.

        Returns
        -------
        sizes : list of int
            ``round(fraction * n_train)`` per cycle, strictly increasing.
        fractions : list of float
            ``initial, initial + step, ...``, the last one capped at
            ``final``.
        """
        n_steps = max(0, int(np.ceil((self.final - self.initial) / self.step
                                     - 1e-9)))
        fractions = [round(min(self.initial + k * self.step, self.final), 10)
                     for k in range(n_steps + 1)]
        sizes = [int(np.floor(f * n_train + 0.5)) for f in fractions]
        if sizes[0] < 1 or np.any(np.diff(sizes) < 1):
            raise ValueError(
                f"With {n_train} training samples the labeled sizes would be "
                f"{sizes}: initial must give at least one sample and each "
                f"step at least one more; use larger fractions.")
        return sizes, fractions


def derive_seed(seed, purpose, cycle=0):
    """A seed for one random choice, a pure function of its arguments.

    Parameters
    ----------
    seed : int
        The run's seed (non-negative).
    purpose : {"initial", "model", "query", "full"}
    cycle : int, default=0

    Returns
    -------
    seed : int in ``[0, 2**31)``
    """
    seq = np.random.SeedSequence(int(seed),
                                 spawn_key=(_PURPOSES[purpose], int(cycle)))
    return int(seq.generate_state(1, np.uint32)[0] >> 1)


def check_split(labeled, n_train):
    """Check labeled indices against the training set; return the pool.

    Labeled and pool indices are positions in the *training* array only:
    the test set can never enter the pool. Called every cycle.

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


def dataset_fingerprint(dataset):
    """SHA-256 over the train and test arrays (values, dtypes, shapes)."""
    digest = hashlib.sha256()
    for name in ("X_train", "y_train", "X_test", "y_test"):
        array = np.ascontiguousarray(getattr(dataset, name))
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


class _EpochBar(Callback):
    """A tqdm bar over the task model's epochs, showing the train loss."""

    def __init__(self, desc="task model"):
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.bar_ = tqdm(total=net.max_epochs, desc=self.desc, unit="epoch",
                         leave=False)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None,
                     **kwargs):
        self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.3f}")
        self.bar_.update()

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.bar_.close()


# -- checkpoint ---------------------------------------------------------------
def _identity(config):
    identity = {k: v for k, v in config.to_dict().items()
                if k not in _NOT_IDENTITY}
    identity["device"] = resolve_device(config.device)  # "auto" -> concrete
    return identity


def _open_checkpoint(out, config, dataset, sizes, fractions):
    from . import __version__  # informative only; lazy: no import cycle
    path = out / CHECKPOINT
    fingerprint = dataset_fingerprint(dataset)
    identity = _identity(config)
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
    state = json.loads(path.read_text())
    if state.get("format") != _FORMAT:
        raise ConfigMismatchError(f"{path} has an unknown format "
                                  f"{state.get('format')!r}.")
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
            f"{dataset.name!r} has fingerprint {fingerprint[:12]}..., the "
            f"saved one {state['dataset']['fingerprint'][:12]}.... Use a new "
            f"directory.")
    for key, run in state["runs"].items():
        n_done = len(run["rows"])
        expected = sizes[min(n_done, len(sizes) - 1)]
        if [r["cycle"] for r in run["rows"]] != list(range(n_done)) or \
                len(run["labeled"]) != expected:
            raise ConfigMismatchError(f"{path} is inconsistent for {key}: "
                                      f"{n_done} cycles, "
                                      f"{len(run['labeled'])} labeled.")
    return state


def _ordered_rows(state, config):
    rows = []
    for name in config.strategies:
        for seed in config.seeds:
            run = state["runs"].get(f"{name}/seed{seed}")
            rows += [dict(r) for r in run["rows"]] if run else []
    return rows


def _save(out, state, config):
    atomic_write(out / CHECKPOINT, json.dumps(state))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RESULT_FIELDS,
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(_ordered_rows(state, config))
    atomic_write(out / "results.csv", buffer.getvalue())


# -- the loop -----------------------------------------------------------------
def _task_model(config, dataset, progress):
    callbacks = [("progress", _EpochBar())] if progress else None
    return ImageClassifier(config.model, num_classes=dataset.n_classes,
                           max_epochs=config.epochs,
                           batch_size=config.batch_size, lr=config.lr,
                           augment=config.augment, device=config.device,
                           callbacks=callbacks)


def _run_cycle(config, dataset, template, name, seed, cycle, labeled, sizes,
               progress):
    """Train, evaluate and query once; a pure function of its arguments."""
    X, y = dataset.X_train, dataset.y_train
    labeled = np.asarray(labeled, dtype=np.int64)
    pool = check_split(labeled, len(y))
    net = clone(template).set_params(
        random_state=derive_seed(seed, "model", cycle))
    start = time.perf_counter()
    net.fit(X[labeled], y[labeled])
    train_seconds = time.perf_counter() - start
    accuracy = float(np.mean(net.predict(dataset.X_test) == dataset.y_test))
    selected, query_seconds = np.zeros(0, dtype=np.int64), 0.0
    if cycle + 1 < len(sizes):
        n_query = sizes[cycle + 1] - sizes[cycle]
        strategy = STRATEGIES[name](
            derive_seed(seed, "query", cycle), config.selector_epochs,
            config.device, selector_batch_size=config.selector_batch_size,
            vaal_channels=config.vaal_channels, verbose=int(progress))
        start = time.perf_counter()
        picked = strategy.query(X[labeled], y[labeled], X[pool], net, n_query)
        query_seconds = time.perf_counter() - start
        picked = np.asarray(picked)
        if picked.shape != (n_query,) or picked.dtype.kind not in "iu" or \
                np.unique(picked).size != n_query or picked.min() < 0 or \
                picked.max() >= pool.size:
            raise RuntimeError(
                f"Strategy {name!r} returned {picked!r}; expected "
                f"{n_query} distinct positions in the pool of {pool.size}.")
        selected = pool[picked]
    row = {"strategy": name, "seed": int(seed), "cycle": int(cycle),
           "n_labeled": int(labeled.size), "fraction": None,
           "accuracy": accuracy, "train_seconds": train_seconds,
           "query_seconds": query_seconds, "n_selected": int(selected.size)}
    return row, selected.tolist()


def run_experiment(config, out_dir, *, progress=True, dataset=None,
                   callback=None):
    """Run (or resume) an active-learning experiment and write its outputs.

    Parameters
    ----------
    config : ExperimentConfig
    out_dir : str or path-like
        Receives ``results.csv``, ``summary.md``, ``learning_curves.png``,
        ``query_time.png``, ``config.json`` and ``checkpoint.json``. If it
        holds a checkpoint of the same configuration and data, the run
        resumes from it.
    progress : bool, default=True
        tqdm bars for cycles, task-model epochs and selector epochs, and
        one summary line per cycle.
    dataset : ImageDataset or None, default=None
        Use these arrays instead of loading ``config.dataset``.
    callback : callable or None, default=None
        Called with each new result row, after it is checkpointed.

    Returns
    -------
    results : list of dict
        One row per strategy, seed and cycle, with the keys of
        :data:`RESULT_FIELDS` (``n_selected`` samples were queried after
        that cycle's evaluation, in ``query_seconds``).

    Raises
    ------
    ConfigMismatchError
        If ``out_dir`` holds a run of another configuration or dataset.
    """
    config = config.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if dataset is None:
        dataset = load_dataset(config.dataset, data_dir=config.data_dir,
                               download=config.download)
    n_train = len(dataset.y_train)
    sizes, fractions = config.label_schedule(n_train)
    state = _open_checkpoint(out, config, dataset, sizes, fractions)
    atomic_write(out / "config.json", json.dumps(config.to_dict(), indent=2))
    template = _task_model(config, dataset, progress)
    total = len(config.seeds) * len(config.strategies) * len(sizes)
    done = sum(len(run["rows"]) for run in state["runs"].values())
    with tqdm(total=total, initial=done, desc="cycles", unit="cycle",
              disable=not progress) as bar:
        for seed in config.seeds:
            initial = np.random.RandomState(derive_seed(seed, "initial")) \
                .permutation(n_train)[:sizes[0]].tolist()
            for name in config.strategies:
                run = state["runs"].setdefault(
                    f"{name}/seed{seed}", {"strategy": name, "seed": seed,
                                           "labeled": initial, "rows": []})
                if run["labeled"][:sizes[0]] != initial:
                    raise ConfigMismatchError(
                        f"The checkpoint's initial set for {name}/seed{seed} "
                        f"is not the one this seed gives.")
                while len(run["rows"]) < len(sizes):
                    cycle = len(run["rows"])
                    bar.set_description(f"{name} seed {seed}")
                    row, selected = _run_cycle(
                        config, dataset, template, name, seed, cycle,
                        run["labeled"], sizes, progress)
                    row["fraction"] = fractions[cycle]
                    run["rows"].append(row)
                    run["labeled"] = run["labeled"] + selected
                    _save(out, state, config)
                    bar.update()
                    if progress:
                        tqdm.write(
                            f"{name:<16} seed {seed} cycle {cycle}/"
                            f"{len(sizes) - 1}: {row['n_labeled']:>6} "
                            f"labeled ({row['fraction']:.1%})  accuracy "
                            f"{row['accuracy']:.4f}  train "
                            f"{row['train_seconds']:.1f}s  query "
                            f"{row['query_seconds']:.1f}s "
                            f"(+{row['n_selected']})")
                    if callback is not None:
                        callback(dict(row))
    if config.full_data and not state.get("full_data"):
        seed = config.seeds[0]
        net = clone(template).set_params(random_state=derive_seed(seed, "full"))
        start = time.perf_counter()
        net.fit(dataset.X_train, dataset.y_train)
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(net.predict(dataset.X_test)
                                 == dataset.y_test))
        state["full_data"] = {"seed": seed, "accuracy": accuracy,
                              "train_seconds": seconds}
        _save(out, state, config)
        if progress:
            tqdm.write(f"full training set ({n_train}): accuracy "
                       f"{accuracy:.4f}  train {seconds:.1f}s")
    results = _ordered_rows(state, config)
    write_report(out, results)
    return results
