"""Probe: the label-efficiency ``+ssl`` protocols with the folder tools' head.

``benchmarks/head_recipes.py`` found ``head_classifier`` (the head of
``aalu-sk label`` and ``aalu-sk query``: full-batch Adam at 3e-2, weight
decay 1e-2, on the embedding divided by its root mean variance) ahead of
``HEAD_SETTINGS`` (the ``+ssl`` protocols' head) on random labels. This
probe reruns the ``+ssl`` protocols' default, random and target peers with
that head, everything else as in ``bench_label_efficiency.py`` (the same
SSL files, splits, schedules, seeds and strategies), in its own run
folder, and gives each strategy's AULC and the paired differences that
issue 15's targets read, next to the committed rows made with
``HEAD_SETTINGS``. It decides whether the experiments should switch head.

Writes ``benchmarks/results/probe_head_recipe.md``. Its runs checkpoint in
``--run-dir`` like the benchmark's: a second invocation reuses them.

Usage, from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/probe_head_recipe_al.py \\
        --run-dir runs/bench/probe_head --ssl-dir runs/bench/le5
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from _provenance import provenance

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = ("aalu", "random", "margin+div", "badge", "typiclust",
              "probcover", "skal_typiclust", "skal_probcover")


class Scaled(TransformerMixin, BaseEstimator):
    """A fitted representation's embedding divided by one number."""

    def __init__(self, representation=None, scale=1.0):
        self.representation = representation
        self.scale = scale

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        Z = np.asarray(self.representation.transform(X), np.float32)
        return Z.reshape(len(Z), -1) / self.scale


def folder_head(config, dataset, progress, representation=None):
    """The runner's template model, with ``head_classifier`` as the head."""
    from aalu_sk.labeling.cycle import head_classifier

    Z = np.asarray(representation.transform(dataset.X_train), np.float64)
    scale = float(np.sqrt(Z.reshape(len(Z), -1).var(axis=0).mean()))
    return head_classifier(Scaled(representation, scale).fit(None),
                           dataset.n_classes, device=config.device)


def aulc(rows, name, seeds):
    from aalu_sk.experiment.plotting import learning_curve_auc

    out = {}
    for seed in seeds:
        mine = sorted((r for r in rows if r["strategy"] == name
                       and r["seed"] == seed), key=lambda r: r["cycle"])
        if mine:
            out[seed] = 100 * learning_curve_auc(
                [r["fraction"] for r in mine], [r["accuracy"] for r in mine])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--protocols",
                        default="digits-vlow+ssl,mnist5k-vlow+ssl")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--seeds", type=int, nargs="+",
                        default=[0, 1, 2, 3, 4])
    parser.add_argument("--run-dir", type=Path,
                        default=ROOT / "runs" / "bench" / "probe_head")
    parser.add_argument("--ssl-dir", type=Path,
                        default=ROOT / "runs" / "bench" / "label_efficiency",
                        help="the label-efficiency run folder whose SSL "
                             "files (<protocol>/ssl-*.pt) to use")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" /
                        "probe_head_recipe.md")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_label_efficiency as bench

    from aalu_sk.experiment import load_results, run_experiment, runner

    runner._task_model = folder_head   # the probe's one change
    lines = ["# Probe: the +ssl protocols with the folder tools' head", "",
             provenance(), "", __doc__.split("\n\n")[1].replace("\n", " "),
             "", "AULC: the learning curve's area, a mean test accuracy in "
             f"%, mean over seeds {', '.join(map(str, args.seeds))}; "
             "differences are paired by seed, with 95% bootstrap intervals. "
             "The folder-head rows are the run folder's checkpoints, made by "
             "this command (an invocation reuses the runs it finds "
             "complete).", ""]
    archive = load_results(ROOT / "benchmarks" / "results" /
                           "label_efficiency.csv")
    strategies = args.strategies.split(",")
    for protocol in args.protocols.split(","):
        rows = []
        for name in strategies:
            folder = args.run_dir / protocol / name.replace("+", "_")
            config = bench._config(protocol, name, args.seeds, False)
            rows += run_experiment(config, folder, progress=False,
                                   representation_dir=args.ssl_dir /
                                   protocol)
            print(f"{protocol} {name}: done", flush=True)
        old = [r for r in archive if r["protocol"] == protocol]
        lines += [f"## {protocol}", "",
                  "| strategy | AULC, folder head | AULC, HEAD_SETTINGS "
                  "| folder head minus HEAD_SETTINGS |", "|---|---:|---:|---|"]
        for name in strategies:
            new_a = aulc(rows, name, args.seeds)
            old_a = aulc(old, name, args.seeds)
            lines.append(f"| {name} | {np.mean(list(new_a.values())):.2f} | "
                         f"{np.mean(list(old_a.values())):.2f} | "
                         + _paired(new_a, old_a, args.seeds) + " |")
        lines += ["", "With the folder head, `aalu` (the default) minus each "
                  "strategy:", "", "| strategy | aalu minus it | worst seed |",
                  "|---|---|---:|"]
        base = aulc(rows, "aalu", args.seeds)
        for other in strategies:
            if other == "aalu":
                continue
            o = aulc(rows, other, args.seeds)
            worst = min(base[s] - o[s] for s in args.seeds)
            lines.append(f"| {other} | {_paired(base, o, args.seeds)} | "
                         f"{worst:+.2f} |")
        lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


def _paired(a, b, seeds):
    """``mean [low, high]`` of the paired difference a - b over ``seeds``."""
    from aalu_sk.experiment.stats import paired_difference

    d = paired_difference([a[s] for s in seeds], [b[s] for s in seeds])
    return f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]"


if __name__ == "__main__":
    main()
