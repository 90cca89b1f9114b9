"""The first release's module paths: aliases that warn, used by nobody here."""

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import aalu_sk
from aalu_sk._deprecation import MOVED, REMOVED_IN

PACKAGE = Path(aalu_sk.__file__).resolve().parent


def fresh_import(name):
    """Import ``name`` anew (a module runs its body once per process)."""
    sys.modules.pop(name, None)
    __import__(name)  # as an import statement: no importlib frame between
    return sys.modules[name]


@pytest.mark.parametrize("old", sorted(MOVED))
def test_alias_warns_naming_the_new_place_and_gives_the_same_objects(old):
    new, names = MOVED[old]
    with pytest.warns(FutureWarning, match=rf"{old} is deprecated .* "
                      rf"{REMOVED_IN}; import from {new} instead") as record:
        module = fresh_import(old)
    assert record[0].filename == __file__  # points at the importing line
    target = importlib.import_module(new)
    assert module.__all__ == list(names)
    assert names and all(getattr(module, n) is getattr(target, n)
                         for n in names)


def test_from_import_of_an_old_name_warns():
    sys.modules.pop("aalu_sk.datasets", None)
    with pytest.warns(FutureWarning, match="aalu_sk.experiment.datasets"):
        from aalu_sk.datasets import load_dataset
    from aalu_sk.experiment.datasets import load_dataset as new
    assert load_dataset is new


def test_every_module_of_the_first_release_still_imports():
    # The flat modules of 0.1.0 (docs/api.rst then) that are not packages now
    first_release = ["base", "checkpoint", "datasets", "losses", "plotting",
                     "sampler", "selection", "vaal"]
    # and the subcommand runners that moved into aalu_sk.cli in 0.2.0
    runners = ["distributed.command", "labeling.command"]
    assert sorted(MOVED) == sorted(f"aalu_sk.{m}"
                                   for m in first_release + runners)
    for module in first_release + runners:
        path = PACKAGE.joinpath(*module.split(".")).with_suffix(".py")
        assert path.read_text().count("alias(") == 1


def _imported_modules(path):
    """Absolute names of the modules a package file imports, anywhere in it."""
    # the package that relative imports start from (a module's, or itself)
    package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[:len(parent) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def test_package_code_never_imports_an_alias():
    aliases = {PACKAGE / f"{old.split('.')[1]}.py" for old in MOVED}
    users = {}
    for path in PACKAGE.rglob("*.py"):
        if path in aliases:
            continue
        hits = set(_imported_modules(path)) & set(MOVED)
        if hits:
            users[str(path.relative_to(PACKAGE))] = sorted(hits)
    assert users == {}


def test_the_import_scan_sees_relative_imports():
    # the scan must resolve "from . import x" and "from .x import y"
    names = set(_imported_modules(PACKAGE / "__init__.py"))
    assert "aalu_sk.classifier" in names and "aalu_sk.strategies" in names
    names = set(_imported_modules(PACKAGE / "strategies" / "vaal.py"))
    assert "aalu_sk.strategies.base" in names


def test_import_aalu_sk_emits_no_warning():
    code = ("import sys, warnings\n"
            "warnings.simplefilter('error')\n"
            "import aalu_sk, aalu_sk.strategies, aalu_sk.experiment\n"
            f"print(sorted(set(sys.modules) & {set(MOVED)!r}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_alias_warning_is_a_future_warning_shown_by_default():
    # FutureWarning (not DeprecationWarning) is shown to end users
    code = "import aalu_sk.vaal"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    assert "FutureWarning: aalu_sk.vaal is deprecated" in done.stderr
    assert "aalu_sk.strategies.vaal" in done.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import aalu_sk.strategies.vaal  # noqa: F401  (the new path is quiet)
