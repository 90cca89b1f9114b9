"""Run every gallery example as a plain script.

The documentation build (``make docs``) already executes the gallery, so
these tests are skipped unless ``AALU_SK_RUN_EXAMPLES=1`` is set; use them
to check an example without building the site::

    AALU_SK_RUN_EXAMPLES=1 python -m pytest tests/test_examples.py -k quickstart
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("AALU_SK_RUN_EXAMPLES") != "1",
                       reason="the docs build runs the examples; set "
                              "AALU_SK_RUN_EXAMPLES=1 to run them here"),
]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               PYTHONWARNINGS="ignore::FutureWarning")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(path)], cwd=tmp_path,
                            env=env, capture_output=True, text=True,
                            timeout=600)
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), f"{path.name} printed nothing"
    # Written into a temporary working directory, nothing may be left
    # behind: examples clean up after themselves.
    assert list(tmp_path.iterdir()) == []
    print(f"{path.name}: {seconds:.1f} s")
