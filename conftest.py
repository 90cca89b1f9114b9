"""What pytest collects besides tests/: the package's docstring examples.

pyproject.toml's ``[tool.pytest.ini_options]`` has ``pytest`` (and so
``make test``) collect ``tests/`` and, with ``--doctest-modules``, the
examples in the docstrings of every module of ``aalu_sk/``. Left out: the
alias modules kept for the first release's paths (aalu_sk._deprecation's
``MOVED``). Importing one emits a FutureWarning, which is what they are
for; they hold no examples, and tests/test_deprecation.py imports each
afresh to check that warning.
"""

import logging
from pathlib import Path

import pytest

from aalu_sk._deprecation import MOVED

collect_ignore = [str(Path(*old.split(".")).with_suffix(".py"))
                  for old in MOVED]


@pytest.fixture(autouse=True)
def _aalu_sk_logging_as_imported():
    """Every test and example starts with the ``aalu_sk`` logger as imported.

    An in-process ``aalu-sk`` call (``configure_cli_logging``) adds a
    handler that prints to standard output at its level; left there, the
    log lines of later code land in the output a doctest compares.
    """
    logger = logging.getLogger("aalu_sk")
    handlers, level = list(logger.handlers), logger.level
    yield
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)
