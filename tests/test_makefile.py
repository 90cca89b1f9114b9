"""The Makefile on a fresh clone: `make demo` installs no extras, `make test` does."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None,
                                reason="needs make")


def _dry_run(folder, target):
    """The commands ``make TARGET`` would run in ``folder``, one per item."""
    # A fresh make, not a sub-make of the `make test` that runs pytest in
    # CI (which would add "Entering directory" lines and its flags).
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(["make", "--no-print-directory", "-n", target],
                          cwd=folder, text=True, capture_output=True,
                          check=True, env=env)
    return done.stdout.splitlines()


@pytest.fixture
def clone(tmp_path):
    for name in ("Makefile", "setup.py", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _installs(commands):
    return [c for c in commands if " install " in c]


def test_demo_on_a_fresh_clone_installs_torch_and_the_project_only(clone):
    commands = _dry_run(clone, "demo")
    assert commands[0].endswith("-m venv .venv")
    assert _installs(commands)[-2:] == [
        '.venv/bin/pip install "torch==2.14.1" "torchvision==0.29.1"',
        ".venv/bin/pip install -e ."]
    assert not any("[" in c for c in _installs(commands))  # no extras
    assert commands[-1] == ".venv/bin/aalu-sk demo"


def test_test_after_demo_installs_the_extras(clone):
    bin_ = clone / ".venv" / "bin"
    bin_.mkdir(parents=True)
    (bin_ / "python").write_text("")
    later = time.time() + 5                # newer than setup.py
    (clone / ".venv" / ".installed-demo").write_text("")
    os.utime(clone / ".venv" / ".installed-demo", (later, later))
    assert _dry_run(clone, "demo") == [".venv/bin/aalu-sk demo"]
    commands = _dry_run(clone, "test")
    assert _installs(commands) == [
        '.venv/bin/pip install -e ".[test,bench,docs,label,ray]"']
    assert commands[-1] == ".venv/bin/python -m pytest -q"
