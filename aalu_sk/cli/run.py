"""``aalu-sk run``: run or resume an active-learning experiment.

:func:`execute` is the part ``aalu-sk demo`` shares: validate the
configuration, load the dataset, run (or resume) in ``--out``, print the
summary.
"""

import argparse
import importlib.util
import logging
import time
from pathlib import Path

from .._cliparser import did_you_mean
from ..experiment import (STRATEGIES, ConfigMismatchError, ExperimentConfig,
                          load_dataset, run_experiment)
from ..experiment.runner import HEAD_SETTINGS
from ..modules import TASK_MODULES
from ..strategies.registry import check_strategy_name
from ._options import (add_common, fail, non_negative_int, number,
                       positive_float, positive_int, seed, start_ray)
from .report import show

__all__ = ["add_run_parser", "run_run", "execute"]

log = logging.getLogger("aalu_sk.cli")


def _strategy_list(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return tuple(STRATEGIES)
    unknown = []
    for name in names:
        try:
            check_strategy_name(name)
        except ValueError:
            unknown.append(name)
    if unknown or not names:
        hints = "".join(did_you_mean(name, STRATEGIES) for name in unknown)
        raise argparse.ArgumentTypeError(
            f"unknown strategies {unknown or text!r}; choose from "
            f"{','.join(STRATEGIES)} (comma-separated; +div or +topk after "
            f"a name sets its batch rule) or 'all'{hints}")
    return tuple(names)


def _budget(text):
    """A labeled-set size: a whole number of samples or a fraction."""
    try:
        value = int(text)
    except ValueError:
        value = number(float, text)
        if not 0 < value <= 1:
            raise argparse.ArgumentTypeError(
                f"must be a fraction of the training set in (0, 1] or a "
                f"whole number of samples; got {text}") from None
        return value
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a fraction of the training set in (0, 1] or a whole "
            f"number of samples; got {text}")
    return value


def _steps(text):
    return None if text == "none" else \
        "auto" if text == "auto" else positive_int(text)


def _int_list(text):
    try:
        values = tuple(int(c) for c in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 32,64; got "
            f"{text!r}") from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"channel widths must be positive; got {text!r}")
    return values


def add_run_parser(commands):
    """Add the ``run`` subcommand to ``aalu-sk``'s subparsers."""
    run = commands.add_parser(
        "run", help="run or resume an active-learning experiment",
        description="Run the paper's protocol for each strategy and seed; "
                    "writes results.csv, summary.md, learning_curves.png, "
                    "query_time.png, config.json and checkpoint.json.")
    d = ExperimentConfig()
    run.add_argument("--dataset", default=d.dataset,
                     help="digits, mnist5k, cifar10, cifar100, svhn or an "
                          "image folder (default: %(default)s)")
    run.add_argument("--strategies", type=_strategy_list,
                     default=d.strategies, metavar="A,B,...",
                     help=f"comma-separated, of {','.join(STRATEGIES)}; or "
                          f"'all' (default: {','.join(d.strategies)})")
    run.add_argument("--seeds", type=seed, nargs="+", default=d.seeds,
                     metavar="SEED", help="distinct non-negative integers "
                                          "(default: 0 1 2)")
    for name, kind, help_ in (
            ("initial", _budget, "first labeled set: a fraction in (0, 1) "
                                 "or, with --step and --final, a number "
                                 "of samples"),
            ("step", _budget, "fraction (or number of samples) added per "
                              "cycle"),
            ("final", _budget, "last labeled fraction (or number), above "
                               "--initial")):
        run.add_argument(f"--{name}", type=kind, default=getattr(d, name),
                         help=f"{help_} (default: %(default)s)")
    run.add_argument("--model", choices=sorted(TASK_MODULES),
                     default=d.model, help="task model (default: %(default)s)")
    head = HEAD_SETTINGS
    run.add_argument("--epochs", type=positive_int, default=None,
                     help=f"task-model epochs per cycle (default: "
                          f"{d.epochs}; {head['epochs']} with "
                          f"--representation)")
    run.add_argument("--batch-size", type=positive_int, default=None,
                     help=f"task-model batch size (default: {d.batch_size}; "
                          f"{head['batch_size']} with --representation)")
    run.add_argument("--lr", type=positive_float, default=None,
                     help=f"task-model learning rate (default: {d.lr}; "
                          f"{head['lr']} with --representation)")
    run.add_argument("--augment", action="store_true",
                     help="random horizontal flips for the task model")
    run.add_argument("--selector-epochs", type=positive_int,
                     default=d.selector_epochs,
                     help="AALU and VAAL training epochs (default: "
                          "%(default)s)")
    run.add_argument("--selector-batch-size", type=positive_int,
                     default=d.selector_batch_size,
                     help="AALU and VAAL batch size (default: %(default)s)")
    run.add_argument("--selector-max-steps", type=_steps,
                     default=d.selector_max_steps, metavar="N|none|auto",
                     help="AALU and VAAL step budget: a number, 'none' "
                          "(full epochs) or 'auto' (each strategy's "
                          "default; default: %(default)s)")
    run.add_argument("--vaal-channels", type=_int_list,
                     default=d.vaal_channels, metavar="C1,C2,...",
                     help="VAAL encoder widths (default: "
                          f"{','.join(map(str, d.vaal_channels))})")
    run.add_argument("--representation", choices=("none", "pixels", "ssl"),
                     default="none",
                     help="task model: none trains --model from scratch on "
                          "the images; ssl a linear head on a "
                          "self-supervised embedding (SimCLR on the training "
                          "images, no labels; needs aalu_sk[ssl]), pixels "
                          "one on their PCA; fit once and saved in --out "
                          "(default: %(default)s)")
    run.add_argument("--stop-set", type=non_negative_int, default=d.stop_set,
                     metavar="N",
                     help="record each cycle's agreement with the previous "
                          "model on N fixed training images (the labeling "
                          "app's stopping signal; 0: off; default: "
                          "%(default)s)")
    run.add_argument("--data-dir", default=None,
                     help="folder of the torchvision datasets")
    run.add_argument("--download", action="store_true",
                     help="let torchvision download a missing dataset")
    run.add_argument("--full-data", action="store_true",
                     help="also train on the whole training set once and "
                          "draw it as a reference line")
    run.add_argument("--ray-address", metavar="ADDRESS",
                     help="score each query's pool on this Ray cluster "
                          "('auto', 'ray://host:10001', or 'local'); same "
                          "results as without")
    add_common(run)
    run.set_defaults(func=run_run)
    return run


