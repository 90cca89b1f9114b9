"""What the page shows about the loop: learning curve, accuracy estimate
and stopping signal.

All are read from the store alone (cycles, batches, labels), so they
are the same after a restart.
"""

from ..stopping import stopping_point
from .estimate import MIN_AUDIT_LABELS, accuracy_interval

__all__ = ["learning_curve", "accuracy_estimate", "stopping_signal",
           "status"]


def _audit_accuracy(cycle, labels, audit_rows):
    """The Wilson estimate of ``cycle``'s model on the labeled audit images
    (those known when it trained, and the ones of its own batch)."""
    guesses = dict(cycle["metrics"].get("audit_predictions", {}))
    guesses.update({r["item"]: r["prediction"] for r in audit_rows
                    if r["cycle"] == cycle["cycle"] and
                    r["prediction"] is not None})
    hits = [guesses[i] == labels[i] for i in guesses if i in labels]
    return accuracy_interval(sum(hits), len(hits))


def accuracy_estimate(store):
    """The latest model's accuracy on the audit images, with an interval.

    See :mod:`aalu_sk.labeling.estimate` for why it is unbiased.

    Parameters
    ----------
    store : LabelStore

    Returns
    -------
    estimate : dict
        ``cycle`` (of the latest model, or None), ``accuracy`` (the
        :func:`~.estimate.accuracy_interval` dict, or None before any
        audit image is labeled), ``active_vs_random`` (the
        :func:`~.estimate.active_vs_random` dict of that model's cycle, or
        None), ``n_audit`` (audit images drawn) and ``n_audit_labeled``.
    """
    labels = store.labels()
    audit_rows = [r for r in store.batch_items() if r["random"]]
    models = [c for c in store.cycles() if "stop_predictions" in c["metrics"]]
    latest = models[-1] if models else None
    return {"cycle": None if latest is None else latest["cycle"],
            "accuracy": None if latest is None else
            _audit_accuracy(latest, labels, audit_rows),
            "active_vs_random": None if latest is None else
            latest["metrics"].get("active_vs_random"),
            "n_audit": len({r["item"] for r in audit_rows}),
            "n_audit_labeled": len({r["item"] for r in audit_rows
                                    if r["item"] in labels})}


def learning_curve(store):
    """How good each model's guesses were on the batch it chose.

    Each model predicts the batch it picks before anyone labels it; once
    labeled, its accuracy on those images is measured on data it never
    saw (hard cases by construction, so it understates the accuracy on
    the whole folder).

    Parameters
    ----------
    store : LabelStore

    Returns
    -------
    curve : list of dict
        Per cycle with a model: ``cycle``, ``n_labeled`` (its training
        labels), ``n_checked``, ``batch_accuracy`` (None until one of its
        batch is labeled), ``agreement`` (stop-set kappa with the previous
        model, or None), ``accuracy`` (its audit estimate,
        :func:`accuracy_estimate`, or None).
    """
    labels = store.labels()
    audit_rows = [r for r in store.batch_items() if r["random"]]
    hits = {}
    for row in store.batch_items():
        if row["prediction"] is not None and row["item"] in labels and \
                not row["random"]:
            ok, total = hits.get(row["cycle"], (0, 0))
            hits[row["cycle"]] = (ok + (row["prediction"] ==
                                        labels[row["item"]]), total + 1)
    curve = []
    for c in store.cycles():
        if "stop_predictions" not in c["metrics"]:
            continue
        ok, total = hits.get(c["cycle"], (0, 0))
        curve.append({"cycle": c["cycle"], "n_labeled": c["n_labeled"],
                      "n_checked": total,
                      "batch_accuracy": ok / total if total else None,
                      "agreement": c["metrics"].get("agreement"),
                      "accuracy": _audit_accuracy(c, labels, audit_rows)})
    return curve


def stopping_signal(store, threshold=0.99, window=3,
                    min_audit=MIN_AUDIT_LABELS):
    """The stopping signal of the cycles so far.

    Stable predictions say that more labels no longer change the model;
    the audit estimate says how good it is. The signal says stop only
    when the last ``window`` agreements reach ``threshold`` *and* the
    latest model's accuracy is known from at least ``min_audit`` audit
    labels (when audit images are drawn at all), so that you stop
    knowing what you stop at.

    Parameters
    ----------
    store : LabelStore
    threshold : float, default=0.99
    window : int, default=3
    min_audit : int, default=MIN_AUDIT_LABELS
        0 does not wait for the estimate.

    Returns
    -------
    signal : dict
        ``agreements`` (one per model, None for the first),
        ``threshold``, ``window``, ``stop_set_size``, ``stopped_at`` (the
        first model index where the criterion fired, or None),
        ``stable`` (whether the last ``window`` agreements pass),
        ``accuracy`` (:func:`accuracy_estimate`), ``min_audit`` and
        ``should_stop`` (stable, and the estimate rests on at least
        ``min_audit`` labels, or no audit image was ever drawn).
    """
    agreements = [c["metrics"].get("agreement") for c in store.cycles()
                  if "stop_predictions" in c["metrics"]]
    recent = agreements[-window:]
    stable = len(recent) == window and stopping_point(
        recent, threshold, window) is not None
    estimate = accuracy_estimate(store)
    known = estimate["n_audit"] == 0 or (
        estimate["accuracy"] is not None and
        estimate["accuracy"]["n"] >= min_audit)
    return {"agreements": agreements, "threshold": threshold,
            "window": window, "stop_set_size": len(store.stop_set()),
            "stopped_at": stopping_point(agreements, threshold, window),
            "stable": stable, "accuracy": estimate, "min_audit": min_audit,
            "should_stop": stable and known}


def status(project):
    """What the page's side panel shows, JSON-ready.

    Parameters
    ----------
    project : LabelingProject

    Returns
    -------
    status : dict
        Counts (per class, labeled, skipped, open, queued, never shown),
        unreadable files, the representation
        (:attr:`~aalu_sk.labeling.LabelingProject.representation_info`),
        the worker's progress, the learning curve and the stopping signal
        (which holds the accuracy estimate, also under ``accuracy``).
    """
    states = project.store.states()
    classes = project.classes
    counts = {c: 0 for c in classes}
    n_skipped = 0
    for item, (action, value) in states.items():
        if item in project._position:
            if action == "label" and value in counts:
                counts[value] += 1
            n_skipped += action == "skip"
    cycles = project.store.cycles()
    stopping = project.stopping()
    return {"cycle": cycles[-1]["cycle"] if cycles else None,
            "classes": classes, "class_counts": counts,
            "n_items": len(project.items),
            "n_labeled": sum(counts.values()), "n_skipped": n_skipped,
            "n_open": len(project._open(states)),
            "n_queued": len(project._open(states)) - len(
                project.current_batch()),
            "n_pool": int(project._pool(states).size),
            "unreadable": [{"path": p, "error": e}
                           for p, e in project.unreadable[:100]],
            "n_unreadable": len(project.unreadable),
            "n_duplicates": len(project.duplicates),
            "strategy": project.strategy, "batch_size": project.batch_size,
            "representation": dict(project.representation_info),
            "last_message": cycles[-1]["message"] if cycles else None,
            "progress": dict(project.progress),
            "random_share": project.random_share,
            "curve": project.learning_curve(), "stopping": stopping,
            "accuracy": stopping["accuracy"]}
