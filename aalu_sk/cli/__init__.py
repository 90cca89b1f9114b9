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

import sys

from .. import __version__
from .._cliparser import Parser
from .._logging import configure_cli_logging
from . import demo as _demo
from .demo import add_demo_parser
from .label import add_label_parser
from .query import add_query_parser
from .report import add_report_parser
from .run import add_run_parser

__all__ = ["main", "build_parser", "DEMO_CONFIG"]

#: The configuration of ``aalu-sk demo``: the embedded digits, AALU
#: against the strongest baselines of the benchmarks (margin with
#: diversity, BADGE) and random, two seeds, 10% -> 40% of the 1347
#: training images; about 2 minutes of CPU time (measured single-threaded).
DEMO_CONFIG = _demo.DEMO_CONFIG


def build_parser():
    """The ``argparse`` parser of ``aalu-sk`` with its subcommands.

    Each subcommand's module (``aalu_sk/cli/run.py``, ``demo.py``,
    ``report.py``, ``label.py``, ``query.py``) adds its subparser, whose
    ``func`` runs it.
    """
    parser = Parser(
        prog="aalu-sk",
        description="Deep adversarial active learning with model uncertainty "
                    "(AALU, Zhu & Wang, ICIP 2020) and its baselines.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="COMMAND")
    for add in (add_run_parser, add_demo_parser, add_report_parser,
                add_label_parser, add_query_parser):
        add(commands)
    return parser


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
