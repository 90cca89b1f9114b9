"""Do a strategy's scores find the samples the model gets wrong?

At the first query of each label-efficiency protocol trained from scratch
(``benchmarks/bench_label_efficiency.py``'s protocols: its initial sets,
task models, epochs and model seeds; on the very-low-budget ones that is
2 labels per class, where the default would still answer with its cold
start, so AALU's selector is run here without it), every score is
compared with the truth about the pool, which a real user never has:

- AUROC of the score for "the task model misclassifies this sample";
- Spearman correlation of the score with the sample's true loss.

Scores: AALU's default, the default with ``p`` in class order
(``aalu_unsorted``), the paper's AALU, margin and entropy. A score that
ranks the errors first is what an uncertainty strategy is for; the batch
rule (top-k or k-means) is not involved here. The selector seconds are
the cost of one AALU query beyond the task model's pass, measured in one
process, one after the other, so the configurations compare fairly.

Writes ``benchmarks/results/score_quality.md``.

Usage::

    python benchmarks/score_quality.py            # ~40 min on one core
    python benchmarks/score_quality.py --quick    # smoke run
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from _provenance import provenance
from _variants import AALU_V0
from bench_label_efficiency import PROTOCOLS as _LABEL_EFFICIENCY

ROOT = Path(__file__).resolve().parents[1]
#: The label-efficiency protocols whose task model trains from scratch.
PROTOCOLS = {name: p for name, p in _LABEL_EFFICIENCY.items()
             if "representation" not in p}
AALU = {"aalu": {}, "aalu_unsorted": {"sort_prediction": False},
        "aalu_v0": AALU_V0,
        "aalu_paper": {"preset": "paper"}}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+",
                        default=[0, 1, 2, 3, 4])
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    parser.add_argument("--quick", action="store_true",
                        help="1 seed, 2 task epochs, 20 selector steps")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" /
                        "score_quality.md")
    return parser.parse_args(argv)


def first_query_scores(protocol, seed, quick):
    """Scores of every strategy on the pool of the first query, and truth."""
    from aalu_sk import AdversarialUncertaintySampler, ImageClassifier
    from aalu_sk.experiment import load_dataset
    from aalu_sk.experiment.checkpoint import derive_seed
    from aalu_sk.features import task_outputs
    from aalu_sk.strategies.selection import entropy, margin

    p = PROTOCOLS[protocol]
    dataset = load_dataset(p["dataset"])
    X, y = dataset.X_train, dataset.y_train
    n = p["initial"] if isinstance(p["initial"], int) else \
        int(np.floor(p["initial"] * len(y) + 0.5))  # as the runner
    order = np.random.RandomState(derive_seed(seed, "initial")) \
        .permutation(len(y))
    labeled, pool = order[:n], np.sort(order[n:])
    net = ImageClassifier(
        p["model"], num_classes=dataset.n_classes,
        max_epochs=2 if quick else p["epochs"], batch_size=p["batch_size"],
        device="cpu", random_state=derive_seed(seed, "model", 0))
    net.fit(X[labeled], y[labeled])
    lab = task_outputs(net, X[labeled], y[labeled])
    out = task_outputs(net, X[pool], y[pool])
    scores = {"margin": margin(out.proba), "entropy": entropy(out.proba)}
    seconds = {"margin": 0.0, "entropy": 0.0}
    for name, params in AALU.items():
        sampler = AdversarialUncertaintySampler(
            random_state=derive_seed(seed, "query", 0), device="cpu",
            cold_start=None, **{**params, **({"max_steps": 20} if quick else {})})
        start = time.perf_counter()
        scores[name] = sampler.fit_scores(lab.features, lab.proba, lab.loss,
                                          out.features, out.proba)
        seconds[name] = time.perf_counter() - start
    wrong = out.proba.argmax(1) != y[pool]
    return {name: (roc_auc_score(wrong, s),
                   spearmanr(s, out.loss).correlation, seconds[name])
            for name, s in scores.items()}, float(1 - wrong.mean())


def main(argv=None):
    import torch

    torch.set_num_threads(1)
    args = parse_args(argv)
    protocols = args.protocols.split(",")
    seeds = args.seeds[:1] if args.quick else args.seeds
    start = time.perf_counter()
    results = {p: [first_query_scores(p, s, args.quick) for s in seeds]
               for p in protocols}
    wall = time.perf_counter() - start
    lines = ["# Score quality at the first query", "", provenance(), "",
             f"Seeds {seeds} (the label-efficiency runner's initial sets and "
             f"model seeds). AUROC: how well the score ranks the pool's "
             f"misclassified samples above the rest (0.5 is chance). "
             f"Spearman: correlation with each pool sample's true loss. Mean "
             f"over seeds, per-seed values after it. Wall time {wall:.0f} s.",
             ""]
    for protocol in protocols:
        accuracy = [a for _, a in results[protocol]]
        lines += [f"## `{protocol}` (task model accuracy on the pool "
                  f"{100 * np.mean(accuracy):.1f}%)", "",
                  "| score | AUROC for errors | per seed | Spearman with "
                  "loss | selector s |", "|---|---:|---|---:|---:|"]
        names = list(results[protocol][0][0])
        names.sort(key=lambda n: -np.mean([r[n][0]
                                           for r, _ in results[protocol]]))
        for name in names:
            auc = [r[name][0] for r, _ in results[protocol]]
            rho = [r[name][1] for r, _ in results[protocol]]
            sec = [r[name][2] for r, _ in results[protocol]]
            lines.append(f"| {name} | {np.mean(auc):.3f} | "
                         f"{' '.join(f'{a:.3f}' for a in auc)} | "
                         f"{np.mean(rho):.2f} | {np.mean(sec):.1f} |")
        lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
