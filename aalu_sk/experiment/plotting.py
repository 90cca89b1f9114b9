"""Reporting: summary tables, learning curves and the files that hold them.

Everything here reads result rows, the dicts of
:func:`aalu_sk.experiment.run_experiment` (or a pandas DataFrame of them),
with the keys ``strategy, seed, cycle, n_labeled, fraction, accuracy,
train_seconds, query_seconds, n_selected``. Figures are drawn on
matplotlib's Agg canvas without pyplot, so no global backend or figure
state is touched, and every file is replaced with
:func:`aalu_sk.experiment.checkpoint.atomic_write`.
"""

import csv
import json
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .checkpoint import CHECKPOINT, atomic_write

__all__ = ["summary_tables", "plot_learning_curves", "plot_query_time",
           "learning_curve_auc", "aggregate", "atomic_write", "load_results",
           "write_report"]


def _records(results):
    if hasattr(results, "to_dict"):  # a pandas DataFrame
        results = results.to_dict("records")
    return [dict(r) for r in results]


def _strategies(records):
    return list(dict.fromkeys(r["strategy"] for r in records))


def _std(values):
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1)) if values.size > 1 else 0.0


def learning_curve_auc(fractions, accuracies):
    """Area under a learning curve, divided by its fraction range.

    The trapezoid rule over the labeled fraction, normalised so the result
    is a mean accuracy (a single point gives its own accuracy).

    Parameters
    ----------
    fractions : array-like of shape (n_cycles,)
    accuracies : array-like of shape (n_cycles,)

    Returns
    -------
    auc : float

    Examples
    --------
    >>> from aalu_sk.experiment.plotting import learning_curve_auc
    >>> learning_curve_auc([0.1, 0.2, 0.4], [0.5, 0.7, 0.8])
    0.7
    """
    order = np.argsort(fractions)
    x = np.asarray(fractions, dtype=float)[order]
    acc = np.asarray(accuracies, dtype=float)[order]
    if x.size == 1 or x[-1] == x[0]:
        return float(acc.mean())
    area = np.sum((x[1:] - x[:-1]) * (acc[1:] + acc[:-1]) / 2)
    return float(round(area / (x[-1] - x[0]), 12))


def aggregate(results):
    """Per strategy: accuracy by fraction, AUC and query time over seeds.

    Parameters
    ----------
    results : list of dict or pandas.DataFrame

    Returns
    -------
    summary : dict
        ``strategy -> {"fraction", "mean", "std", "n_seeds", "auc",
        "query_per_100", "train_seconds"}``: arrays over fractions for
        accuracy, and per-seed arrays for AUC and query seconds per 100
        selected samples; mean training seconds per cycle.
    """
    records = _records(results)
    summary = {}
    for name in _strategies(records):
        rows = [r for r in records if r["strategy"] == name]
        fractions = sorted({round(float(r["fraction"]), 10) for r in rows})
        accs = [[r["accuracy"] for r in rows
                 if round(float(r["fraction"]), 10) == f] for f in fractions]
        seeds = sorted({r["seed"] for r in rows})
        auc, per_100 = [], []
        for seed in seeds:
            mine = [r for r in rows if r["seed"] == seed]
            auc.append(learning_curve_auc([r["fraction"] for r in mine],
                                          [r["accuracy"] for r in mine]))
            n = sum(r["n_selected"] for r in mine)
            if n:
                per_100.append(100 * sum(r["query_seconds"] for r in mine) / n)
        summary[name] = {
            "fraction": np.array(fractions),
            "mean": np.array([np.mean(a) for a in accs]),
            "std": np.array([_std(a) for a in accs]),
            "n_seeds": len(seeds), "auc": np.array(auc),
            "query_per_100": np.array(per_100),
            "train_seconds": float(np.mean([r["train_seconds"] for r in rows])),
        }
    return summary


def _pm(values, scale=1.0, digits=2):
    values = np.asarray(values, dtype=float) * scale
    if values.size == 0:
        return "n/a"
    return f"{values.mean():.{digits}f} ± {_std(values):.{digits}f}"


def summary_tables(results, full_accuracy=None, title=None):
    """Markdown tables in the layout of the paper's Tables 1 and 2.

    Parameters
    ----------
    results : list of dict or pandas.DataFrame
    full_accuracy : float or None, default=None
        Accuracy of the task model trained on the whole training set.
    title : str or None, default=None
        A line under the heading (e.g. the dataset and model).

    Returns
    -------
    markdown : str
        Accuracy (%) mean ± std over seeds per strategy (rows) and labeled
        fraction (columns) with the learning curve's AUC; then query
        seconds per 100 selected samples and task-model training time.
    """
    summary = aggregate(results)
    lines = ["# Active-learning results", ""]
    if title:
        lines += [title, ""]
    if not summary:
        return "\n".join(lines + ["No results yet.", ""])
    fractions = sorted({f for s in summary.values() for f in s["fraction"]})
    seeds = max(s["n_seeds"] for s in summary.values())
    lines += ["## Accuracy (%) by labeled fraction", "",
              f"Mean ± std over {seeds} seed(s). AUC: area under the "
              f"learning curve (trapezoids over the fraction) divided by the "
              f"fraction range, i.e. a mean accuracy (%).", "",
              "| strategy | " + " | ".join(f"{100 * f:g} %" for f in fractions)
              + " | AUC |",
              "|---|" + "---:|" * (len(fractions) + 1)]
    for name, s in summary.items():
        cells = []
        for f in fractions:
            hit = np.flatnonzero(np.isclose(s["fraction"], f))
            cells.append(f"{100 * s['mean'][hit[0]]:.2f} ± "
                         f"{100 * s['std'][hit[0]]:.2f}" if hit.size else "")
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {_pm(s['auc'], 100)} |")
    if full_accuracy is not None:
        lines += ["", f"Full training set: {100 * full_accuracy:.2f} %."]
    lines += ["", "## Query time", "",
              "Seconds per 100 selected samples (selector training plus "
              "selection, mean ± std over seeds) and mean task-model "
              "training seconds per cycle.", "",
              "| strategy | query s / 100 samples | task training s / cycle |",
              "|---|---:|---:|"]
    for name, s in summary.items():
        lines.append(f"| {name} | {_pm(s['query_per_100'], digits=3)} | "
                     f"{s['train_seconds']:.2f} |")
    return "\n".join(lines + [""])


