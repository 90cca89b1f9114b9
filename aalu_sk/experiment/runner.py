"""The active-learning experiment runner: configuration, strategies, loop.

:func:`run_experiment` runs every (seed, strategy) pair of an
:class:`ExperimentConfig` through the paper's protocol: a random initial
labeled set, then per cycle retrain the task model from scratch, measure
test accuracy, and let the strategy pick the next samples of the pool.

Resuming without stored RNG states
----------------------------------
Every random choice is derived from the seed and the cycle number alone
(:func:`~aalu_sk.experiment.checkpoint.derive_seed`): the initial labeled set from
``(seed, "initial")``, the task model of cycle ``k`` from
``(seed, "model", k)``, the strategy of cycle ``k`` from
``(seed, "query", k)``. A cycle is therefore a pure function of (seed,
strategy, cycle, labeled set), and the checkpoint
(:mod:`aalu_sk.experiment.checkpoint`) only has to store the labeled indices in query
order and the rows so far. It is rewritten atomically after each cycle, so
a kill loses at most the cycle in flight and a resumed run gives the
results of an uninterrupted one (on the same machine and device).
"""

import json
import logging
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Optional

import numpy as np
from sklearn.base import clone
from skorch.callbacks import Callback

from .._logging import progress_bar, use_bars
from .._runtime import resolve_device
from ..classifier import ImageClassifier
from ..modules import TASK_MODULES
from ..stopping import prediction_agreement, stop_set_indices
from ..strategies.registry import check_strategy_name, make_strategy
from .checkpoint import (RESULT_FIELDS, ConfigMismatchError,  # noqa: F401
                         atomic_write,
                         check_split, dataset_fingerprint, derive_seed,
                         open_checkpoint, remove_partial_writes, result_rows,
                         save_checkpoint, start_run)
from .datasets import load_dataset
from .plotting import write_report

__all__ = ["ExperimentConfig", "run_experiment"]

log = logging.getLogger(__name__)

# Files of an experiment folder, all written with atomic_write.
_OUTPUTS = ("checkpoint.json", "results.csv", "config.json", "summary.md",
            "learning_curves.png", "query_time.png")


