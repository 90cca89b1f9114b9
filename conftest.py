"""What pytest collects besides tests/: the package's docstring examples.

pyproject.toml's ``[tool.pytest.ini_options]`` has ``pytest`` (and so
``make test``) collect ``tests/`` and, with ``--doctest-modules``, the
examples in the docstrings of every module of ``aalu_sk/``. Left out: the
alias modules kept for the first release's paths (aalu_sk._deprecation's
``MOVED``). Importing one emits a FutureWarning, which is what they are
for; they hold no examples, and tests/test_deprecation.py imports each
afresh to check that warning.
"""

from pathlib import Path

from aalu_sk._deprecation import MOVED

collect_ignore = [str(Path(*old.split(".")).with_suffix(".py"))
                  for old in MOVED]
