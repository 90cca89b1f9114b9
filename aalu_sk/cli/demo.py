"""``aalu-sk demo``: a small comparison on the embedded digits data."""

from ..experiment import ExperimentConfig
from ._options import add_common
from .run import execute

__all__ = ["add_demo_parser", "run_demo", "DEMO_CONFIG"]

#: The configuration of ``aalu-sk demo``, documented (and re-exported) as
#: ``aalu_sk.cli.DEMO_CONFIG``.
DEMO_CONFIG = ExperimentConfig(
    dataset="digits", strategies=("aalu", "margin+div", "badge", "random"),
    seeds=(0, 1), initial=0.10, step=0.05, final=0.40, model="small_cnn",
    epochs=15, batch_size=32, selector_epochs=10, selector_batch_size=128,
    vaal_channels=(32, 64), full_data=True)


def add_demo_parser(commands):
    """Add the ``demo`` subcommand to ``aalu-sk``'s subparsers."""
    demo = commands.add_parser(
        "demo", help="a small comparison on the embedded digits data",
        description="AALU, margin sampling with diversity, BADGE and "
                    "random on the 8x8 digits (small CNN, 2 seeds, 10%% -> "
                    "40%% labeled); about 2 minutes of CPU time on one "
                    "core, longer on a busy machine.")
    add_common(demo, default_out="runs/demo")
    demo.set_defaults(func=run_demo)
    return demo


def run_demo(args):
    """Run ``aalu-sk demo`` with parsed ``args``; return the exit status."""
    config = ExperimentConfig.from_dict(
        {**DEMO_CONFIG.to_dict(), "device": args.device or "auto"})
    return execute(config, args)
