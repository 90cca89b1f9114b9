"""What the subcommands of ``aalu-sk`` share: option types, options, errors.

The ``type=`` functions here turn an option's text into its value or
raise :class:`argparse.ArgumentTypeError`, which :class:`~aalu_sk.
_cliparser.Parser` reports with the subcommand's usage (exit status 2).
What is refused after parsing goes through :func:`fail`, that is
:func:`aalu_sk._cliparser.option_error` with the subcommand's parser
(exit status 1).
"""

import argparse
import functools

from .._cliparser import option_error
from .._runtime import resolve_device
from ..strategies.registry import check_strategy_name

__all__ = ["number", "option_type", "positive_int", "non_negative_int",
           "seed", "port",
           "positive_float", "share", "device", "strategy_name",
           "representation_name", "representation_with_weights",
           "add_output_options", "add_common", "fail", "start_ray"]


def number(kind, text):
    """``kind(text)`` (``int`` or ``float``), refused in the user's terms."""
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(
            f"expected {what}; got {text!r}") from None


def option_type(check):
    """An option type from ``check(text) -> value``, which raises ValueError.

    The library's checks refuse bad values with :class:`ValueError`; as a
    ``type=`` function the same message becomes the option's error.
    """
    @functools.wraps(check)
    def parse(text):
        try:
            return check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _int_at_least(low, what, text, high=None):
    value = number(int, text)
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"must be {what}; got {value}")
    return value


def positive_int(text):
    """An integer of at least 1."""
    return _int_at_least(1, "a positive integer", text)


def non_negative_int(text):
    """An integer of at least 0 (a count that may be zero)."""
    return _int_at_least(0, "a non-negative integer", text)


def seed(text):
    """An integer of at least 0 (a random seed)."""
    return _int_at_least(0, "non-negative integers", text)


def port(text):
    """A TCP port, 0 to 65535 (0: the system picks a free one)."""
    return _int_at_least(0, "in 0..65535 (0 picks a free port)", text,
                         high=65535)


def positive_float(text):
    """A number above 0."""
    value = number(float, text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0; got {text}")
    return value


def share(text, zero=False, one=True):
    """A share in (0, 1]; ``zero`` admits 0 and ``one=False`` refuses 1."""
    value = number(float, text)
    low, high = ("[0" if zero else "(0"), ("1]" if one else "1)")
    if not ((0 <= value if zero else 0 < value)
            and (value <= 1 if one else value < 1)):
        raise argparse.ArgumentTypeError(
            f"must be in {low}, {high}; got {text}")
    return value


@option_type
def device(text):
    """A torch device as :func:`aalu_sk._runtime.resolve_device` takes it."""
    resolve_device(text)
    return text


#: A registered strategy name, optionally with ``+div`` or ``+topk``.
strategy_name = option_type(check_strategy_name)


@option_type
def representation_name(text):
    """A label-free representation by name (``none``, ``pixels``, ``ssl``,
    ``pretrained:SOURCE:MODEL``), as ``aalu-sk label`` and ``query`` take."""
    from ..labeling.embedding import check_representation

    return check_representation(text)


def representation_with_weights(command, name, weights, device):
    """``--representation`` with ``--representation-weights`` applied.

    The name as it is without weights; with them, a
    :class:`~aalu_sk.representation.PretrainedEmbedding` reading that file
    (refused, naming ``--representation-weights``, for another name).
    """
    if weights is None:
        return name
    if not name.startswith("pretrained:"):
        raise fail(command, "--representation-weights",
                   f"only for --representation pretrained:SOURCE:MODEL, not "
                   f"{name!r}")
    from ..representation import PretrainedEmbedding

    return PretrainedEmbedding(name.partition(":")[2], weights=weights,
                               device=device)


def add_output_options(parser):
    """``--quiet`` and ``--verbose``, which every subcommand takes."""
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="only warnings and errors: no progress bars, "
                             "cycle lines or tables")
    parser.add_argument("--verbose", "-v", action="count", default=0,
                        help="also log each task-model epoch and query")


def add_common(parser, default_out=None):
    """The options of the experiment subcommands (``run`` and ``demo``)."""
    parser.add_argument("--out", required=default_out is None,
                        default=default_out, metavar="DIR",
                        help="output directory; re-running the same command "
                             "resumes from its checkpoint"
                             + (f" (default: {default_out})"
                                if default_out else ""))
    parser.add_argument("--device", type=device, default=None,
                        help="auto, cpu, cuda or cuda:N (default: auto)")
    add_output_options(parser)
    parser.add_argument("--progress", choices=("auto", "always", "never"),
                        default="auto",
                        help="progress bars on standard error: auto draws "
                             "them only on a terminal (default: auto)")


@functools.lru_cache(maxsize=None)
def _subparser(command):
    from . import build_parser

    return build_parser().subcommands()[command]


def fail(command, option, message):
    """The :class:`SystemExit` refusing ``option`` of ``aalu-sk command``.

    The one way the subcommands refuse something after parsing:
    :func:`aalu_sk._cliparser.option_error` with the subcommand's parser,
    so the library's Python names in ``message`` become its options.
    """
    return option_error(_subparser(command), option, message)


def start_ray(command, address, quiet=False):
    """Ray, connected to the cluster of ``--ray-address`` (``local``: a new one).

    Refuses, naming ``--ray-address``, when Ray is not installed or the
    cluster cannot be reached. With ``--quiet`` Ray keeps its INFO lines,
    its workers' output, its progress bars and Ray Data's performance
    hints (WARNING lines; its errors still raise) to itself.
    """
    import logging

    from ..distributed._ray import import_ray

    try:
        ray = import_ray()
    except ImportError as exc:
        raise fail(command, "--ray-address", exc) from None
    if not ray.is_initialized():
        quiet_kw = dict(logging_level=logging.WARNING,
                        log_to_driver=False) if quiet else {}
        try:
            ray.init(address=None if address == "local" else address,
                     **quiet_kw)
        except (ConnectionError, TimeoutError, ValueError,
                RuntimeError) as exc:
            raise fail(command, "--ray-address",
                       f"cannot connect to the Ray cluster at {address!r} "
                       f"({type(exc).__name__}: {exc})") from None
    if quiet:
        ray.data.DataContext.get_current().enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
    return ray
