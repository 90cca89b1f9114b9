"""The two ways aalu_sk trains a linear head on a representation.

``aalu-sk run --representation`` and the label-efficiency benchmark's
``+ssl`` protocols train it with ``HEAD_SETTINGS`` (100 epochs of
mini-batches of 32, Adam at 1e-2, on the raw embedding); ``aalu-sk label``
and ``aalu-sk query`` with ``head_classifier`` (100 full-batch Adam steps
at 3e-2 with weight decay 1e-2, on the embedding divided by its root mean
variance, ``FolderEmbedding``). This script trains both on the same
labels, drawn uniformly at random from the training images, and gives
their test accuracy and the paired difference per draw.

The views are the benchmark's: a PCA of the pixels, and the SimCLR
embedding fitted as ``aalu_sk.experiment.runner.fit_representation``
fits it (loaded from the benchmark's run folder when it is there). Each
image is embedded once; both recipes then read the same embedding through
their own code (``ImageClassifier`` with ``HEAD_SETTINGS``;
``FolderEmbedding`` and ``head_classifier``).

Writes ``benchmarks/results/head_recipes.md``.

Usage::

    python benchmarks/head_recipes.py           # ~10 min with the SSL files
    python benchmarks/head_recipes.py --quick   # smoke run: digits pixels
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from _provenance import provenance

ROOT = Path(__file__).resolve().parents[1]
VIEWS = (("digits", "pixels"), ("digits", "ssl"), ("mnist5k", "pixels"),
         ("mnist5k", "ssl"))
BUDGETS = (20, 50, 100, 200)


class Embedded(TransformerMixin, BaseEstimator):
    """The identity on embeddings stored as ``(n, d, 1, 1)`` images."""

    def fit(self, X, y=None):
        self.n_features_in_ = int(np.prod(np.shape(X)[1:]))
        return self

    def transform(self, X):
        return np.asarray(X, np.float32).reshape(len(X), -1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+",
                        default=[0, 1, 2, 3, 4])
    parser.add_argument("--run-dir", type=Path,
                        default=ROOT / "runs" / "bench" / "label_efficiency",
                        help="where the label-efficiency benchmark keeps "
                             "its SSL files (<protocol>/ssl-*.pt)")
    parser.add_argument("--quick", action="store_true",
                        help="digits pixels only, 1 seed, 2 budgets")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" /
                        "head_recipes.md")
    return parser.parse_args(argv)


def embedded(dataset_name, representation, run_dir):
    """The dataset and its train and test embeddings as (n, d, 1, 1)."""
    from aalu_sk.experiment import ExperimentConfig, load_dataset
    from aalu_sk.experiment.runner import fit_representation

    dataset = load_dataset(dataset_name)
    config = ExperimentConfig(dataset=dataset_name,
                              representation=representation, device="cpu")
    rep = fit_representation(config, dataset,
                             run_dir / f"{dataset_name}-vlow+ssl")

    def emb(X):
        Z = np.asarray(rep.transform(X), np.float32).reshape(len(X), -1)
        return Z[:, :, None, None]

    return dataset, emb(dataset.X_train), emb(dataset.X_test)


def accuracies(dataset, Z, Z_test, n, seed):
    """Test accuracy of (HEAD_SETTINGS, head_classifier) on ``n`` labels."""
    from aalu_sk import ImageClassifier
    from aalu_sk.experiment.runner import HEAD_SETTINGS
    from aalu_sk.labeling.cycle import head_classifier
    from aalu_sk.labeling.embedding import FolderEmbedding

    picked = np.random.RandomState(seed).choice(len(Z), n, replace=False)
    y = dataset.y_train[picked]
    settings = ImageClassifier(
        representation=Embedded().fit(Z), finetune=False, head="linear",
        num_classes=dataset.n_classes, max_epochs=HEAD_SETTINGS["epochs"],
        batch_size=HEAD_SETTINGS["batch_size"], lr=HEAD_SETTINGS["lr"],
        device="cpu", random_state=seed, callbacks__print_log=None)
    folder = FolderEmbedding(Embedded()).fit(np.concatenate([Z, Z_test]))
    head = head_classifier(folder, dataset.n_classes, device="cpu",
                           random_state=seed)
    return tuple(float(np.mean(net.fit(Z[picked], y).predict(Z_test) ==
                               dataset.y_test)) for net in (settings, head))


def main(argv=None):
    args = parse_args(argv)
    views = VIEWS[:1] if args.quick else VIEWS
    seeds = args.seeds[:1] if args.quick else args.seeds
    budgets = BUDGETS[:2] if args.quick else BUDGETS
    lines = ["# Two head recipes on one representation", "", provenance(), "",
             __doc__.split("\n\n")[1].replace("\n", " "), "",
             "Per budget (labels drawn at random from the training images): "
             "test accuracy (%) of `HEAD_SETTINGS` and of `head_classifier`, "
             "mean over the draws (seeds "
             f"{', '.join(map(str, seeds))}), then `head_classifier` minus "
             "`HEAD_SETTINGS` per draw, in points.", ""]
    for name, rep in views:
        dataset, Z, Z_test = embedded(name, rep, args.run_dir)
        lines += [f"## {name}, `{rep}` ({Z.shape[0]} training and "
                  f"{Z_test.shape[0]} test images, {Z.shape[1]}-d)", "",
                  "| labels | HEAD_SETTINGS | head_classifier | difference "
                  "| per draw |", "|---:|---:|---:|---:|---|"]
        for n in budgets:
            pairs = np.array([accuracies(dataset, Z, Z_test, n, s)
                              for s in seeds]) * 100
            diff = pairs[:, 1] - pairs[:, 0]
            lines.append(f"| {n} | {pairs[:, 0].mean():.1f} | "
                         f"{pairs[:, 1].mean():.1f} | {diff.mean():+.1f} | "
                         + " ".join(f"{d:+.1f}" for d in diff) + " |")
            print(f"{name} {rep} {n}: {diff.mean():+.1f}", flush=True)
        lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
