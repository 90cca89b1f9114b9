"""The ``aalu-sk`` command: run, demo and report active-learning experiments.

Examples
--------
::

    aalu-sk run --dataset mnist5k --model small_cnn --strategies aalu,random \\
        --seeds 0 1 2 --initial 0.10 --step 0.05 --final 0.40 --out runs/mnist
    aalu-sk demo                 # digits, four strategies, about 2 CPU minutes
    aalu-sk report runs/mnist    # re-render summary.md and the plots
    aalu-sk label photos --classes cat,dog   # label a folder in the browser
    aalu-sk query --labeled labeled/ --pool unlabeled/ --n 100 \
        --out next.txt [--ray-address auto]   # ids of the next images

Output: one line per cycle and stage (with timings) on standard output,
progress bars on standard error only when it is a terminal (``--progress``
changes that), warnings and errors on standard error; ``--quiet`` keeps
only warnings and errors, ``-v`` adds task-model epochs and query details.
``aalu-sk demo > log.txt 2>&1`` writes a plain log.
"""

import argparse
import functools
import logging
import sys
import time
from pathlib import Path

from .. import __version__
from .._cliparser import Parser, did_you_mean, option_error
from .._logging import configure_cli_logging
from .._runtime import resolve_device
from ..experiment import (STRATEGIES, ConfigMismatchError, ExperimentConfig,
                         load_dataset, run_experiment, write_report)
from .label import LABEL_DEMO_DIR
from ..strategies.registry import check_strategy_name
from ..modules import TASK_MODULES

__all__ = ["main", "build_parser", "DEMO_CONFIG"]

log = logging.getLogger("aalu_sk.cli")

#: The configuration of ``aalu-sk demo``: the embedded digits, AALU
#: against the strongest baselines of the benchmarks (margin with
#: diversity, BADGE) and random, two seeds, 10% -> 40% of the 1347
#: training images; about 2 minutes of CPU time (measured single-threaded).
DEMO_CONFIG = ExperimentConfig(
    dataset="digits", strategies=("aalu", "margin+div", "badge", "random"),
    seeds=(0, 1), initial=0.10, step=0.05, final=0.40, model="small_cnn",
    epochs=15, batch_size=32, selector_epochs=10, selector_batch_size=128,
    vaal_channels=(32, 64), full_data=True)


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


def _number(kind, text):
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(
            f"expected {what}; got {text!r}") from None


def _positive_int(text):
    value = _number(int, text)
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer; got {value}")
    return value


def _seed(text):
    value = _number(int, text)
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"must be non-negative integers; got {value}")
    return value


def _positive_float(text):
    value = _number(float, text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0; got {text}")
    return value


def _budget(text):
    """A labeled-set size: a whole number of samples or a fraction."""
    try:
        value = int(text)
    except ValueError:
        value = _number(float, text)
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
        "auto" if text == "auto" else _positive_int(text)


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


def _device(text):
    try:
        resolve_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _add_common(parser, default_out=None):
    parser.add_argument("--out", required=default_out is None,
                        default=default_out, metavar="DIR",
                        help="output directory; re-running the same command "
                             "resumes from its checkpoint"
                             + (f" (default: {default_out})"
                                if default_out else ""))
    parser.add_argument("--device", type=_device, default=None,
                        help="auto, cpu, cuda or cuda:N (default: auto)")
    _add_output_options(parser)
    parser.add_argument("--progress", choices=("auto", "always", "never"),
                        default="auto",
                        help="progress bars on standard error: auto draws "
                             "them only on a terminal (default: auto)")


def _add_output_options(parser):
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="only warnings and errors: no progress bars, "
                             "cycle lines or tables")
    parser.add_argument("--verbose", "-v", action="count", default=0,
                        help="also log each task-model epoch and query")


