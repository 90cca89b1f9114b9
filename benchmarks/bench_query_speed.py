"""Query speed: seconds per 100 selected samples (the paper's Table 2).

For each pool size (default 1k, 5k, 20k and 50k unlabeled images) a pool
and a labeled set are built from mnist5k by sampling images with
replacement and adding pixel noise (so no two are identical). The task
model (small CNN) is trained on the labeled set and timed; then AALU,
VAAL, core-set, entropy and random each select ``budget`` samples in the
same process, AALU and VAAL with the same number of selector epochs. A
query's time is everything ``strategy.query`` does (task-model pass,
selector training, scoring, selection). Writes
``benchmarks/results/query_speed.md`` with seconds per 100 selected
samples, the task-model training time, and the ratios AALU / VAAL and
AALU query / task training.

Usage::

    python benchmarks/bench_query_speed.py            # long on a CPU
    python benchmarks/bench_query_speed.py --quick    # smoke run
    python benchmarks/bench_query_speed.py --sizes 1000 5000 \\
        --selector-epochs 10 --epochs 10 --device cuda
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone

from _provenance import provenance
from aalu_sk import ImageClassifier
from aalu_sk._runtime import resolve_device
from aalu_sk.experiment.datasets import load_dataset
from aalu_sk.strategies import make_strategy

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ("aalu", "vaal", "coreset", "entropy", "random")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: pools of 500 and 1000, 1 epoch each; "
                             "writes runs/bench-quick/query_speed.md")
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1000, 5000, 20000, 50000],
                        help="unlabeled pool sizes")
    parser.add_argument("--labeled-fraction", type=float, default=0.10,
                        help="labeled set size as a fraction of the pool "
                             "(default: 0.10)")
    parser.add_argument("--budget-fraction", type=float, default=0.05,
                        help="samples selected per query as a fraction of "
                             "the pool (default: 0.05)")
    parser.add_argument("--strategies", default=",".join(DEFAULT))
    parser.add_argument("--epochs", type=int, default=10,
                        help="task-model epochs (default: 10)")
    parser.add_argument("--selector-epochs", type=int, default=10,
                        help="epochs of AALU and of VAAL (default: 10)")
    parser.add_argument("--selector-batch-size", type=int, default=128)
    parser.add_argument("--vaal-channels", default="128,256,512",
                        help="VAAL encoder widths (default: 128,256,512)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=1,
                        help="time each query this many times and report "
                             "the median (default: 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown file (default: "
                             "benchmarks/results/query_speed.md)")
    return parser.parse_args(argv)


def make_pool(source, labels, n, rng):
    """``n`` images drawn with replacement from ``source``, plus noise."""
    pick = rng.randint(0, len(source), n)
    noise = rng.randint(-12, 13, size=(n,) + source.shape[1:])
    images = np.clip(source[pick].astype(np.int16) + noise, 0, 255)
    return images.astype(np.uint8), labels[pick]


def main(argv=None):
    args = parse_args(argv)
    sizes, epochs, selector_epochs = args.sizes, args.epochs, \
        args.selector_epochs
    channels = tuple(int(c) for c in args.vaal_channels.split(","))
    out = args.out or ROOT / "benchmarks" / "results" / "query_speed.md"
    if args.quick:
        sizes, epochs, selector_epochs, channels = [500, 1000], 1, 1, (8, 16)
        out = args.out or ROOT / "runs" / "bench-quick" / "query_speed.md"
    names = args.strategies.split(",")
    data = load_dataset("mnist5k")
    source = np.concatenate([data.X_train, data.X_test])
    labels = np.concatenate([data.y_train, data.y_test])
    template = ImageClassifier("small_cnn", num_classes=10, max_epochs=epochs,
                               batch_size=64, device=args.device,
                               random_state=args.seed)
    # Warm-up (lazy torch initialisation, allocator) outside the timings.
    rng = np.random.RandomState(args.seed)
    X_w, y_w = make_pool(source, labels, 200, rng)
    warm = clone(template).set_params(max_epochs=1).fit(X_w[:100], y_w[:100])
    for name in names:
        make_strategy(name, args.seed, device=args.device, selector_epochs=1,
                      vaal_channels=channels) \
            .query(X_w[:100], y_w[:100], X_w[100:], warm, 10)
    records = []
    for size in sizes:
        rng = np.random.RandomState(args.seed)
        n_labeled = max(10, int(round(args.labeled_fraction * size)))
        budget = max(1, int(round(args.budget_fraction * size)))
        X_l, y_l = make_pool(source, labels, n_labeled, rng)
        X_u, _ = make_pool(source, labels, size, rng)
        net = clone(template)
        start = time.perf_counter()
        net.fit(X_l, y_l)
        train = time.perf_counter() - start
        record = {"size": size, "labeled": n_labeled, "budget": budget,
                  "train": train}
        print(f"pool {size}: {n_labeled} labeled, task model trained in "
              f"{train:.2f} s; selecting {budget}", flush=True)
        for name in names:
            strategy = make_strategy(
                name, args.seed, device=args.device,
                selector_epochs=selector_epochs,
                selector_batch_size=args.selector_batch_size,
                vaal_channels=channels)
            if "cold_start" in strategy.get_params():
                # AALU's own query is what is timed; with few labels per
                # class the default answers with TypiClust instead.
                strategy.set_params(cold_start=None)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                picked = strategy.query(X_l, y_l, X_u, net, budget)
                times.append(time.perf_counter() - start)
            seconds = float(np.median(times))
            if len(np.unique(picked)) != budget:
                raise RuntimeError(f"{name} returned {len(picked)} picks.")
            record[name] = 100 * seconds / budget
            if name == "aalu":
                record["aalu_parts"] = dict(strategy.timings_)
            print(f"  {name:<10} {seconds:8.2f} s  ({record[name]:.3f} s per "
                  f"100 samples)", flush=True)
        records.append(record)
    write_table(records, names, out, epochs, selector_epochs, channels, args)
    return 0


def write_table(records, names, out, epochs, selector_epochs, channels, args):
    has_ratio = "aalu" in names and "vaal" in names
    head = ["pool", "labeled", "selected"] + \
        [f"{n} s/100" for n in names] + ["task training s"]
    head += ["AALU / VAAL"] if has_ratio else []
    head += ["AALU query / task training",
             "AALU task pass / selector training / scoring s"] \
        if "aalu" in names else []
    lines = ["# Query speed", "", provenance(), "",
             f"Pools of noisy mnist5k images (28x28); labeled set "
             f"{args.labeled_fraction:.0%} and selection "
             f"{args.budget_fraction:.0%} of the pool size; task model "
             f"small_cnn, {epochs} epochs; AALU and VAAL {selector_epochs} "
             f"selector epochs each (batch {args.selector_batch_size}); VAAL "
             f"channels {channels}; device {resolve_device(args.device)}. Query seconds per "
             f"100 selected samples (median of {args.repeats}) include the "
             f"task-model pass, selector training, scoring and selection.",
             "",
             "| " + " | ".join(head) + " |",
             "|" + "---:|" * len(head)]
    for r in records:
        cells = [r["size"], r["labeled"], r["budget"]] + \
            [f"{r[n]:.3f}" for n in names] + [f"{r['train']:.2f}"]
        if has_ratio:
            cells.append(f"{r['aalu'] / r['vaal']:.2f}")
        if "aalu" in names:
            aalu_seconds = r["aalu"] * r["budget"] / 100
            cells.append(f"{aalu_seconds / r['train']:.2f}")
            parts = r["aalu_parts"]
            cells.append(f"{parts.get('task_forward', 0):.2f} / "
                         f"{parts['train']:.2f} / {parts['score']:.2f}")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print("\n" + text + f"\nwrote {out}")


if __name__ == "__main__":
    sys.exit(main())
