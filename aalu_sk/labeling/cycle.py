"""One cycle of the labeling loop: train, choose, record.

:func:`run_cycle` snapshots the labels (up to the latest ``seq``), trains a
fresh :class:`~aalu_sk.ImageClassifier` on them, lets the strategy choose
the next batch among the unanswered images (or k-means coverage when
there is no label yet, or when the strategy fails), predicts the fixed
stop set, and writes the cycle and its batch in one transaction.
"""

import logging
import time

import numpy as np
from skorch.callbacks import Callback

from ..classifier import ImageClassifier
from ..experiment.checkpoint import derive_seed
from ..stopping import prediction_agreement, stop_set_indices
from ..strategies.registry import make_strategy
from .coverage import coarse_features, coverage_batch

__all__ = ["run_cycle"]

logger = logging.getLogger("aalu_sk.labeling")


class _EpochProgress(Callback):
    """Report the task model's epochs to the project's progress."""

    def __init__(self, report):
        self.report = report

    def on_epoch_end(self, net, **kwargs):
        self.report(epoch=len(net.history), epochs=net.max_epochs)



def run_cycle(project):
    """Run one cycle of ``project`` (a :class:`LabelingProject`).

    Returns
    -------
    cycle : dict or None
        The cycle written, with ``items`` (the batch); None when no image
        is left to ask about.
    """
    store, rs = project.store, project.random_state
    seq = store.last_seq()
    states = store.states(seq)
    pool = project._pool(states)
    n = min(project.batch_size, pool.size)
    if n == 0:
        return None
    number = len(store.cycles())
    classes = store.classes()
    labeled = [(project._position[i], classes.index(v))
               for i, (a, v) in states.items()
               if a == "label" and i in project._position and v in classes]
    stop = _stop_positions(project)
    cycle = {"cycle": number, "strategy": "coverage", "status": "done",
             "label_seq": seq, "n_labeled": len(labeled),
             "n_classes": len(classes), "train_seconds": 0.0,
             "query_seconds": 0.0, "message": None, "metrics": {}}
    predictions = scores = None
    if labeled:
        idx, y = map(np.asarray, zip(*labeled))
        net, cycle["train_seconds"] = _train(project, 
            idx, y, len(classes), derive_seed(rs, "model", number))
        project._report(stage=f"choosing the next batch ({project.strategy})")
        start = time.perf_counter()
        try:
            strategy = make_strategy(
                project.strategy,
                random_state=derive_seed(rs, "query", number),
                selector_epochs=project.selector_epochs,
                device=project.device)
            picked = np.asarray(strategy.query(
                project.X_[idx], y, project.X_[pool], net, n), dtype=np.int64)
            scores = np.asarray(strategy.scores_, np.float64)[picked]
            cycle["strategy"] = project.strategy
        except Exception as exc:  # e.g. too few labels for the strategy
            cycle["message"] = (f"{project.strategy} failed ({exc}); this "
                                f"batch was chosen for coverage")
            logger.warning("cycle %d: %s", number, cycle["message"])
            picked = None
        cycle["query_seconds"] = time.perf_counter() - start
        names = np.asarray(classes, dtype=object)
        if picked is not None:
            predictions = names[net.predict(project.X_[pool[picked]])]
        stop_pred = names[net.predict(project.X_[stop])].tolist()
        cycle["metrics"]["stop_predictions"] = stop_pred
        cycle["metrics"]["agreement"] = _agreement(store, stop_pred)
    else:
        picked = None
    if picked is None:
        project._report(stage="choosing a batch that covers the folder")
        picked = coverage_batch(coarse_features(project.X_[pool]), n,
                                derive_seed(rs, "initial", number))
    counts = {c: 0 for c in classes}
    for _, v in labeled:
        counts[classes[v]] += 1
    cycle["metrics"]["class_counts"] = counts
    batch = [{"item": project.items[pool[p]],
              "prediction": None if predictions is None
              else str(predictions[k]),
              "score": None if scores is None else float(scores[k])}
             for k, p in enumerate(picked)]
    written = store.add_cycle(cycle, batch, drop_labeled_after=seq)
    logger.info("cycle %d: %s chose %d images (%d labels; train %.1fs, "
                "query %.1fs)", number, cycle["strategy"], len(written),
                len(labeled), cycle["train_seconds"],
                cycle["query_seconds"])
    return dict(cycle, items=written)

def _train(project, idx, y, n_classes, seed):
    """A fresh task model fit on the labeled images; it and its seconds."""
    epochs = project.epochs or int(np.clip(np.ceil(150 / np.ceil(
        idx.size / 32)), 10, 100))
    project._report(stage="training the model", epoch=0, epochs=epochs)
    net = ImageClassifier(
        project.model, num_classes=n_classes, max_epochs=epochs,
        batch_size=32, random_state=seed, device=project.device,
        callbacks=[("progress", _EpochProgress(project._report))])
    start = time.perf_counter()
    net.fit(project.X_[idx], y)
    return net, time.perf_counter() - start

def _stop_positions(project):
    """Positions of the stop set (chosen and stored on first use)."""
    chosen = project.store.stop_set()
    if not chosen:
        picked = stop_set_indices(len(project.items), project.stop_set_size,
                                  derive_seed(project.random_state, "stop"))
        project.store.set_stop_set([project.items[k] for k in picked])
        chosen = project.store.stop_set()
    return np.asarray([project._position[i] for i in chosen
                       if i in project._position], dtype=np.int64)


def _agreement(store, stop_pred):
    """Kappa with the last model's stop-set predictions (None if none)."""
    for row in reversed(store.cycles()):
        previous = row["metrics"].get("stop_predictions")
        if previous is not None:
            if len(previous) != len(stop_pred) or not stop_pred:
                return None
            return prediction_agreement(previous, stop_pred)
    return None