@dataclass
class ExperimentConfig:
    """Everything that defines an active-learning experiment.

    Parameters
    ----------
    dataset : str, default="digits"
        A name for :func:`aalu_sk.experiment.datasets.load_dataset` or an image folder.
    strategies : tuple of str, default=("aalu", "vaal", "coreset", \
"entropy", "random")
        Names for :func:`~aalu_sk.strategies.make_strategy` (keys of
        :data:`~aalu_sk.strategies.STRATEGIES`, optionally with ``+div``
        or ``+topk``).
    seeds : tuple of int, default=(0, 1, 2)
        One run per seed and strategy; non-negative.
    initial, step, final : float or int, default=0.10, 0.05, 0.40
        The labeled set: its start, increment per cycle and end (the last
        increment is capped to reach ``final``). Fractions of the training
        set in (0, 1], or, when all three are integers, numbers of samples
        (``initial=60, step=60, final=360``).
    model : {"resnet18", "small_cnn", "mlp"}, default="resnet18"
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
    selector_max_steps : int, None or "auto", default="auto"
        Step budget of the AALU and VAAL selectors: ``"auto"`` keeps each
        strategy's own default, None trains full epochs, an integer caps
        the steps.
    vaal_channels : tuple of int, default=(128, 256, 512, 1024)
        Encoder widths of VAAL's convolutional VAE.
    device : str, default="auto"
    full_data : bool, default=False
        Also train once on the whole training set (reference line).
    data_dir : str or None, default=None
    download : bool, default=False
    representation : {None, "pixels", "ssl"}, default=None
        Train the task model on a label-free representation of the
        training images instead of the images: ``"ssl"`` is a
        :class:`~aalu_sk.representation.SelfSupervisedEmbedding` (SimCLR
        on the training images, no labels; needs ``lightly``),
        ``"pixels"`` a :class:`~aalu_sk.representation.PixelPCA`. It is
        fit once per experiment (seeded, saved beside the results, so a
        resumed run and every strategy read the same one), and each
        cycle's model is then a linear head on it (``model`` is unused;
        ``epochs``, ``batch_size`` and ``lr`` are the head's). None trains
        ``model`` from scratch on the images.
    stop_set : int, default=0
        Size of a fixed random sample of the training set on which each
        cycle's model is compared with the previous one
        (:func:`aalu_sk.stopping.prediction_agreement`), recorded as the
        ``stop_agreement`` column; 0 turns it off. It only measures: the
        labeled sets and accuracies are the same either way.

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
    selector_max_steps: object = "auto"
    vaal_channels: tuple = (128, 256, 512, 1024)
    device: str = "auto"
    full_data: bool = False
    data_dir: Optional[str] = None
    download: bool = False
    stop_set: int = 0
    representation: Optional[str] = None

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
        if not self.strategies or \
                len(set(self.strategies)) < len(self.strategies):
            refuse("strategies", "give distinct strategy names")
        for name in self.strategies:
            try:
                check_strategy_name(name)
            except ValueError as exc:
                refuse("strategies", str(exc).rstrip("."))
        if self.selector_max_steps not in ("auto", None) and \
                not whole(self.selector_max_steps, 1):
            refuse("selector_max_steps",
                   "give a positive integer, None or 'auto'")
        if not self.seeds or not all(whole(s, 0) for s in self.seeds) or \
                len(set(self.seeds)) < len(self.seeds):
            refuse("seeds", "give distinct non-negative integers")
        for name in ("epochs", "batch_size", "selector_epochs",
                     "selector_batch_size"):
            if not whole(getattr(self, name), 1):
                refuse(name, "must be a positive integer")
        if not whole(self.stop_set, 0):
            refuse("stop_set", "must be a non-negative integer")
        if not self.vaal_channels or not all(whole(c, 1)
                                             for c in self.vaal_channels):
            refuse("vaal_channels", "give positive integers")
        if self.representation not in REPRESENTATIONS:
            refuse("representation", f"use one of {list(REPRESENTATIONS)}")
        if self.model not in TASK_MODULES:
            refuse("model", f"use one of {sorted(TASK_MODULES)}")
        if not self.lr > 0:
            refuse("lr", "must be > 0")
        budget = (self.initial, self.step, self.final)
        if self.counts:
            if not (1 <= self.initial <= self.final and self.step >= 1):
                raise ValueError(
                    f"As numbers of samples, need 1 <= initial <= final and "
                    f"step >= 1; got initial={self.initial}, "
                    f"step={self.step}, final={self.final}.")
        elif any(isinstance(v, bool) or not isinstance(v, (int, float))
                 for v in budget) or \
                not (0 < self.initial <= self.final <= 1 and self.step > 0):
            raise ValueError(
                f"As fractions, need 0 < initial <= final <= 1 and step > 0 "
                f"(or three integers, numbers of samples); got "
                f"initial={self.initial!r}, step={self.step!r}, "
                f"final={self.final!r}.")
        resolve_device(self.device)
        return self

    @property
    def counts(self):
        """Whether ``initial``, ``step`` and ``final`` count samples."""
        return all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                   for v in (self.initial, self.step, self.final))

    def label_schedule(self, n_train):
        """Labeled-set sizes and nominal fractions of each cycle.

        Each cycle queries ``step * n_train`` samples, rounded so that the
        sizes match the nominal fractions (e.g. 67 or 68 of 1347 for 5%);
        the last query is capped to reach ``final``. With counts
        (:attr:`counts`), sizes are ``initial, initial + step, ...`` and
        fractions are ``size / n_train``.

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
        if self.counts:
            if self.final > n_train:
                raise ValueError(
                    f"final={self.final} samples, but the training set holds "
                    f"{n_train}.")
            sizes = [int(min(self.initial + k * self.step, self.final))
                     for k in range(n_steps + 1)]
            return sizes, [round(s / n_train, 10) for s in sizes]
        fractions = [round(min(self.initial + k * self.step, self.final), 10)
                     for k in range(n_steps + 1)]
        sizes = [int(np.floor(f * n_train + 0.5)) for f in fractions]
        if sizes[0] < 1 or np.any(np.diff(sizes) < 1):
            raise ValueError(
                f"With {n_train} training samples the labeled sizes would be "
                f"{sizes}: initial must give at least one sample and each "
                f"step at least one more; use larger fractions.")
        return sizes, fractions


