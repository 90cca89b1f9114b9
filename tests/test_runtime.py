"""The CPU budget of a process and the warning about too many torch threads."""

import os
import subprocess
import sys
import warnings

import pytest

from aalu_sk import _runtime
from aalu_sk._runtime import available_cpus, check_thread_count


def _affinity():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count()


@pytest.mark.parametrize("text, quota", [
    ("max 100000\n", None),          # no quota
    ("100000 100000\n", 1),
    ("150000 100000\n", 2),          # 1.5 cores: rounded up
    ("50000 100000\n", 1),           # half a core: still one thread
    ("garbage\n", None),             # unreadable: ignored
])
def test_available_cpus_reads_the_cgroup_quota(tmp_path, text, quota):
    path = tmp_path / "cpu.max"
    path.write_text(text)
    expected = _affinity() if quota is None else min(_affinity(), quota)
    assert available_cpus(path) == expected


def test_available_cpus_without_a_quota_file_is_the_affinity(tmp_path):
    assert available_cpus(tmp_path / "missing") == _affinity()


@pytest.fixture
def fresh_warning(monkeypatch):
    monkeypatch.setattr(_runtime, "_THREADS_WARNED", False)


def test_too_many_threads_warn_once(fresh_warning):
    with pytest.warns(RuntimeWarning,
                      match=r"torch uses 8 threads but this process may use "
                            r"only 2 CPU cores.*set_num_threads\(2\)"):
        assert "8 threads" in check_thread_count(n_threads=8, n_cpus=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Said once per process; the text is still returned.
        assert "OMP_NUM_THREADS=1" in check_thread_count(n_threads=3,
                                                         n_cpus=1)


@pytest.mark.parametrize("n_threads, n_cpus", [(1, 1), (2, 2), (1, 4)])
def test_enough_cores_no_warning(fresh_warning, n_threads, n_cpus):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_thread_count(n_threads=n_threads, n_cpus=n_cpus) is None
    assert _runtime._THREADS_WARNED is False


def test_cpu_work_checks_the_threads():
    """resolve_device('cpu') warns when torch has more threads than cores."""
    n = available_cpus()
    code = ("import warnings, torch\n"
            f"torch.set_num_threads({n + 1})\n"
            "from aalu_sk._runtime import resolve_device\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    resolve_device('cpu'); resolve_device('auto')\n"
            "print(len(w), str(w[0].message) if w else '')\n")
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, text=True,
                         capture_output=True, check=True).stdout
    count, message = out.split(" ", 1)
    assert count == "1"
    assert f"torch uses {n + 1} threads" in message
