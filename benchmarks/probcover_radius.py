"""ProbCover's radius: what the purity heuristic picks, and what it costs.

ProbCover (``ProbCoverSampler``) covers the pool with balls of radius
``delta``; by default ``delta`` is the paper's purity heuristic (the
largest radius at which 95% of the balls are pure under k-means
pseudo-labels). This script shows, for the views the label-efficiency
benchmark uses (PixelPCA of the digits; the self-supervised embeddings of
the digits and of MNIST-5k), the heuristic's radius next to a grid of
radii: the balls' purity, and after ProbCover's picks from zero labels,
the fraction of the pool covered (``ProbCoverSampler.coverage_``) and the
test accuracy of a logistic regression on the embedding of the picked
images, mean over seeds.

The self-supervised embeddings are fitted as the label-efficiency
benchmark fits them (``aalu_sk.experiment.runner.fit_representation``),
loaded from its run folder when it is there.

Writes ``benchmarks/results/probcover_radius.md``.

Usage::

    python benchmarks/probcover_radius.py           # ~5 min with the SSL files
    python benchmarks/probcover_radius.py --quick   # smoke run: digits pixels
"""

import argparse
import warnings
from pathlib import Path

import numpy as np

from _provenance import provenance

ROOT = Path(__file__).resolve().parents[1]
VIEWS = (("digits", "pixels"), ("digits", "ssl"), ("mnist5k", "ssl"))
BUDGETS = (20, 50, 100, 200)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--run-dir", type=Path,
                        default=ROOT / "runs" / "bench" / "le2",
                        help="where the label-efficiency benchmark keeps "
                             "its SSL files (<protocol>/ssl-*.pt)")
    parser.add_argument("--quick", action="store_true",
                        help="digits pixels only, 1 seed, 3 radii")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" /
                        "probcover_radius.md")
    return parser.parse_args(argv)


def embedding(dataset_name, representation, run_dir):
    """L2-normalised train and test embeddings of one benchmark view."""
    from aalu_sk.experiment import ExperimentConfig, load_dataset
    from aalu_sk.experiment.runner import fit_representation
    from aalu_sk.strategies.coverage import l2_normalize

    dataset = load_dataset(dataset_name)
    config = ExperimentConfig(dataset=dataset_name,
                              representation=representation)
    rep = fit_representation(config, dataset,
                             run_dir / f"{dataset_name}-vlow+ssl")

    def emb(X):
        Z = np.asarray(rep.transform(X), dtype=np.float64)
        return l2_normalize(Z.reshape(len(X), -1))

    return dataset, emb(dataset.X_train), emb(dataset.X_test)


def measure(dataset, E, E_test, deltas, seeds):
    """Rows of (delta, purity, {budget: (coverage, accuracy)})."""
    from sklearn.linear_model import LogisticRegression

    from aalu_sk.strategies.coverage import (ball_purity, covered_fraction,
                                             kmeans_labels, probcover)

    pseudo = kmeans_labels(E, dataset.n_classes, random_state=0)
    rows = []
    for delta in deltas:
        cells = {}
        for b in BUDGETS:
            cov, acc = [], []
            for seed in seeds:
                picked, _ = probcover(E, [], b, delta, random_state=seed)
                cov.append(covered_fraction(E, picked, delta))
                y = dataset.y_train[picked]
                if np.unique(y).size < 2:
                    acc.append(np.mean(dataset.y_test == y[0]))
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clf = LogisticRegression(max_iter=500, C=10).fit(
                        E[picked], y)
                acc.append(clf.score(E_test, dataset.y_test))
            cells[b] = (np.mean(cov), np.mean(acc))
        rows.append((delta, ball_purity(E, pseudo, delta), cells))
    return rows


def _cell(cell, best):
    cov, acc = cell
    text = f"{cov:.2f} / {100 * acc:.1f}"
    return f"*{text}*" if acc == best else text


def main(argv=None):
    args = parse_args(argv)
    from aalu_sk.strategies.coverage import purity_delta

    views = VIEWS[:1] if args.quick else VIEWS
    seeds = args.seeds[:1] if args.quick else args.seeds
    lines = ["# ProbCover's radius", "", provenance(), "",
             __doc__.split("\n\n")[1].replace("\n", " "), "",
             "Columns per budget (labels picked from zero): coverage of the "
             "pool / test accuracy (%) of a logistic regression (C=10) on "
             f"the picked images' embedding; mean over seeds {seeds}. "
             "**Bold** row: the purity heuristic's radius (alpha 0.95).", ""]
    for name, rep in views:
        dataset, E, E_test = embedding(name, rep, args.run_dir)
        heuristic = purity_delta(E, dataset.n_classes, random_state=0)
        grid = [0.2, 0.6, 1.0] if args.quick else \
            [round(d, 1) for d in np.arange(0.1, 1.01, 0.1)]
        deltas = sorted(set(grid) | {heuristic})
        rows = measure(dataset, E, E_test, deltas, seeds)
        lines += [f"## {name}, `{rep}` view ({E.shape[0]} images, "
                  f"{E.shape[1]}-d)", "",
                  f"Heuristic radius: {heuristic:.3f}.", "",
                  "| delta | purity | " + " | ".join(
                      f"{b} labels" for b in BUDGETS) + " |",
                  "|---:|---:|" + "---:|" * len(BUDGETS)]
        best = {b: max(r[2][b][1] for r in rows) for b in BUDGETS}
        for delta, purity, cells in rows:
            mark = "**" if delta == heuristic else ""

            lines.append(f"| {mark}{delta:.3f}{mark} | {purity:.2f} | "
                         + " | ".join(_cell(cells[b], best[b])
                                      for b in BUDGETS) + " |")
        lines += ["", "*Italic*: the best accuracy at that budget.", ""]
        print(f"{name} {rep}: heuristic delta {heuristic:.3f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
