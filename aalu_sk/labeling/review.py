"""Label review: rank the labels most likely to be wrong.

:func:`possibly_mislabeled` fits a small, label-free pipeline
(standardised 8 x 8 grey thumbnails, :func:`.coverage.coarse_features`,
then logistic regression) with :func:`sklearn.model_selection.
cross_val_predict`, so every labeled image gets class probabilities from
a model that did not see its label (out of fold), and ranks the labels
with cleanlab's label-quality score (the self-confidence: the
out-of-fold probability of the given label); :func:`cleanlab.filter.
find_label_issues` flags the ones its confident learning counts as
issues. It takes well under a second for a few thousand labels.

A person re-checks the top of the list (on the page, or through ``GET
/api/review``) and relabels through the usual route; the store keeps
every event, so a change is never lost.

References
----------
C. G. Northcutt, L. Jiang and I. L. Chuang, "Confident learning:
estimating uncertainty in dataset labels", JAIR 70, 2021.
"""

import time

import numpy as np

__all__ = ["possibly_mislabeled"]


def possibly_mislabeled(features, labels, classes, n_folds=5,
                        random_state=0):
    """Labels ranked from the most to the least suspicious.

    Parameters
    ----------
    features : ndarray of shape (n_labeled, n_features)
    labels : sequence of str
        The given class name of each row.
    classes : sequence of str
        Every class name (those with fewer than 2 labels are left out:
        out-of-fold probabilities need one label to train on and one to
        test).
    n_folds : int, default=5
    random_state : int, default=0

    Returns
    -------
    review : dict
        ``rows`` (positions into ``labels``, most suspicious first),
        ``quality`` (cleanlab's score of each, in [0, 1], low is
        suspicious), ``suggested`` (the class the out-of-fold model
        prefers), ``issue`` (bool: flagged by confident learning),
        ``n_reviewed``, ``left_out`` (labels of too small classes) and
        ``seconds``.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.labeling.review import possibly_mislabeled
    >>> rng = np.random.default_rng(0)
    >>> y = np.array(["a", "b"] * 20)
    >>> X = rng.normal(size=(40, 2)) + 5 * (y == "b")[:, None]
    >>> y[2] = "b"                     # a wrong label
    >>> out = possibly_mislabeled(X, y, ["a", "b"])
    >>> int(out["rows"][0]), bool(out["issue"][0])
    (2, True)
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    start = time.perf_counter()
    labels = np.asarray(labels, dtype=object)
    counts = {c: int(np.sum(labels == c)) for c in classes}
    kept = [c for c in classes if counts[c] >= 2]
    rows = np.flatnonzero(np.isin(labels, kept))
    empty = {"rows": [], "quality": [], "suggested": [], "issue": [],
             "n_reviewed": 0, "left_out": int(len(labels) - rows.size)}
    if len(kept) < 2:                    # nothing to tell apart
        return dict(empty, left_out=len(labels),
                    seconds=time.perf_counter() - start)
    y = np.asarray([kept.index(v) for v in labels[rows]])
    folds = min(n_folds, min(counts[c] for c in kept))
    cv = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    probs = cross_val_predict(LogisticRegression(max_iter=500),
                              np.asarray(features)[rows], y, cv=cv,
                              method="predict_proba")
    quality = get_label_quality_scores(y, probs)
    issue = find_label_issues(y, probs, n_jobs=1)  # no fork in a server
    order = np.argsort(quality, kind="stable")
    names = np.asarray(kept, dtype=object)
    return {"rows": rows[order].tolist(),
            "quality": quality[order].astype(float).tolist(),
            "suggested": names[probs.argmax(axis=1)[order]].tolist(),
            "issue": issue[order].astype(bool).tolist(),
            "n_reviewed": int(rows.size), "left_out": empty["left_out"],
            "seconds": time.perf_counter() - start}


def review(project, limit=50):
    """The ``limit`` most suspicious labels of ``project``, JSON-ready.

    Parameters
    ----------
    project : LabelingProject
    limit : int, default=50

    Returns
    -------
    review : dict
        ``items``: ``id``, ``path``, ``label``, ``suggested``, ``quality``,
        ``issue`` for each, most suspicious first; ``n_labeled``,
        ``n_reviewed``, ``n_issues``, ``left_out``, ``seconds`` and
        ``method``.
    """
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) \
            or limit < 1:
        raise ValueError(f"limit={limit!r}: must be a positive integer.")
    labels = {i: v for i, v in project.store.labels().items()
              if i in project._position}
    items = sorted(labels, key=project._position.get)
    positions = [project._position[i] for i in items]
    out = possibly_mislabeled(project.coarse_features_()[positions],
                              [labels[i] for i in items], project.classes,
                              random_state=project.random_state)
    shown = [{"id": items[r], "path": project.paths[positions[r]],
              "label": labels[items[r]], "suggested": s, "quality": q,
              "issue": f}
             for r, q, s, f in zip(out["rows"], out["quality"],
                                   out["suggested"], out["issue"])]
    return {"items": shown[:limit], "n_labeled": len(items),
            "n_reviewed": out["n_reviewed"], "n_issues": sum(out["issue"]),
            "left_out": out["left_out"], "seconds": out["seconds"],
            "method": "out-of-fold logistic regression on 8x8 thumbnails, "
                      "ranked by cleanlab's self-confidence"}