class _EpochBar(Callback):
    """The task model's epochs: a bar (with the train loss) or DEBUG lines."""

    def __init__(self, desc="task model", progress=None):
        self.desc = desc
        self.progress = progress

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.bar_ = progress_bar(total=net.max_epochs, desc=self.desc,
                                 unit="epoch", leave=False,
                                 progress=self.progress)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None,
                     **kwargs):
        loss = net.history[-1, "train_loss"]
        self.bar_.set_postfix(loss=f"{loss:.3f}")
        self.bar_.update()
        log.debug("%s epoch %d/%d: train loss %.4f (%.1f s)", self.desc,
                  len(net.history), net.max_epochs, loss,
                  net.history[-1, "dur"])

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.bar_.close()


#: Values of :attr:`ExperimentConfig.representation`.
REPRESENTATIONS = (None, "pixels", "ssl")
#: How the linear head on a representation trains where ``aalu-sk run``
#: is given no ``--epochs``, ``--batch-size`` or ``--lr``: as in the
#: benchmark's ``+ssl`` protocols, whose figures the docs give. The
#: from-scratch defaults (50 epochs of batch 128 at 1e-3) leave a head on
#: 20 to 60 digits labels at 24 to 44% test accuracy on PCA pixels, where
#: these give 51 to 81%. (The labeling app and ``aalu-sk query`` train
#: theirs with :func:`aalu_sk.labeling.cycle.head_classifier`, which
#: ``benchmarks/head_recipes.py`` measured ahead of these settings on PCA
#: pixels and on the MNIST-5k SimCLR embedding; the benchmark's ``+ssl``
#: figures were all made with these.)
HEAD_SETTINGS = {"epochs": 100, "batch_size": 32, "lr": 1e-2}


def fit_representation(config, dataset, directory):
    """The experiment's label-free representation, fit on the training images.

    No labels are read. The self-supervised one is saved to (and, when
    its data and parameters match, loaded from) a file in ``directory``,
    so several runs over one dataset train it once.

    Parameters
    ----------
    config : ExperimentConfig
        Its ``representation`` names what to fit (None: nothing).
    dataset : ImageDataset
    directory : str or path-like

    Returns
    -------
    representation : fitted transformer or None
    """
    from ..representation import PixelPCA, SelfSupervisedEmbedding

    seed = derive_seed(0, "representation")
    if config.representation is None:
        return None
    if config.representation == "pixels":
        return PixelPCA(random_state=seed).fit(dataset.X_train)
    Path(directory).mkdir(parents=True, exist_ok=True)
    path = Path(directory) / f"ssl-{dataset_fingerprint(dataset)[:16]}.pt"
    log.info("representation ssl: loading %s, or training SimCLR on the %d "
             "training images without labels if it holds no fit of them "
             "(minutes on a CPU)", path, len(dataset.X_train))
    start = time.perf_counter()
    rep = SelfSupervisedEmbedding(random_state=seed, device=config.device,
                                  checkpoint=path).fit(dataset.X_train)
    log.info("representation %s: %s in %.1fs (%s)", config.representation,
             "loaded" if rep.loaded_from_checkpoint_ else "trained",
             time.perf_counter() - start, path)
    return rep