def _add_run_arguments(run):
    d = ExperimentConfig()
    run.add_argument("--dataset", default=d.dataset,
                     help="digits, mnist5k, cifar10, cifar100, svhn or an "
                          "image folder (default: %(default)s)")
    run.add_argument("--strategies", type=_strategy_list,
                     default=d.strategies, metavar="A,B,...",
                     help=f"comma-separated, of {','.join(STRATEGIES)}; or "
                          f"'all' (default: {','.join(d.strategies)})")
    run.add_argument("--seeds", type=_seed, nargs="+", default=d.seeds,
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
    run.add_argument("--epochs", type=_positive_int, default=d.epochs,
                     help="task-model epochs per cycle (default: %(default)s)")
    run.add_argument("--batch-size", type=_positive_int,
                     default=d.batch_size,
                     help="task-model batch size (default: %(default)s)")
    run.add_argument("--lr", type=_positive_float, default=d.lr,
                     help="task-model learning rate (default: %(default)s)")
    run.add_argument("--augment", action="store_true",
                     help="random horizontal flips for the task model")
    run.add_argument("--selector-epochs", type=_positive_int,
                     default=d.selector_epochs,
                     help="AALU and VAAL training epochs (default: "
                          "%(default)s)")
    run.add_argument("--selector-batch-size", type=_positive_int,
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
    _add_common(run)


def build_parser():
    """The ``argparse`` parser of ``aalu-sk`` with its subcommands."""
    parser = Parser(
        prog="aalu-sk",
        description="Deep adversarial active learning with model uncertainty "
                    "(AALU, Zhu & Wang, ICIP 2020) and its baselines.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="COMMAND")
    run = commands.add_parser(
        "run", help="run or resume an active-learning experiment",
        description="Run the paper's protocol for each strategy and seed; "
                    "writes results.csv, summary.md, learning_curves.png, "
                    "query_time.png, config.json and checkpoint.json.")
    _add_run_arguments(run)
    run.set_defaults(func=_run)
    demo = commands.add_parser(
        "demo", help="a small comparison on the embedded digits data",
        description="AALU, margin sampling with diversity, BADGE and "
                    "random on the 8x8 digits (small CNN, 2 seeds, 10%% -> "
                    "40%% labeled); about 2 minutes of CPU time on one "
                    "core, longer on a busy machine.")
    _add_common(demo, default_out="runs/demo")
    demo.set_defaults(func=_demo)
    report = commands.add_parser(
        "report", help="re-render summary.md and plots of a results folder")
    report.add_argument("dir", metavar="DIR", help="output folder of a run")
    _add_output_options(report)
    report.set_defaults(func=_report)
    _add_label_arguments(commands)
    from .query import add_query_parser
    _add_output_options(add_query_parser(commands, _strategy_name, _device,
                                         _positive_int))
    return parser


def _class_list(text):
    from ..labeling import check_class_names

    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"give class names separated by commas, such as cat,dog; got "
            f"{text!r}")
    try:
        return check_class_names(names, "class names")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _share(text):
    value = _number(float, text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1]; got {text}")
    return value


def _audit_share(text):
    value = _number(float, text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1); got {text}")
    return value


def _strategy_name(text):
    try:
        return check_strategy_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _representation(text):
    from ..labeling.embedding import check_representation

    try:
        return check_representation(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text):
    value = _number(int, text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be in 0..65535 (0 picks a "
                                         f"free port); got {value}")
    return value


def _add_label_arguments(commands):
    label = commands.add_parser(
        "label", help="label a folder of images in your browser",
        description="Index IMAGE_DIR (PNG, JPEG, BMP, GIF, TIFF, WebP, "
                    "recursively), "
                    "start a local labeling app and print its URL with an "
                    "access token. A model retrains after each batch and "
                    "the strategy picks the next one. Labels live in a "
                    "SQLite store; running the same command again resumes.")
    label.add_argument("image_dir", nargs="?", metavar="IMAGE_DIR",
                       help="folder of images (not needed with --demo)")
    label.add_argument("--classes", type=_class_list, default=None,
                       metavar="A,B,...",
                       help="class names, comma-separated; new names are "
                            "added to a resumed store's classes")
    label.add_argument("--store", default=None, metavar="FILE",
                       help="SQLite store (default: "
                            "$XDG_DATA_HOME/aalu_sk/labeling/<folder>-<hash>"
                            ".sqlite, ~/.local/share when XDG_DATA_HOME is "
                            "unset; never inside IMAGE_DIR)")
    label.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: %(default)s; "
                            "0.0.0.0 exposes the app to your network)")
    label.add_argument("--port", type=_port, default=8765,
                       help="port (default: %(default)s; 0 picks a free one)")
    label.add_argument("--batch-size", type=_positive_int, default=20,
                       help="images per batch (default: %(default)s)")
    label.add_argument("--prefetch", type=_share, default=0.5,
                       metavar="SHARE",
                       help="start choosing the next batch when this share "
                            "of the current one is answered; 1 waits for "
                            "all of it (default: %(default)s)")
    label.add_argument("--random-share", type=_audit_share, default=0.1,
                       metavar="SHARE",
                       help="share of each batch drawn uniformly at random "
                            "and kept out of training, for an unbiased "
                            "accuracy estimate; 0 turns it off (default: "
                            "%(default)s)")
    label.add_argument("--strategy", type=_strategy_name, default="aalu",
                       metavar="NAME",
                       help=f"query strategy, of {','.join(STRATEGIES)}, "
                            f"optionally with +div or +topk (default: "
                            f"%(default)s)")
    label.add_argument("--representation", type=_representation,
                       default="pixels", metavar="NAME",
                       help="label-free embedding of the whole folder, "
                            "fitted once and cached beside the store (fitted "
                            "again when the folder's images change): the "
                            "first batch covers it and the model is a linear "
                            "head on it, retrained in about a second. pixels: "
                            "PCA of the pixels, under a second to fit; ssl: "
                            "SimCLR on the folder (the `ssl` extra), a minute "
                            "or more on a CPU the first time, the best model "
                            "on the demo digits; pretrained:SOURCE:MODEL: a "
                            "torchvision or timm backbone with local weights "
                            "(see --representation-weights); none: 8x8 "
                            "thumbnails for the first batch and --model "
                            "trained from scratch. Default: %(default)s, "
                            "the cheap one: on the demo digits its model was "
                            "right on 0.80 of the images after the first "
                            "batch, against 0.65 for none and 0.87 for ssl "
                            "(after a 55 s fit); see the labeling page of "
                            "the documentation")
    label.add_argument("--representation-weights", default=None,
                       metavar="FILE",
                       help="state-dict file (.pth, .pt, .safetensors) for "
                            "--representation pretrained:SOURCE:MODEL; by "
                            "default the weights of the local torch or "
                            "Hugging Face cache (nothing is downloaded)")
    label.add_argument("--model", choices=sorted(TASK_MODULES),
                       default="small_cnn",
                       help="task model with --representation none "
                            "(default: %(default)s)")
    label.add_argument("--image-size", type=_positive_int, default=32,
                       help="side images are resized to for the model "
                            "(default: %(default)s)")
    label.add_argument("--epochs", type=_positive_int, default=None,
                       help="task-model epochs per cycle (default: about "
                            "150 optimiser steps)")
    label.add_argument("--selector-epochs", type=_positive_int, default=20,
                       help="AALU and VAAL epochs (default: %(default)s)")
    label.add_argument("--device", type=_device, default="auto",
                       help="auto, cpu, cuda or cuda:N (default: auto)")
    label.add_argument("--seed", type=_seed, default=0,
                       help="seeds the cold start, models and strategy "
                            "(default: %(default)s)")
    label.add_argument("--follow-symlinks", action="store_true",
                       help="also index and serve files whose real path is "
                            "outside IMAGE_DIR (symbolic links); by default "
                            "they are listed as skipped")
    label.add_argument("--no-browser", action="store_true",
                       help="do not open a browser")
    label.add_argument("--demo", action="store_true",
                       help=f"write scikit-learn's digits as PNG files to "
                            f"{LABEL_DEMO_DIR / 'digits'} (once) and label "
                            f"them with classes 0-9; the store is "
                            f"{LABEL_DEMO_DIR / 'labels.sqlite'}")
    _add_output_options(label)
    label.set_defaults(func=_label)


@functools.lru_cache(maxsize=None)
def _subparser(command):
    return build_parser().subcommands()[command]


def _error(command, option, message):
    """A :class:`SystemExit` printing ``message`` about ``option``.

    The one way the subcommands refuse something after parsing (see
    :mod:`aalu_sk._cliparser`): the library's Python names in ``message``
    become the subcommand's options.
    """
    return option_error(_subparser(command), option, message)


def _execute(config, args):
    own = args.command == "run"  # demo's data and schedule are fixed
    try:
        config.validate()
    except ValueError as exc:
        raise _error(args.command, None, exc) from None
    start = time.perf_counter()
    try:
        dataset = load_dataset(config.dataset, data_dir=config.data_dir,
                               download=config.download)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        raise _error(args.command, "--dataset" if own else None, exc) \
            from None
    log.info("dataset %s: %d training and %d test images of shape %s, %d "
             "classes, loaded in %.1fs", config.dataset, len(dataset.y_train),
             len(dataset.y_test), tuple(dataset.X_train.shape[1:]),
             dataset.n_classes, time.perf_counter() - start)
    try:
        config.label_schedule(len(dataset.y_train))
    except ValueError as exc:
        raise _error(args.command, "--initial/--step" if own else None,
                     exc) from None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise _error(args.command, "--out", f"{out} exists and is not a "
                                            f"directory")
    progress = False if args.quiet else \
        {"auto": None, "always": True, "never": False}[args.progress]
    try:
        run_experiment(config, args.out, progress=progress, dataset=dataset,
                       query=_ray_query(args))
    except ConfigMismatchError as exc:
        raise _error(args.command, "--out", exc) from None
    except OSError as exc:
        raise _error(args.command, "--out", f"cannot write the results: "
                                            f"{exc}") from None
    except KeyboardInterrupt:
        log.warning("aalu-sk %s: interrupted; run the same command again to "
                    "resume from %s", args.command, out / "checkpoint.json")
        raise SystemExit(130) from None
    _show(args.out, args.quiet)
    return 0


def _ray_query(args):
    """The runner's query on the Ray cluster of ``--ray-address``, or None."""
    address = getattr(args, "ray_address", None)
    if not address:
        return None
    from ..distributed import ray_query
    from ..distributed._ray import import_ray

    try:
        ray = import_ray()
    except ImportError as exc:
        raise _error(args.command, "--ray-address", exc) from None
    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address)
    return ray_query()


def _show(out, quiet, render=False):
    paths = write_report(out) if render else {
        key: Path(out) / name for key, name in (
            ("summary", "summary.md"), ("learning_curves",
                                        "learning_curves.png"),
            ("query_time", "query_time.png"))}
    if not quiet:
        print(paths["summary"].read_text())
        for key in ("summary", "learning_curves", "query_time"):
            print(f"{key.replace('_', ' ')}: {paths[key]}")


def _run(args):
    kinds = {type(v) for v in (args.initial, args.step, args.final)}
    if len(kinds) > 1:
        raise _error("run", "--initial/--step/--final",
                     f"give all three as fractions or all three as numbers "
                     f"of samples; got --initial {args.initial} --step "
                     f"{args.step} --final {args.final}")
    if not args.initial < args.final:
        raise _error("run", "--initial", f"must be below --final; got "
                                         f"--initial {args.initial} and "
                                         f"--final {args.final}")
    if len(set(args.seeds)) < len(args.seeds):
        raise _error("run", "--seeds", f"must be distinct; got "
                                       f"{' '.join(map(str, args.seeds))}")
    config = ExperimentConfig(
        dataset=args.dataset, strategies=args.strategies,
        seeds=tuple(args.seeds), initial=args.initial, step=args.step,
        final=args.final, model=args.model, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, augment=args.augment,
        selector_epochs=args.selector_epochs,
        selector_batch_size=args.selector_batch_size,
        selector_max_steps=args.selector_max_steps,
        vaal_channels=args.vaal_channels, device=args.device or "auto",
        full_data=args.full_data, data_dir=args.data_dir,
        download=args.download)
    return _execute(config, args)


def _demo(args):
    config = ExperimentConfig.from_dict(
        {**DEMO_CONFIG.to_dict(), "device": args.device or "auto"})
    return _execute(config, args)


def _report(args):
    try:
        _show(args.dir, args.quiet, render=True)
    except FileNotFoundError as exc:
        raise _error("report", "DIR", exc) from None
    return 0


def _label(args):
    # Imported here: the labeling app is an optional part (`label` extra).
    from .label import run_label

    return run_label(args, lambda option, message: _error("label", option,
                                                          message))


def main(argv=None):
    """Entry point of ``aalu-sk``; ``argv`` defaults to ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success. Errors exit through :class:`SystemExit` with a
        message naming the option: status 2 for an option argparse
        refuses, 1 for a refused combination, dataset or output folder,
        130 when interrupted (the run resumes when repeated).
    """
    args = build_parser().parse_args(argv)
    configure_cli_logging(args.verbose, args.quiet)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
