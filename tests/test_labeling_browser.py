"""End to end in headless Chromium: label batches by keyboard, kill, export.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them through ``docs/install_chromium.sh``) and Selenium (the ``test``
extra), which is pointed at ``/usr/bin/chromedriver`` and never
downloads a driver. Without them the test is skipped, except in CI
(``CI`` set), where it fails instead.
"""

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _missing():
    try:
        import selenium  # noqa: F401
        import fastapi  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed"
    if not Path("/usr/bin/chromedriver").exists():
        return "/usr/bin/chromedriver is missing (apt-get install chromium-driver)"
    if not any(shutil.which(n) for n in ("chromium", "chromium-browser",
                                         "google-chrome")):
        return "no chromium on PATH (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def walkthrough():
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {reason}")
        pytest.skip(reason)
    spec = importlib.util.spec_from_file_location(
        "label_walkthrough", ROOT / "docs" / "label_walkthrough.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_label_three_batches_kill_restart_export_import(walkthrough,
                                                        tmp_path):
    shots = os.environ.get("AALU_SK_SCREENSHOTS") or tmp_path / "shots"
    summary = walkthrough.run_walkthrough(
        tmp_path, n=120, batches=3, batch_size=6, screenshots=shots,
        options=("--epochs", "3", "--selector-epochs", "2", "--image-size",
                 "16", "--device", "cpu"),
        log=lambda *a: None)
    batches = summary["batches"]
    assert [len(b) for b in batches] == [6, 6, 6]
    assert len({i for b in batches for i in b}) == 18
    assert summary["n_labeled"] == 18 and summary["imported"] == 18
    assert summary["reviewed"] > 0          # the review view was used
    accuracy = summary["accuracy"]
    assert accuracy["cycle"] is not None
    assert accuracy["n_audit_labeled"] <= accuracy["n_audit"]
    for name in ("labeling_batch.png", "labeling_page.png"):
        assert (Path(shots) / name).stat().st_size > 10_000
