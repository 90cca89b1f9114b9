"""The labeling app's cold start with and without a representation.

Builds the folder ``aalu-sk label --demo`` labels (scikit-learn's 1797
handwritten digits as 32x32 PNG files, :func:`aalu_sk.labeling.write_digits_folder`),
opens a :class:`aalu_sk.labeling.LabelingProject` on it with the app's
defaults (AALU, batches of 20 with 10% audit images, 32x32 images) and
one ``representation`` at a time, and answers every batch with the true
digit through :meth:`~aalu_sk.labeling.LabelingProject.label`, as a
perfect labeler would. After each answered batch the next cycle retrains
the model and chooses the next batch; its accuracy on *all* the demo
images (the true labels are known) is recorded, with the wall time of
the cycle (retrain and query, what the labeler waits for with
``--prefetch 1``) and the one-off fit of the representation.

Writes ``benchmarks/results/labeling_coldstart.md``. Single-threaded
(one torch thread, ``OMP_NUM_THREADS=1``), on the CPU.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_labeling_coldstart.py
        # none, pixels, ssl; seeds 0 1 2; 4 batches (6 to 30 min on a
        # shared 2-core machine, most of it the three SimCLR fits)
    python benchmarks/bench_labeling_coldstart.py --quick   # smoke, ~1 min
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _provenance import provenance
from aalu_sk import ImageClassifier
from aalu_sk.labeling import LabelingProject, write_digits_folder

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "labeling_coldstart.md"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--representations", default="none,pixels,ssl")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batches", type=int, default=4,
                        help="batches answered (the first is the cold "
                             "start)")
    parser.add_argument("--n-images", type=int, default=None,
                        help="demo digits used (default: all 1797)")
    parser.add_argument("--quick", action="store_true",
                        help="300 digits, none and pixels, one seed, two "
                             "batches")
    parser.add_argument("--out", type=Path, default=OUT)
    return parser.parse_args(argv)


def run(folder, truth, representation, seed, batches, workdir):
    """One labeling session; a row per answered batch."""
    project = LabelingProject(
        folder, [str(d) for d in range(10)],
        store=Path(workdir) / f"{representation}-{seed}.sqlite",
        representation=representation, random_state=seed, device="cpu")
    labels = np.asarray([truth[p] for p in project.paths])
    start = time.perf_counter()
    batch = project.next_batch()            # the cold start: no model yet
    first_seconds = time.perf_counter() - start
    fit_seconds = project.representation_info["seconds"]
    first_classes = len({truth[b["path"]] for b in batch})
    rows = []
    for k in range(batches):
        for item in batch:
            project.label(item["id"], truth[item["path"]])
        start = time.perf_counter()
        batch = project.next_batch()         # retrain, then query
        seconds = time.perf_counter() - start
        cycle = project.store.cycles()[-1]
        accuracy = float(np.mean(np.asarray(project.predict()) == labels))
        rows.append({"batch": k + 1, "n_labeled": cycle["n_labeled"],
                     "accuracy": accuracy, "seconds": seconds,
                     "train": cycle["train_seconds"],
                     "query": cycle["query_seconds"],
                     "strategy": cycle["strategy"]})
    project.store.close()
    return {"rows": rows, "fit_seconds": fit_seconds,
            "first_seconds": first_seconds, "first_classes": first_classes}


def _warm_up():
    """One tiny fit, so that torch's one-off start-up (a few seconds, the
    first optimiser step of a process) is not charged to the first run."""
    X = np.zeros((4, 1, 8, 8), np.float32)
    ImageClassifier("small_cnn", num_classes=2, max_epochs=1,
                    device="cpu").fit(X, np.array([0, 1, 0, 1]))


def _mean(values, digits=3, scale=1.0):
    values = np.asarray(values, np.float64) * scale
    if values.size == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def report(results, args, n_images, minutes):
    reps = list(results)
    batches = range(1, args.batches + 1)
    first = next(iter(results.values()))[0]["rows"]
    head = " | ".join(f"acc. after {b} ({first[b - 1]['n_labeled']} labels)"
                      for b in batches)
    lines = [
        "# The labeling app's cold start, with and without a representation",
        "", provenance(), "",
        f"`aalu-sk label --demo`'s folder ({n_images} digits, 32x32 PNG), "
        f"the app's defaults (AALU, batches of 20 of which 10% are audit "
        f"images never trained on), every batch answered with the true "
        f"digit through `LabelingProject.label`. Accuracy of the model of "
        f"each cycle on all {n_images} images; seeds {args.seeds} "
        f"(mean ± standard deviation over the seeds). *s/cycle*: wall "
        f"time of one retrain and query (mean over the cycles after the "
        f"cold start); *fit s*: the one-off fit of the representation "
        f"(cached beside the store afterwards). *classes*: digits among the "
        f"20 images of the first batch (coverage of the embedding, or of 8x8 thumbnails "
        f"for `none`). {minutes:.0f} minutes in all.", "",
        f"| representation | classes in batch 1 | {head} | s/cycle | "
        f"fit s |",
        "|---|---:|" + "---:|" * len(batches) + "---:|---:|"]
    for rep in reps:
        runs = results[rep]
        accs = [_mean([r["rows"][b - 1]["accuracy"] for r in runs],
                      scale=1.0) for b in batches]
        seconds = [np.mean([row["seconds"] for row in r["rows"]])
                   for r in runs]
        fit = [r["fit_seconds"] for r in runs]
        fit = "–" if None in fit else _mean(fit, 2)
        classes = _mean([r["first_classes"] for r in runs], 1)
        lines.append(f"| {rep} | {classes} | " + " | ".join(accs)
                     + f" | {_mean(seconds, 1)} | {fit} |")
    lines += ["", "Per seed (accuracy after each batch; s/cycle of each; "
                  "fit s; strategy of the last cycle):", "",
              "| representation | seed | accuracies | s/cycle "
              "(train + query) | fit s | strategy |",
              "|---|---:|---|---|---:|---|"]
    for rep in reps:
        for seed, r in zip(args.seeds, results[rep]):
            accs = " ".join(f"{row['accuracy']:.3f}" for row in r["rows"])
            times = " ".join(f"{row['seconds']:.1f} ({row['train']:.1f} + "
                             f"{row['query']:.1f})" for row in r["rows"])
            fit = "–" if r["fit_seconds"] is None else \
                f"{r['fit_seconds']:.2f}"
            lines.append(f"| {rep} | {seed} | {accs} | {times} | {fit} | "
                         f"{r['rows'][-1]['strategy']} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        args.representations, args.seeds, args.batches = "none,pixels", \
            [0], 2
        args.n_images = args.n_images or 300
    torch.set_num_threads(1)
    reps = [r.strip() for r in args.representations.split(",")]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        folder = Path(workdir) / "digits"
        truth = write_digits_folder(folder, n=args.n_images)
        _warm_up()
        results = {}
        for rep in reps:
            results[rep] = []
            for seed in args.seeds:
                r = run(folder, truth, rep, seed, args.batches, workdir)
                results[rep].append(r)
                print(f"{rep} seed {seed}: fit {r['fit_seconds'] or 0:.1f}s, "
                      f"accuracy " + " ".join(
                          f"{row['accuracy']:.3f}" for row in r["rows"])
                      + ", s/cycle " + " ".join(
                          f"{row['seconds']:.1f}" for row in r["rows"]),
                      flush=True)
    text = report(results, args, len(truth),
                  (time.perf_counter() - start) / 60)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
