"""Very low budgets on digits: TypiClust and ProbCover against random.

A probe, not a test. From zero labels, each method picks 10 digits per
cycle up to 100 (1797 digits: a pool of 1297 and a fixed test set of
500, both drawn by the seed). After each cycle a logistic regression on
the raw pixels is fit on the labels so far and scored on the test set;
the table reports the area under the learning curve (AULC: the mean
test accuracy over the 10 cycles) and the accuracy at 10, 30 and 100
labels, mean and standard deviation over the seeds.

Methods: aalu_sk's ``TypiClustSampler`` and ``ProbCoverSampler`` on
their default view (``PixelPCA``, L2-normalised), the same on the raw
pixels (``FunctionTransformer``), ProbCover with a fixed ``delta=0.8``
instead of the purity heuristic's, scikit-activeml 1.0.1's ``TypiClust``
and ``ProbCover`` (their defaults, with ``n_classes=10``) on the same
normalised PixelPCA embedding, and random sampling.

Writes ``benchmarks/results/lowbudget.md``.

Usage::

    python benchmarks/bench_lowbudget.py            # ~3 min on one core
    python benchmarks/bench_lowbudget.py --quick    # one seed, 3 cycles
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer

from _provenance import provenance
from aalu_sk import ProbCoverSampler, RandomSampler, TypiClustSampler
from aalu_sk.representation import PixelPCA
from aalu_sk.strategies.coverage import l2_normalize

ROOT = Path(__file__).resolve().parents[1]


class _Skactiveml:
    """scikit-activeml's strategy on a fixed embedding of the whole data."""

    def __init__(self, make):
        self.make = make

    def pick(self, emb, labeled, n, seed):
        y = np.full(len(emb), np.nan)
        y[labeled] = 0.0  # only "labeled or not" matters to these two
        qs = self.make(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return qs.query(emb, y, batch_size=n)


def methods(whiten):
    from skactiveml.pool import ProbCover, TypiClust

    raw = FunctionTransformer()
    view = PixelPCA(whiten=whiten)
    return {
        "random": lambda s: RandomSampler(random_state=s),
        "typiclust": lambda s: TypiClustSampler(representation=view,
                                                random_state=s),
        "typiclust (raw pixels)": lambda s: TypiClustSampler(
            representation=raw, random_state=s),
        "probcover": lambda s: ProbCoverSampler(representation=view,
                                                n_classes=10, random_state=s),
        "probcover (raw pixels)": lambda s: ProbCoverSampler(
            representation=raw, n_classes=10, random_state=s),
        "probcover (delta=0.8)": lambda s: ProbCoverSampler(
            representation=view, delta=0.8, random_state=s),
        "skactiveml TypiClust": _Skactiveml(
            lambda s: TypiClust(random_state=s)),
        "skactiveml ProbCover": _Skactiveml(
            lambda s: ProbCover(n_classes=10, random_state=s)),
    }


def run(make, X, y, seed, cycles, step, whiten):
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(X))
    test, pool = order[:500], order[500:]
    Xp, yp = X[pool], y[pool]
    emb = l2_normalize(PixelPCA(whiten=whiten, random_state=seed)
                       .fit_transform(Xp))
    labeled, accs, secs = [], [], 0.0
    for _ in range(cycles):
        start = time.perf_counter()
        if isinstance(make, _Skactiveml):
            new = make.pick(emb, labeled, step, seed)
        else:
            rest = np.setdiff1d(np.arange(len(pool)), labeled)
            qs = make(seed)
            idx = qs.query(Xp[labeled], yp[labeled], Xp[rest], None, step)
            new = rest[idx]
        secs += time.perf_counter() - start
        labeled = list(labeled) + [int(i) for i in new]
        assert len(set(labeled)) == len(labeled)
        clf = LogisticRegression(max_iter=2000)
        if len(np.unique(yp[labeled])) > 1:
            clf.fit(Xp[labeled], yp[labeled])
            accs.append(clf.score(X[test], y[test]))
        else:
            accs.append(np.mean(y[test] == yp[labeled][0]))
    return np.array(accs), secs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--step", type=int, default=10)
    parser.add_argument("--whiten", action="store_true",
                        help="PixelPCA(whiten=True) for every PCA view")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=ROOT / "benchmarks" / "results" /
                        "lowbudget.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.cycles = args.seeds[:1], 3
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    points = sorted({min(c, args.cycles) for c in (1, 3, 10)})
    rows = []
    for name, make in methods(args.whiten).items():
        curves, secs = zip(*(run(make, X, y, s, args.cycles, args.step,
                                 args.whiten) for s in args.seeds))
        curves = np.array(curves)
        aulc = curves.mean(axis=1)
        at = [curves[:, c - 1] for c in points]
        rows.append(
            f"| {name} | {100 * aulc.mean():.1f} ± {100 * aulc.std():.1f} | "
            + " | ".join(f"{100 * a.mean():.1f}" for a in at)
            + f" | {np.mean(secs):.1f} |")
        print(rows[-1], flush=True)
    labels = [args.step * c for c in points]
    text = "\n".join([
        "# Very low budgets on digits",
        "",
        provenance(),
        "",
        f"Zero labels to {args.step * args.cycles} in steps of {args.step}; "
        f"logistic regression on raw pixels; seeds {args.seeds}; "
        f"PixelPCA whiten={args.whiten}. AULC: mean test accuracy (%) over "
        f"the cycles.",
        "",
        "| method | AULC | " + " | ".join(f"acc@{n}" for n in labels)
        + " | query s/run |",
        "|---|---|" + "---|" * len(labels) + "---|",
        *rows, ""])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