# -- the loop -----------------------------------------------------------------
def _task_model(config, dataset, progress, representation=None):
    callbacks = [("progress", _EpochBar(progress=progress))] \
        if progress is not False else None
    if representation is not None:
        return ImageClassifier(representation=representation, head="linear",
                               num_classes=dataset.n_classes,
                               max_epochs=config.epochs,
                               batch_size=config.batch_size, lr=config.lr,
                               device=config.device, callbacks=callbacks)
    return ImageClassifier(config.model, num_classes=dataset.n_classes,
                           max_epochs=config.epochs,
                           batch_size=config.batch_size, lr=config.lr,
                           augment=config.augment, device=config.device,
                           callbacks=callbacks)


def _fit_and_score(template, random_state, X, y, dataset,
                   record_losses=False):
    """A fresh task model fit on ``(X, y)``; its test accuracy and seconds."""
    net = clone(template).set_params(random_state=random_state,
                                     record_losses=record_losses)
    start = time.perf_counter()
    net.fit(X, y)
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(net.predict(dataset.X_test) == dataset.y_test))
    return net, accuracy, seconds


def _run_cycle(config, dataset, template, name, seed, cycle, labeled, sizes,
               progress, stop_set=None, query=None):
    """Train, evaluate and query once; a pure function of its arguments."""
    X, y = dataset.X_train, dataset.y_train
    labeled = np.asarray(labeled, dtype=np.int64)
    pool = check_split(labeled, len(y))
    strategy = make_strategy(
        name, derive_seed(seed, "query", cycle), device=config.device,
        selector_epochs=config.selector_epochs,
        selector_batch_size=config.selector_batch_size,
        vaal_channels=config.vaal_channels, verbose=int(use_bars(progress)),
        **({} if config.selector_max_steps == "auto" else
           {"selector_max_steps": config.selector_max_steps}))
    # Recording losses evaluates the model between epochs without changing
    # its training, so every strategy's model of a cycle is the same.
    net, accuracy, train_seconds = _fit_and_score(
        template, derive_seed(seed, "model", cycle), X[labeled], y[labeled],
        dataset, record_losses=strategy.reads_training_losses())
    selected, query_seconds = np.zeros(0, dtype=np.int64), 0.0
    if cycle + 1 < len(sizes):
        n_query = sizes[cycle + 1] - sizes[cycle]
        start = time.perf_counter()
        picked = (query or _local_query)(strategy, net, X[labeled],
                                         y[labeled], X[pool], n_query)
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
    if stop_set is not None:  # popped by run_experiment
        row["_stop_predictions"] = net.predict(X[stop_set]).tolist()
    return row, selected.tolist()


def _local_query(strategy, estimator, X_labeled, y_labeled, X_pool, n):
    return strategy.query(X_labeled, y_labeled, X_pool, estimator, n)


def _record_stop_agreement(run, row):
    """Move the stop-set predictions into the run; agreement into the row."""
    predictions = row.pop("_stop_predictions", None)
    previous = run.get("stop_predictions")
    row["stop_agreement"] = None
    if predictions is not None and previous is not None and \
            len(previous) == len(predictions) and row["cycle"] > 0:
        row["stop_agreement"] = prediction_agreement(previous, predictions)
    if predictions is not None:
        run["stop_predictions"] = predictions


