"""AALU's query seconds per 100 samples, before and after, side by side.

The label-efficiency pages give each strategy's query seconds, but each
(protocol, strategy) run ran at its own time, beside whatever else the
machine did, so their ratios mix load with cost. Here, for every
label-efficiency protocol and seed, one labeled set is drawn (the
runner's initial permutation, cut at the first labeled size at which the
default's cold start is over, so AALU answers), the protocol's task
model is trained on it as the runner's cycle trains it
(``aalu_sk.experiment.runner``: same template, seeds and strategy
parameters), and ``strategy.query`` is timed for the default ``aalu``,
for ``aalu_v0`` (the same with the earlier selector: 512 wide, up to
1000 steps, lr 5e-4) and for ``margin+div`` on that one model, one
right after the other in one process, in a rotating order.

Writes ``benchmarks/results/query_cost.md``.

Usage::

    python benchmarks/query_cost.py            # ~30 min on one core
    python benchmarks/query_cost.py --quick    # smoke run
"""

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from _provenance import provenance
from bench_label_efficiency import PROTOCOLS, _config

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = ("aalu", "aalu_v0", "margin+div")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    parser.add_argument("--run-dir", type=Path,
                        default=ROOT / "runs" / "bench" / "le2",
                        help="where the label-efficiency benchmark keeps "
                             "its SSL files (reused, else fitted there)")
    parser.add_argument("--quick", action="store_true",
                        help="digits-small, 1 seed, 1 task epoch, 20 "
                             "selector steps")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" /
                        "query_cost.md")
    return parser.parse_args(argv)


def _protocol_config(protocol, strategy, seeds, quick):
    """The benchmark's config; quick: the full schedule, 1 task epoch."""
    config = _config(protocol, strategy, seeds, False)
    if quick:
        config = dataclasses.replace(config, epochs=1)
    return config


def first_aalu_size(template, n_classes, sizes):
    """The first labeled size of the schedule past the default's cold start.

    ``template`` is the protocol's task model: a head on a frozen
    representation ends the cold start sooner than a model from scratch.
    """
    from aalu_sk import AdversarialUncertaintySampler

    threshold = AdversarialUncertaintySampler().resolved_config(
        template)["cold_start_until"] * n_classes
    later = [s for s in sizes[:-1] if s >= threshold]
    if not later:  # every query would be the cold start's: nothing to time
        raise ValueError(f"no query of the schedule {sizes} is past the "
                         f"cold start ({threshold} labels)")
    return later[0]


def _strategy(config, name, seed, cycle):
    """The strategy as the runner's cycle makes it (same seed, parameters)."""
    from aalu_sk.experiment.checkpoint import derive_seed
    from aalu_sk.strategies import make_strategy

    return make_strategy(
        name, derive_seed(seed, "query", cycle), device=config.device,
        selector_epochs=config.selector_epochs,
        selector_batch_size=config.selector_batch_size,
        vaal_channels=config.vaal_channels,
        **({} if config.selector_max_steps == "auto" else
           {"selector_max_steps": config.selector_max_steps}))


def measure(protocol, seeds, quick, run_dir):
    """{strategy: [(n_labeled, n_query, query seconds)]} over the seeds."""
    import torch

    from aalu_sk.experiment import load_dataset
    from aalu_sk.experiment.checkpoint import derive_seed
    from aalu_sk.experiment.runner import (_fit_and_score, _task_model,
                                           fit_representation)

    torch.set_num_threads(1)
    config = _protocol_config(protocol, "aalu", seeds, quick)
    dataset = load_dataset(config.dataset)
    X, y = dataset.X_train, dataset.y_train
    sizes, _ = config.label_schedule(len(y))
    template = _task_model(config, dataset, False, fit_representation(
        config, dataset, run_dir / protocol))
    n = first_aalu_size(template, dataset.n_classes, sizes)
    cycle = sizes.index(n)
    n_query = sizes[cycle + 1] - n
    out = {name: [] for name in STRATEGIES}
    for k, seed in enumerate(seeds):
        labeled = np.random.RandomState(derive_seed(seed, "initial")) \
            .permutation(len(y))[:n]
        pool = np.setdiff1d(np.arange(len(y)), labeled)
        strategies = {name: _strategy(_protocol_config(
            protocol, name, seeds, quick), name, seed, cycle)
            for name in STRATEGIES}
        if quick:  # a smoke run: 20 selector steps for both AALUs
            for s in strategies.values():
                if "max_steps" in s.get_params():
                    s.set_params(max_steps=20)
        # One model for the three, as in the runner's cycle (recording the
        # losses does not change its training).
        net, _, _ = _fit_and_score(
            template, derive_seed(seed, "model", cycle), X[labeled],
            y[labeled], dataset, record_losses=any(
                s.reads_training_losses() for s in strategies.values()))
        if template.representation is not None:
            # A loop's later cycles read the pool's cached embedding (one
            # cache per fitted representation): no query here pays for it.
            net.embed(X)
        for name in STRATEGIES[k % 3:] + STRATEGIES[:k % 3]:
            start = time.perf_counter()
            picked = strategies[name].query(X[labeled], y[labeled], X[pool],
                                            net, n_query)
            seconds = time.perf_counter() - start
            assert np.unique(picked).size == n_query
            out[name].append((n, n_query, seconds))
            print(f"{protocol} seed {seed} {name}: {seconds:.2f} s for "
                  f"{n_query}", flush=True)
    return out


def main(argv=None):
    args = parse_args(argv)
    protocols = ["digits-small"] if args.quick else args.protocols.split(",")
    seeds = args.seeds[:1] if args.quick else args.seeds
    start = time.perf_counter()
    results = {p: measure(p, seeds, args.quick, args.run_dir)
               for p in protocols}
    wall = time.perf_counter() - start
    lines = ["# Query cost per 100 samples, in one process", "",
             provenance(), "", __doc__.split("\n\n")[1].replace("\n", " "),
             "",
             f"Seeds {seeds}; wall time {wall:.0f} s. Seconds per 100 "
             f"queried samples: mean over seeds (per seed after it). "
             f"Ratio: `aalu_v0` over `aalu`, per seed, then its smallest.",
             "",
             "| protocol | labeled | queried | aalu s/100 | aalu_v0 s/100 | "
             "aalu_v0 / aalu (per seed) | smallest ratio | margin+div s/100 |",
             "|---|---:|---:|---:|---:|---|---:|---:|"]
    for protocol in protocols:
        r = results[protocol]
        per100 = {name: np.array([100 * s / q for _, q, s in r[name]])
                  for name in STRATEGIES}
        ratio = per100["aalu_v0"] / per100["aalu"]
        n, q, _ = r["aalu"][0]
        lines.append(
            f"| {protocol} | {n} | {q} | {per100['aalu'].mean():.2f} | "
            f"{per100['aalu_v0'].mean():.2f} | "
            f"{' '.join(f'{x:.1f}' for x in ratio)} | {ratio.min():.1f} | "
            f"{per100['margin+div'].mean():.2f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