def _figure(size=(7.0, 4.5)):
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def plot_learning_curves(results, path=None, full_accuracy=None, title=None):
    """Accuracy against % labeled: mean and a ±std band per strategy.

    Parameters
    ----------
    results : list of dict or pandas.DataFrame
    path : str, path-like or None, default=None
        Where to save the PNG; None only returns the figure.
    full_accuracy : float or None, default=None
        Drawn as a dashed horizontal reference line.
    title : str or None, default=None

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    figure = _figure()
    ax = figure.add_subplot()
    for name, s in aggregate(results).items():
        x, mean, std = 100 * s["fraction"], 100 * s["mean"], 100 * s["std"]
        (line,) = ax.plot(x, mean, marker="o", label=name)
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(),
                        alpha=0.2, linewidth=0)
    if full_accuracy is not None:
        ax.axhline(100 * full_accuracy, color="black", linestyle="--",
                   label=f"full data ({100 * full_accuracy:.2f} %)")
    ax.set_xlabel("labeled samples (% of the training set)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title or "Learning curves (mean ± std over seeds)",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def plot_query_time(results, path=None, title=None):
    """Bar chart of query seconds per 100 selected samples, ±std over seeds.

    Parameters
    ----------
    results : list of dict or pandas.DataFrame
    path : str, path-like or None, default=None
        Where to save the PNG; None only returns the figure.
    title : str or None, default=None

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    summary = aggregate(results)
    names = list(summary)
    means = [s["query_per_100"].mean() if s["query_per_100"].size else 0.0
             for s in summary.values()]
    stds = [_std(s["query_per_100"]) for s in summary.values()]
    figure = _figure((max(4.0, 1.1 * len(names) + 2), 4.0))
    ax = figure.add_subplot()
    bars = ax.bar(names, means, yerr=stds, capsize=4, color="tab:blue")
    ax.bar_label(bars, labels=[f"{m:.2f}" for m in means], fontsize=8)
    ax.set_ylabel("seconds per 100 selected samples")
    ax.set_title(title or "Query time (selector training + selection)",
                 fontsize=10)
    ax.tick_params(axis="x", labelrotation=30)
    ax.grid(axis="y", alpha=0.3)
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


#: Column types of a results table; other columns are floats, empty
#: cells None. ``protocol`` is the benchmarks' column for tables that
#: gather several experiments.
_TYPES = {"strategy": str, "protocol": str, "seed": int, "cycle": int,
          "n_labeled": int, "n_selected": int}


def load_results(out_dir):
    """Read an experiment's results table as a list of dicts.

    Parameters
    ----------
    out_dir : str or path-like
        An experiment folder (its ``results.csv`` is read) or a CSV file
        with the same columns (a benchmark's table, which may add a
        ``protocol`` column).

    Returns
    -------
    rows : list of dict
        One per row, the numbers typed (ints for seeds, cycles and counts,
        floats otherwise, None for empty cells).
    """
    path = Path(out_dir)
    if not path.is_file():
        path = path / "results.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; is {out_dir} the "
                                f"output directory of `aalu-sk run`?")
    with open(path, newline="") as file:
        return [{k: _TYPES.get(k, float)(v) if v != "" else None
                 for k, v in row.items()}
                for row in csv.DictReader(file)]


def write_report(out_dir, results=None):
    """Render ``summary.md``, ``learning_curves.png`` and ``query_time.png``.

    Parameters
    ----------
    out_dir : str or path-like
        An experiment folder; its ``config.json`` (for the title) and
        ``checkpoint.json`` (for the full-data accuracy) are read when
        present.
    results : list of dict or None, default=None
        Rows to render; None reads ``results.csv``.

    Returns
    -------
    paths : dict of pathlib.Path
        Keys ``"summary"``, ``"learning_curves"``, ``"query_time"``.
    """
    out = Path(out_dir)
    results = load_results(out) if results is None else _records(results)
    full = title = None
    if (out / CHECKPOINT).exists():
        saved = json.loads((out / CHECKPOINT).read_text())
        full = (saved.get("full_data") or {}).get("accuracy")
    if (out / "config.json").exists():
        cfg = json.loads((out / "config.json").read_text())
        title = (f"Dataset {cfg.get('dataset')}, task model {cfg.get('model')} "
                 f"({cfg.get('epochs')} epochs), selector epochs "
                 f"{cfg.get('selector_epochs')}")
    paths = {"summary": out / "summary.md",
             "learning_curves": out / "learning_curves.png",
             "query_time": out / "query_time.png"}
    atomic_write(paths["summary"],
                 summary_tables(results, full_accuracy=full, title=title))
    figures = {"learning_curves": plot_learning_curves(
                   results, full_accuracy=full, title=title),
               "query_time": plot_query_time(results, title=title)}
    for key, figure in figures.items():
        atomic_write(paths[key], lambda file, fig=figure: fig.savefig(
            file, format="png", dpi=120))
    return paths
