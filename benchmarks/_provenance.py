"""One line saying when, where and how a benchmark table was measured."""

import os
import platform
import shlex
import sys
from datetime import date


def provenance(argv=None):
    """``Measured <date> on <machine> ... with `python <script> <args>`.``"""
    import torch

    argv = sys.argv if argv is None else argv
    script = os.path.relpath(argv[0]) if argv else "?"
    command = " ".join(["python", script] + [shlex.quote(a) for a in argv[1:]])
    device = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
              else "no GPU")
    return (f"Measured {date.today().isoformat()} on {platform.machine()} "
            f"({os.cpu_count()} CPU cores, {torch.get_num_threads()} torch "
            f"threads, {device}; Python {platform.python_version()}, torch "
            f"{torch.__version__}), in one run of `{command}`.")
