"""``aalu-sk report``: re-render summary.md and the plots of a results folder.

:func:`show` also prints what ``aalu-sk run`` and ``aalu-sk demo`` wrote.
"""

from pathlib import Path

from ..experiment import write_report
from ._options import add_output_options, fail

__all__ = ["add_report_parser", "run_report", "show"]


def add_report_parser(commands):
    """Add the ``report`` subcommand to ``aalu-sk``'s subparsers."""
    report = commands.add_parser(
        "report", help="re-render summary.md and plots of a results folder")
    report.add_argument("dir", metavar="DIR", help="output folder of a run")
    add_output_options(report)
    report.set_defaults(func=run_report)
    return report


def show(out, quiet, render=False):
    """Print the summary of the results folder ``out`` and its files' paths.

    ``render`` writes the summary and the plots again first
    (:func:`aalu_sk.experiment.write_report`); ``quiet`` prints nothing.
    """
    paths = write_report(out) if render else {
        key: Path(out) / name for key, name in (
            ("summary", "summary.md"), ("learning_curves",
                                        "learning_curves.png"),
            ("query_time", "query_time.png"))}
    if not quiet:
        print(paths["summary"].read_text())
        for key in ("summary", "learning_curves", "query_time"):
            print(f"{key.replace('_', ' ')}: {paths[key]}")


def run_report(args):
    """Run ``aalu-sk report`` with parsed ``args``; return the exit status."""
    try:
        show(args.dir, args.quiet, render=True)
    except FileNotFoundError as exc:
        raise fail("report", "DIR", exc) from None
    return 0
