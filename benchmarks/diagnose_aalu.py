"""Why the paper's AALU can lose to random with few labels: a diagnosis.

Runs the small-budget protocol of the label-efficiency benchmark
(``digits-small``: 60 labels, +60 per cycle up to 360, a two-layer MLP
retrained each cycle, the runner's seeds) for the paper's AALU, the
default AALU, entropy and random, and records inside every query what the
paper's recipe relies on:

- the loss signal: the labeled samples' final losses (what Eq. 8 ranks in
  the paper) and the losses recorded over the training epochs;
- the scores: their Spearman correlation with the predictive entropy;
- the batch: how many classes it covers, the share of its largest class,
  how many of its samples the model misclassifies;
- the model: test accuracy before and after the batch (a drop is a
  collapse).

Writes ``benchmarks/results/aalu_diagnosis.md``.

Usage::

    python benchmarks/diagnose_aalu.py            # ~30 min on 2 cores
    python benchmarks/diagnose_aalu.py --quick    # smoke run
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from _provenance import provenance

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+",
                        default=[0, 1, 2, 3, 4])
    parser.add_argument("--quick", action="store_true",
                        help="1 seed, 2 cycles, 2 task epochs")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" /
                        "aalu_diagnosis.md")
    return parser.parse_args(argv)


def run(name, seed, dataset, sizes, epochs):
    """One active-learning run with the runner's seeds; per-query records."""
    from aalu_sk import ImageClassifier
    from aalu_sk.experiment.checkpoint import derive_seed
    from aalu_sk.features import task_outputs
    from aalu_sk.strategies import make_strategy
    from aalu_sk.strategies.selection import entropy

    X, y = dataset.X_train, dataset.y_train
    labeled = np.random.RandomState(derive_seed(seed, "initial")) \
        .permutation(len(y))[:sizes[0]]
    records, accuracy = [], []
    for cycle, size in enumerate(sizes):
        strategy = make_strategy(name, derive_seed(seed, "query", cycle),
                                 device="cpu", selector_epochs=100)
        net = ImageClassifier(
            "mlp", num_classes=10, max_epochs=epochs, batch_size=32,
            device="cpu", random_state=derive_seed(seed, "model", cycle),
            record_losses=True).fit(X[labeled], y[labeled])
        accuracy.append(float(np.mean(net.predict(dataset.X_test)
                                      == dataset.y_test)))
        if cycle + 1 == len(sizes):
            break
        pool = np.setdiff1d(np.arange(len(y)), labeled)
        n = sizes[cycle + 1] - size
        picked = strategy.query(X[labeled], y[labeled], X[pool], net, n)
        out = task_outputs(net, X[pool])
        final = net.per_sample_loss(X[labeled], y[labeled])
        chosen = pool[picked]
        counts = np.bincount(y[chosen], minlength=10)
        records.append({
            "final_loss_mean": float(final.mean()),
            "final_loss_max": float(final.max()),
            "recorded_loss_mean": float(net.training_losses_.mean()),
            "recorded_loss_max": float(net.training_losses_.max()),
            "rho_entropy": float(spearmanr(strategy.scores_,
                                           entropy(out.proba)).correlation),
            "classes": int(np.sum(counts > 0)),
            "max_share": float(counts.max() / n),
            "misclassified": float(np.mean(out.proba[picked].argmax(1)
                                           != y[chosen])),
        })
        labeled = np.concatenate([labeled, chosen])
    for cycle, record in enumerate(records):
        record["accuracy_change"] = accuracy[cycle + 1] - accuracy[cycle]
    area = np.trapezoid(accuracy, sizes) / (sizes[-1] - sizes[0])
    return records, accuracy, area


def main(argv=None):
    args = parse_args(argv)
    from aalu_sk.experiment import load_dataset

    dataset = load_dataset("digits")
    sizes, epochs, seeds = list(range(60, 361, 60)), 100, args.seeds
    if args.quick:
        sizes, epochs, seeds = [60, 120], 2, seeds[:1]
    names = ("aalu_paper", "aalu", "entropy", "random")
    start = time.perf_counter()
    results = {name: [run(name, s, dataset, sizes, epochs) for s in seeds]
               for name in names}
    wall = time.perf_counter() - start

    def mean(name, key):
        return np.mean([r[key] for recs, _, _ in results[name] for r in recs])

    lines = [
        "# Diagnosis: the paper's AALU with few labels", "", provenance(), "",
        f"Protocol `digits-small` of the label-efficiency benchmark (60 "
        f"labels, +60 per cycle up to 360, `mlp` task model, {epochs} "
        f"epochs), seeds {seeds}, the runner's seeds. Every number is a "
        f"mean over the {len(sizes) - 1} queries of every seed. Wall time "
        f"{wall:.0f} s.", "",
        "| strategy | AULC (%) | worst seed vs random | labeled final loss "
        "(mean / max) | recorded loss (mean / max) | Spearman with entropy "
        "| classes in a batch | largest class share | misclassified picks "
        "| accuracy drops > 2 points |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    random_area = [a for _, _, a in results["random"]]
    for name in names:
        areas = [a for _, _, a in results[name]]
        drops = sum(r["accuracy_change"] < -0.02
                    for recs, _, _ in results[name] for r in recs)
        lines.append(
            f"| {name} | {100 * np.mean(areas):.2f} | "
            f"{100 * np.min(np.subtract(areas, random_area)):+.2f} | "
            f"{mean(name, 'final_loss_mean'):.4f} / "
            f"{mean(name, 'final_loss_max'):.4f} | "
            f"{mean(name, 'recorded_loss_mean'):.3f} / "
            f"{mean(name, 'recorded_loss_max'):.3f} | "
            f"{mean(name, 'rho_entropy'):.2f} | "
            f"{mean(name, 'classes'):.1f} / 10 | "
            f"{mean(name, 'max_share'):.0%} | "
            f"{mean(name, 'misclassified'):.0%} | {drops} |")
    lines += ["", "Per seed, AULC (%):", "",
              "| strategy | " + " | ".join(f"seed {s}" for s in seeds) + " |",
              "|---|" + "---:|" * len(seeds)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(
            f"{100 * a:.2f}" for _, _, a in results[name]) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