def run_experiment(config, out_dir, *, progress=None, dataset=None,
                   callback=None, query=None, representation_dir=None):
    """Run (or resume) an active-learning experiment and write its outputs.

    Parameters
    ----------
    config : ExperimentConfig
    out_dir : str or path-like
        Receives ``results.csv``, ``summary.md``, ``learning_curves.png``,
        ``query_time.png``, ``config.json`` and ``checkpoint.json``. If it
        holds a checkpoint of the same configuration and data, the run
        resumes from it.
    progress : bool or None, default=None
        Progress bars for cycles, task-model epochs and selector epochs:
        True always, False never, None when standard error is a terminal
        (see :func:`aalu_sk._logging.use_bars`). Either way, each cycle
        and stage is logged, with timings, to the
        ``aalu_sk.experiment.runner`` logger (INFO; task-model epochs at
        DEBUG unless ``progress=False``).
    dataset : ImageDataset or None, default=None
        Use these arrays instead of loading ``config.dataset``.
    callback : callable or None, default=None
        Called with each new result row, after it is checkpointed.
    query : callable or None, default=None
        ``query(strategy, estimator, X_labeled, y_labeled, X_pool, n)``
        returning ``n`` positions in ``X_pool``; None calls
        ``strategy.query``. :func:`aalu_sk.distributed.ray_query` scores
        on a Ray cluster and gives the same positions.
    representation_dir : str, path-like or None, default=None
        Where the self-supervised representation is saved and looked up
        (:func:`fit_representation`); None: ``out_dir``.

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
    state = open_checkpoint(out, config, dataset, sizes, fractions)
    remove_partial_writes(out, _OUTPUTS)  # of an attempt that was killed
    atomic_write(out / "config.json", json.dumps(config.to_dict(), indent=2))
    template = _task_model(config, dataset, progress, fit_representation(
        config, dataset, representation_dir or out))
    total = len(config.seeds) * len(config.strategies) * len(sizes)
    done = sum(len(run["rows"]) for run in state["runs"].values())
    log.info("%s: %d strategies x %d seeds x %d cycles (%d to %d of %d "
             "labeled), %d of %d cycles done; results in %s", config.dataset,
             len(config.strategies), len(config.seeds), len(sizes), sizes[0],
             sizes[-1], n_train, done, total, out)
    started = time.perf_counter()
    with progress_bar(total=total, initial=done, desc="cycles", unit="cycle",
                      progress=progress) as bar:
        for seed in config.seeds:
            initial = np.random.RandomState(derive_seed(seed, "initial")) \
                .permutation(n_train)[:sizes[0]].tolist()
            stop_set = stop_set_indices(
                n_train, config.stop_set, derive_seed(seed, "stop")) \
                if config.stop_set else None
            for name in config.strategies:
                run = start_run(state, name, seed, initial)
                while len(run["rows"]) < len(sizes):
                    cycle = len(run["rows"])
                    bar.set_description(f"{name} seed {seed}")
                    row, selected = _run_cycle(
                        config, dataset, template, name, seed, cycle,
                        run["labeled"], sizes, progress, stop_set, query)
                    _record_stop_agreement(run, row)
                    row["fraction"] = fractions[cycle]
                    run["rows"].append(row)
                    run["labeled"] = run["labeled"] + selected
                    save_checkpoint(out, state, config)
                    bar.update()
                    log.info(
                        "[%d/%d] %-16s seed %d cycle %d/%d: %6d labeled "
                        "(%.1f%%)  accuracy %.4f  train %.1fs  query %.1fs "
                        "(+%d)", bar.n, total, name, seed, cycle,
                        len(sizes) - 1, row["n_labeled"],
                        100 * row["fraction"], row["accuracy"],
                        row["train_seconds"], row["query_seconds"],
                        row["n_selected"])
                    if callback is not None:
                        callback(dict(row))
    if config.full_data and not state.get("full_data"):
        seed = config.seeds[0]
        _, accuracy, seconds = _fit_and_score(
            template, derive_seed(seed, "full"), dataset.X_train,
            dataset.y_train, dataset)
        state["full_data"] = {"seed": seed, "accuracy": accuracy,
                              "train_seconds": seconds}
        save_checkpoint(out, state, config)
        log.info("full training set (%d): accuracy %.4f  train %.1fs",
                 n_train, accuracy, seconds)
    results = result_rows(state, config)
    start = time.perf_counter()
    write_report(out, results)
    log.info("%d cycles run in %.1fs; report written in %.1fs: %s",
             total - done, start - started, time.perf_counter() - start,
             out / "summary.md")
    return results
