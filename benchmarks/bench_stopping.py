"""Stopping without a test set: labels saved and accuracy given up.

Runs active learning on digits and mnist5k through
:func:`aalu_sk.experiment.run_experiment` with ``stop_set`` on, so every
cycle records the agreement (Cohen's kappa) of its model with the previous
cycle's model on a fixed random stop set of the training images. Then, for
a few settings of the criterion (:func:`aalu_sk.stopping.stopping_point`:
the last ``window`` agreements at or above ``threshold``), it reports where
labeling would have stopped against the end of the schedule:

- labels used at the stop and the share of the budget saved,
- test accuracy at the stop, at the end, and the difference.

The test set is used only to report these accuracies; the criterion never
sees it. Writes ``benchmarks/results/stopping.md`` and ``stopping.csv``;
the runs live in ``runs/bench/stopping_<dataset>`` and resume after a stop.

Usage::

    python benchmarks/bench_stopping.py            # ~20 min on 2 cores
    python benchmarks/bench_stopping.py --quick    # smoke run, ~1 min
"""

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from _provenance import provenance
from aalu_sk.experiment import ExperimentConfig, run_experiment
from aalu_sk.experiment.plotting import load_results
from aalu_sk.stopping import stopping_point

ROOT = Path(__file__).resolve().parents[1]
#: (threshold, window) settings reported; the first is the app's default.
SETTINGS = ((0.99, 3), (0.98, 3), (0.95, 3), (0.95, 2))
#: Per dataset: strategies, schedule, epochs and stop-set size. On
#: mnist5k AALU's query costs most of the time on a CPU, so entropy stands
#: in for an uncertainty strategy there (the criterion reads only the
#: models' predictions, whichever strategy chose the labels).
PLANS = {
    "digits": dict(strategies=("aalu", "random"), initial=0.04, step=0.04,
                   final=0.60, epochs=20, stop_set=500),
    "mnist5k": dict(strategies=("entropy", "random"), initial=0.02,
                    step=0.03, final=0.32, epochs=20, stop_set=1000),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="digits,mnist5k")
    parser.add_argument("--strategies", default=None,
                        help="comma-separated; default: each dataset's in "
                             "PLANS")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--selector-epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true",
                        help="digits only, one seed, 3 epochs; writes under "
                             "runs/bench-quick")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def stops(rows, threshold, window):
    """Per (strategy, seed): the stop row and the last row."""
    runs = {}
    for row in rows:
        runs.setdefault((row["strategy"], row["seed"]), []).append(row)
    out = {}
    for key, run in runs.items():
        run.sort(key=lambda r: r["cycle"])
        k = stopping_point([r["stop_agreement"] for r in run], threshold,
                           window)
        out[key] = (None if k is None else run[k], run[-1])
    return out


def summarise(dataset, rows):
    """Table rows; a run whose criterion never fires labels the whole
    schedule (its stop is the last cycle), as a user following the rule
    with that budget would."""
    lines = []
    for threshold, window in SETTINGS:
        by_strategy = {}
        for (name, _), (stop, last) in stops(rows, threshold,
                                             window).items():
            by_strategy.setdefault(name, []).append((stop, last))
        for name, pairs in sorted(by_strategy.items()):
            fired = sum(s is not None for s, _ in pairs)
            at_stop = [s or e for s, e in pairs]
            budget = pairs[0][1]["n_labeled"]
            used = np.mean([s["n_labeled"] for s in at_stop])
            acc = np.mean([s["accuracy"] for s in at_stop])
            end = np.mean([e["accuracy"] for _, e in pairs])
            lines.append(
                f"| {dataset} | {name} | {threshold} / {window} | "
                f"{fired}/{len(pairs)} | {used:.0f} of {budget} | "
                f"{100 * (1 - used / budget):.0f}% | {100 * acc:.1f} | "
                f"{100 * end:.1f} | {100 * (end - acc):+.1f} |")
    return lines


def main(argv=None):
    args = parse_args(argv)
    datasets = ["digits"] if args.quick else args.datasets.split(",")
    seeds = [0] if args.quick else args.seeds
    base = ROOT / ("runs/bench-quick" if args.quick else "runs/bench")
    results = base if args.quick else ROOT / "benchmarks" / "results"
    table = ["| dataset | strategy | kappa / window | runs stopped | "
             "labels at stop | budget saved | acc. at stop (%) | "
             "acc. at end (%) | given up (points) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    protocol, all_rows, start = [], [], time.perf_counter()
    for name in datasets:
        plan = dict(PLANS[name])
        if args.quick:
            plan.update(epochs=3, final=0.24)
        if args.strategies:
            plan["strategies"] = tuple(args.strategies.split(","))
        config = ExperimentConfig(
            dataset=name, seeds=tuple(seeds), model="small_cnn", batch_size=64,
            selector_epochs=args.selector_epochs, vaal_channels=(32, 64),
            device="cpu", **plan)
        out = base / f"stopping_{name}"
        run_experiment(config, out, progress=not args.quiet)
        rows = load_results(out)
        table += summarise(name, rows)
        compute = sum(r["train_seconds"] + r["query_seconds"] for r in rows)
        protocol.append(
            f"- {name} ({compute / 60:.0f} min of training and querying, "
            f"summed over the runs): {plan['initial']:.0%} -> "
            f"{plan['final']:.0%} of the "
            f"training images in steps of {plan['step']:.0%}, small_cnn "
            f"({plan['epochs']} epochs, retrained each cycle), stop set of "
            f"{plan['stop_set']} training images, seeds {seeds}, "
            f"strategies {', '.join(plan['strategies'])}.")
        all_rows += [dict(r, dataset=name) for r in rows]
    elapsed = time.perf_counter() - start
    table += ["", "Mean agreement (kappa) of consecutive models at the last "
              "three cycles of the schedule:", "",
              "| dataset | strategy | kappa |", "|---|---|---|"]
    last = {}
    for row in all_rows:
        last.setdefault((row["dataset"], row["strategy"]), {}).setdefault(
            row["cycle"], []).append(row["stop_agreement"])
    for (name, strategy), cycles in last.items():
        tail = sorted(cycles)[-3:]
        table.append(f"| {name} | {strategy} | " + ", ".join(
            f"{np.mean(cycles[c]):.3f}" for c in tail) + " |")
    text = "\n".join(
        ["# Stopping without a test set (stabilising predictions)", "",
         provenance(), "",
         "Each cycle's model is compared with the previous cycle's on a "
         "fixed random stop set (Cohen's kappa, "
         "`aalu_sk.stopping.prediction_agreement`); labeling stops at the "
         "first cycle where the last *window* agreements reach *kappa*. "
         "*Runs stopped*: in how many runs the criterion fired within the "
         "schedule (possibly at its last cycle); a run it never stops "
         "labels everything, so "
         "*labels at stop*, *budget saved* (relative to the end of the "
         "schedule) and the accuracies are means over all runs; "
         "*given up* is accuracy at the end minus accuracy at the stop "
         "(test set, never seen by the criterion).", ""]
        + protocol + ["", f"Wall time of this invocation: {elapsed:.0f} s "
                      f"(runs resume from their checkpoints).",
                      ""] + table) + "\n"
    print(text)
    results.mkdir(parents=True, exist_ok=True)
    (results / "stopping.md").write_text(text)
    fields = ["dataset", "strategy", "seed", "cycle", "n_labeled",
              "accuracy", "stop_agreement"]
    with open(results / "stopping.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields,
                                extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(all_rows)
    print(f"wrote {results / 'stopping.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
