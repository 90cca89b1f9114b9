"""Packaging: metadata in pyproject.toml, a thin setup.py, an honest floor."""

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import aalu_sk

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = {"label", "ray", "docs", "test", "bench", "skactiveml", "ssl",
          "pretrained", "fast"}


@pytest.fixture(scope="module")
def pyproject():
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_setup_py_is_a_shim_without_metadata():
    tree = ast.parse((ROOT / "setup.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "id", None) == "setup"]
    assert len(calls) == 1 and not calls[0].args and not calls[0].keywords


def test_metadata_extras_and_command_are_in_pyproject(pyproject):
    project = pyproject["project"]
    assert project["name"] == "aalu_sk" and project["dynamic"] == ["version"]
    assert set(project["optional-dependencies"]) == EXTRAS
    assert project["scripts"] == {"aalu-sk": "aalu_sk.cli:main"}
    sklearn = [d for d in project["dependencies"]
               if d.startswith("scikit-learn")]
    assert sklearn == ["scikit-learn>=1.6"]          # no upper bound
    assert any(d.startswith("scikit-activeml") for d in
               project["optional-dependencies"]["skactiveml"])


def test_installed_metadata_matches_the_sources(pyproject):
    dist = importlib.metadata.distribution("aalu_sk")
    if dist.version != aalu_sk.__version__ or \
            dist.metadata["Requires-Python"] != \
            pyproject["project"]["requires-python"]:
        pytest.skip("the installed metadata is older than pyproject.toml; "
                    "reinstall (make install)")
    assert {e.name: e.value for e in dist.entry_points} == \
        {"aalu-sk": "aalu_sk.cli:main"}
    assert set(dist.metadata.get_all("Provides-Extra")) == EXTRAS


def test_code_needs_nothing_newer_than_requires_python(pyproject):
    """vermin reads the code for the newest Python feature it uses."""
    floor = re.fullmatch(r">=(\d+\.\d+)",
                         pyproject["project"]["requires-python"]).group(1)
    vermin = Path(sys.executable).with_name("vermin")
    if not vermin.exists():
        pytest.skip("vermin is not installed (the test extra has it)")
    done = subprocess.run(
        [str(vermin), f"-t={floor}-", "--violations", "--no-tips",
         "--eval-annotations", str(ROOT / "aalu_sk")],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_make_install_reinstalls_when_pyproject_changes():
    makefile = (ROOT / "Makefile").read_text()
    stamp_rule = re.search(r"^\$\(STAMP\):(.*)$", makefile, re.M).group(1)
    assert "pyproject.toml" in stamp_rule and "setup.py" in stamp_rule
