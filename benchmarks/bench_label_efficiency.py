"""Label efficiency on mnist5k: the paper's protocol and its Table 1 ablations.

Runs AALU, its four ablations (advVAE, advVAE + prediction, lossLearn,
advVAE + lossLearn), VAAL, core-set, entropy and random from 10% to 40% of
the 3750 training images in steps of 5%, with the small CNN as task model
and at least three seeds, through :func:`aalu_sk.experiment.run_experiment`.
Prints the area under each learning curve and writes

- ``benchmarks/results/label_efficiency.md`` (AUC ranking + Tables 1 and 2),
- ``benchmarks/results/label_efficiency.csv`` (every cycle),
- ``benchmarks/results/label_efficiency.png`` (learning curves),
- ``benchmarks/results/label_efficiency_query_time.png``.

The run itself lives in ``runs/bench/label_efficiency`` with its checkpoint:
after a stop, the same command resumes where it stopped.

Usage::

    python benchmarks/bench_label_efficiency.py           # hours on a CPU
    python benchmarks/bench_label_efficiency.py --quick   # smoke run, ~1 min

To compare with the paper's Table 1 shape, look at the ordering of AALU
against its ablations and the baselines, not at the absolute numbers.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from _provenance import provenance
from aalu_sk.experiment.datasets import ImageDataset, load_dataset
from aalu_sk.experiment import STRATEGIES, ExperimentConfig, run_experiment
from aalu_sk.experiment.plotting import aggregate, load_results

ROOT = Path(__file__).resolve().parents[1]
ALL = ("aalu", "advvae", "advvae_pred", "losslearn", "advvae_losslearn",
       "vaal", "coreset", "entropy", "random")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1250 of the training images, 1 "
                             "seed, 10%%->20%%, 1 epoch each; writes under "
                             "runs/bench-quick")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", default=",".join(ALL),
                        help=f"comma-separated, of {','.join(STRATEGIES)}")
    parser.add_argument("--epochs", type=int, default=20,
                        help="task-model epochs per cycle (default: 20)")
    parser.add_argument("--selector-epochs", type=int, default=30,
                        help="AALU and VAAL epochs (default: 30; the paper "
                             "uses 100)")
    parser.add_argument("--vaal-channels", default="128,256,512",
                        help="VAAL encoder widths (default: 128,256,512, the "
                             "reference's widths that fit 28x28)")
    parser.add_argument("--final", type=float, default=0.40)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--full-data", action=argparse.BooleanOptionalAction,
                        default=True, help="also train on all training data")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="checkpointed run folder (default: "
                             "runs/bench/label_efficiency)")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where the .md/.csv/.png go (default: "
                             "benchmarks/results)")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    seeds, final, epochs, selector_epochs = (
        args.seeds, args.final, args.epochs, args.selector_epochs)
    channels = tuple(int(c) for c in args.vaal_channels.split(","))
    run_dir = args.run_dir or ROOT / "runs" / "bench" / "label_efficiency"
    results_dir = args.results_dir or ROOT / "benchmarks" / "results"
    if args.quick:
        seeds, final, epochs, selector_epochs = [0], 0.20, 1, 1
        channels, args.full_data = (8, 16), False
        run_dir = args.run_dir or ROOT / "runs" / "bench-quick" / \
            "label_efficiency"
        results_dir = args.results_dir or ROOT / "runs" / "bench-quick"
    config = ExperimentConfig(
        dataset="mnist5k", strategies=tuple(args.strategies.split(",")),
        seeds=tuple(seeds), initial=0.10, step=0.05, final=final,
        model="small_cnn", epochs=epochs, batch_size=64,
        selector_epochs=selector_epochs, vaal_channels=channels,
        device=args.device, full_data=args.full_data)
    dataset = load_dataset("mnist5k")
    if args.quick:  # a third of the images: same code paths, less compute
        dataset = ImageDataset("mnist5k", dataset.X_train[:1250],
                               dataset.y_train[:1250], dataset.X_test[:400],
                               dataset.y_test[:400], dataset.classes)
    start = time.perf_counter()
    run_experiment(config, run_dir, progress=not args.quiet, dataset=dataset)
    elapsed = time.perf_counter() - start

    rows = load_results(run_dir)
    summary = aggregate(rows)
    ranking = sorted(summary, key=lambda n: -summary[n]["auc"].mean())
    lines = ["# Label efficiency on mnist5k", "", provenance(), "",
             f"Protocol: {config.initial:.0%} -> {config.final:.0%} labeled "
             f"in steps of {config.step:.0%} of the {len(dataset.y_train)} "
             f"training images; "
             f"task model small_cnn ({epochs} epochs, retrained from scratch "
             f"each cycle); selector epochs {selector_epochs} (AALU and "
             f"VAAL); VAAL channels {channels}; seeds {list(seeds)}. "
             f"Wall time of this invocation: {elapsed:.0f} s.", "",
             "## Area under the learning curve (mean accuracy, %)", "",
             "| rank | strategy | AUC |", "|---:|---|---:|"]
    for rank, name in enumerate(ranking, 1):
        auc = 100 * summary[name]["auc"]
        lines.append(f"| {rank} | {name} | {auc.mean():.2f} ± "
                     f"{auc.std(ddof=1) if auc.size > 1 else 0.0:.2f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    results_dir.mkdir(parents=True, exist_ok=True)
    details = (run_dir / "summary.md").read_text().replace(
        "# Active-learning results", "# Details", 1)
    (results_dir / "label_efficiency.md").write_text(table + "\n" + details)
    for source, target in (("results.csv", "label_efficiency.csv"),
                           ("learning_curves.png", "label_efficiency.png"),
                           ("query_time.png",
                            "label_efficiency_query_time.png")):
        shutil.copyfile(run_dir / source, results_dir / target)
    print(f"wrote {results_dir / 'label_efficiency.md'}")
    best = np.mean(summary[ranking[0]]["auc"])
    return 0 if np.isfinite(best) else 1


if __name__ == "__main__":
    sys.exit(main())
