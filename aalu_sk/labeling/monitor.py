"""What the page shows about the loop: learning curve and stopping signal.

Both are read from the store alone (cycles, batches, labels), so they
are the same after a restart.
"""

from ..stopping import stopping_point

__all__ = ["learning_curve", "stopping_signal", "status"]


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
        model, or None).
    """
    labels = store.labels()
    hits = {}
    for row in store.batch_items():
        if row["prediction"] is not None and row["item"] in labels:
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
                      "agreement": c["metrics"].get("agreement")})
    return curve


def stopping_signal(store, threshold=0.99, window=3):
    """The stopping signal of the cycles so far.

    Parameters
    ----------
    store : LabelStore
    threshold : float, default=0.99
    window : int, default=3

    Returns
    -------
    signal : dict
        ``agreements`` (one per model, None for the first),
        ``threshold``, ``window``, ``stop_set_size``, ``stopped_at`` (the
        first model index where the criterion fired, or None) and
        ``should_stop`` (whether the last ``window`` agreements pass).
    """
    agreements = [c["metrics"].get("agreement") for c in store.cycles()
                  if "stop_predictions" in c["metrics"]]
    recent = agreements[-window:]
    return {"agreements": agreements, "threshold": threshold,
            "window": window, "stop_set_size": len(store.stop_set()),
            "stopped_at": stopping_point(agreements, threshold, window),
            "should_stop": len(recent) == window and stopping_point(
                recent, threshold, window) is not None}


def status(project):
    """What the page's side panel shows, JSON-ready.

    Parameters
    ----------
    project : LabelingProject

    Returns
    -------
    status : dict
        Counts (per class, labeled, skipped, open, queued, never shown),
        unreadable files, the worker's progress, the learning curve and
        the stopping signal.
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
            "last_message": cycles[-1]["message"] if cycles else None,
            "progress": dict(project.progress),
            "curve": project.learning_curve(), "stopping": project.stopping()}
