"""Large pools: peak memory and time of one query for pools up to 1,000,000.

The pool is a numpy memmap of 8x8 uint8 images (scikit-learn's digits,
tiled with noise), so the images themselves never sit in memory. The task
model is a SmallCNN trained on 500 labeled digits; its 128-d features of the
pool are the "feature matrix" the memory target refers to. Each (strategy,
pool size) runs in a fresh process; peak memory is the growth of the
process's maximum resident set size during the query, over its size just
before it.

    python benchmarks/bench_large_pool.py                 # 10k, 100k, 1M
    python benchmarks/bench_large_pool.py --sizes 10000 --quick

Writes ``benchmarks/results/large_pool.md``. The selectors train for
``--epochs`` epochs (default 1): their cost is linear in epochs x pool size,
so one epoch shows the scaling without hours of CPU time.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _provenance import provenance

RESULTS = Path(__file__).parent / "results"


def make_pool(path, n, seed=0):
    from sklearn.datasets import load_digits

    base = (load_digits().images * 16).clip(0, 255).astype(np.uint8)
    pool = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8,
                                     shape=(n, 8, 8))
    rng = np.random.RandomState(seed)
    for start in range(0, n, 100_000):
        stop = min(start + 100_000, n)
        idx = rng.randint(len(base), size=stop - start)
        noise = rng.randint(0, 8, size=(stop - start, 8, 8), dtype=np.uint8)
        pool[start:stop] = np.minimum(base[idx].astype(np.int16) + noise,
                                      255).astype(np.uint8)
    pool.flush()
    del pool


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(args):

    from aalu_sk import (AdversarialUncertaintySampler, CoreSetSampler,
                         EntropySampler, ImageClassifier, RandomSampler,
                         VAALSampler)
    from sklearn.datasets import load_digits

    digits = load_digits()
    X_l = (digits.images[:500] * 16).clip(0, 255).astype(np.uint8)
    y_l = digits.target[:500]
    net = ImageClassifier("small_cnn", num_classes=10, max_epochs=2,
                          batch_size=1024, random_state=0).fit(X_l, y_l)
    pool = np.load(args.pool, mmap_mode="r")
    strategies = {
        "aalu": lambda: AdversarialUncertaintySampler(
            epochs=args.epochs, batch_size=512, random_state=0),
        "vaal": lambda: VAALSampler(epochs=args.epochs, batch_size=512,
                                    channels=(32, 64), random_state=0),
        "coreset": lambda: CoreSetSampler(random_state=0),
        "entropy": lambda: EntropySampler(random_state=0),
        "random": lambda: RandomSampler(random_state=0),
    }
    sampler = strategies[args.strategy]()
    before = rss_mb()
    start = time.perf_counter()
    idx = sampler.query(X_l, y_l, pool, net, n_instances=args.n_instances)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert len(set(idx.tolist())) == args.n_instances
    print(json.dumps({"seconds": seconds, "peak_growth_mb": peak - before,
                      "feature_mb": len(pool) * 128 * 4 / 2**20}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--strategies", nargs="+",
                        default=["aalu", "coreset", "entropy", "random"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--n-instances", type=int, default=100)
    parser.add_argument("--quick", action="store_true",
                        help="10k pool only, for a smoke run")
    parser.add_argument("--out", default=str(RESULTS / "large_pool.md"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pool", help=argparse.SUPPRESS)
    parser.add_argument("--strategy", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    sizes = [10_000] if args.quick else args.sizes
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = os.path.join(tmp, f"pool_{n}.npy")
            make_pool(path, n)
            for strategy in args.strategies:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", "--pool", path,
                     "--strategy", strategy, "--epochs", str(args.epochs),
                     "--n-instances", str(args.n_instances)],
                    capture_output=True, text=True)
                if out.returncode:
                    sys.exit(f"{strategy} on {n} failed:\n{out.stderr}")
                r = json.loads(out.stdout.strip().splitlines()[-1])
                r.update(strategy=strategy, n_pool=n)
                rows.append(r)
                print(f"{strategy:8s} n={n:>9,d}  {r['seconds']:8.1f} s  "
                      f"peak +{r['peak_growth_mb']:7.0f} MB  "
                      f"(features {r['feature_mb']:.0f} MB, ratio "
                      f"{r['peak_growth_mb'] / r['feature_mb']:.2f})",
                      flush=True)
            os.remove(path)
    lines = [
        "# Large pools: one query, peak memory and time",
        "",
        provenance(["benchmarks/bench_large_pool.py"]
                   + (argv if argv is not None else sys.argv[1:])),
        f"Pool: memmapped 8x8 uint8 images; task model SmallCNN (128-d "
        f"features); {args.n_instances} samples queried; selectors trained "
        f"{args.epochs} epoch(s) (cost is linear in epochs).",
        "Peak = growth of the process's max RSS during the query; ratio = "
        "peak / feature matrix (n x 128 float32).",
        "",
        "| strategy | pool | seconds | s per 10k pool | peak MB | features MB"
        " | peak / features |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['strategy']} | {r['n_pool']:,} | {r['seconds']:.1f} | "
            f"{r['seconds'] / r['n_pool'] * 1e4:.2f} | "
            f"{r['peak_growth_mb']:.0f} | {r['feature_mb']:.0f} | "
            f"{r['peak_growth_mb'] / r['feature_mb']:.2f} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