def execute(config, args):
    """Run ``config`` for ``aalu-sk run`` or ``demo``; the exit status.

    ``args`` gives the subcommand and its ``--out``, ``--progress``,
    ``--quiet`` and ``--ray-address`` (``run`` only).
    """
    own = args.command == "run"  # demo's data and schedule are fixed
    try:
        config.validate()
    except ValueError as exc:
        raise fail(args.command, None, exc) from None
    start = time.perf_counter()
    try:
        dataset = load_dataset(config.dataset, data_dir=config.data_dir,
                               download=config.download)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        raise fail(args.command, "--dataset" if own else None, exc) \
            from None
    log.info("dataset %s: %d training and %d test images of shape %s, %d "
             "classes, loaded in %.1fs", config.dataset, len(dataset.y_train),
             len(dataset.y_test), tuple(dataset.X_train.shape[1:]),
             dataset.n_classes, time.perf_counter() - start)
    try:
        config.label_schedule(len(dataset.y_train))
    except ValueError as exc:
        raise fail(args.command, "--initial/--step" if own else None,
                   exc) from None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise fail(args.command, "--out", f"{out} exists and is not a "
                                          f"directory")
    progress = False if args.quiet else \
        {"auto": None, "always": True, "never": False}[args.progress]
    try:
        run_experiment(config, args.out, progress=progress, dataset=dataset,
                       query=_ray_query(args))
    except ConfigMismatchError as exc:
        raise fail(args.command, "--out", exc) from None
    except OSError as exc:
        raise fail(args.command, "--out", f"cannot write the results: "
                                          f"{exc}") from None
    except KeyboardInterrupt:
        log.warning("aalu-sk %s: interrupted; run the same command again to "
                    "resume from %s", args.command, out / "checkpoint.json")
        raise SystemExit(130) from None
    show(args.out, args.quiet)
    return 0


def _ray_query(args):
    """The runner's query on the Ray cluster of ``--ray-address``, or None."""
    address = getattr(args, "ray_address", None)
    if not address:
        return None
    from ..distributed import ray_query

    start_ray(args.command, address, args.quiet)
    return ray_query()


def run_run(args):
    """Run ``aalu-sk run`` with parsed ``args``; return the exit status."""
    kinds = {type(v) for v in (args.initial, args.step, args.final)}
    if len(kinds) > 1:
        raise fail("run", "--initial/--step/--final",
                   f"give all three as fractions or all three as numbers "
                   f"of samples; got --initial {args.initial} --step "
                   f"{args.step} --final {args.final}")
    if not args.initial < args.final:
        raise fail("run", "--initial", f"must be below --final; got "
                                       f"--initial {args.initial} and "
                                       f"--final {args.final}")
    if len(set(args.seeds)) < len(args.seeds):
        raise fail("run", "--seeds", f"must be distinct; got "
                                     f"{' '.join(map(str, args.seeds))}")
    representation = None if args.representation == "none" \
        else args.representation
    training = HEAD_SETTINGS if representation else {
        k: getattr(ExperimentConfig, k) for k in HEAD_SETTINGS}
    training = {k: training[k] if getattr(args, k) is None
                else getattr(args, k) for k in training}
    config = ExperimentConfig(
        dataset=args.dataset, strategies=args.strategies,
        seeds=tuple(args.seeds), initial=args.initial, step=args.step,
        final=args.final, model=args.model, **training, augment=args.augment,
        selector_epochs=args.selector_epochs,
        selector_batch_size=args.selector_batch_size,
        selector_max_steps=args.selector_max_steps,
        vaal_channels=args.vaal_channels, device=args.device or "auto",
        full_data=args.full_data, data_dir=args.data_dir,
        download=args.download, stop_set=args.stop_set,
        representation=representation)
    if config.representation == "ssl" and \
            importlib.util.find_spec("lightly") is None:
        raise fail("run", "--representation",
                   "ssl needs lightly, which is not installed: pip install "
                   "'aalu_sk[ssl]'")
    return execute(config, args)
