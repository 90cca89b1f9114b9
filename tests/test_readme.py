"""The README's quickstart runs as printed, on a fresh interpreter."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
LINE = re.compile(r"^\S+ \S+  (start|cycle (\d)): (\d+) labeled, test "
                  r"accuracy (\d\.\d{3})", re.M)


def quickstart_code():
    """The first ``python`` code block under the README's Quickstart."""
    text = README.read_text()
    section = text[text.index("## Quickstart"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "the README's Quickstart has no python code block"
    return blocks[0]


def test_quickstart_is_self_contained():
    code = quickstart_code()
    # Everything the loop uses is defined in the snippet itself.
    for name in ("X_init", "y_init", "X_pool", "y_pool", "X_test"):
        assert re.search(rf"^{name}\b.*=|\b{name}, .*=|, {name}\b.*=", code,
                         re.M), name
    assert "np.delete(X_pool, query_idx" in code  # the pool shrinks
    assert "examples/plot_quickstart.py" in README.read_text()


@pytest.mark.slow
def test_quickstart_runs_and_logs_each_cycle(tmp_path):
    script = tmp_path / "quickstart.py"
    script.write_text(quickstart_code())
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(README.parent)}
    # Redirected output, as in a log file or CI: a line per cycle anyway.
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                          env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = LINE.findall(done.stdout + done.stderr)
    assert [line[0] for line in lines] == ["start", "cycle 1", "cycle 2",
                                           "cycle 3"]
    assert [int(line[2]) for line in lines] == [100, 150, 200, 250]
    accuracies = [float(line[3]) for line in lines]
    assert accuracies[-1] > accuracies[0] and accuracies[-1] > 0.9
