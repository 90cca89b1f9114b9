"""Fault injection: ``aalu-sk run`` killed with SIGKILL at random moments.

The real command runs in a subprocess and is killed with SIGKILL (no
cleanup, no ``finally``, no flushing) at seeded random moments within its
expected run time, then resumed with the same command; the last attempt
runs to the end. Meanwhile a watcher thread keeps reading
``checkpoint.json``, ``results.csv`` and ``config.json`` and checks that
every read is a complete file. The final results and labeled sets must
equal those of an uninterrupted run of the same command.
"""

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from aalu_sk.experiment.checkpoint import RESULT_FIELDS

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"),
                                reason="needs POSIX signals")

# Ten task epochs in batches of 16 make the accuracies differ between
# cycles and strategies (one epoch leaves every model at chance level, where
# equal results would prove little); still a few seconds of work.
ARGS = ["--dataset", "digits", "--model", "small_cnn", "--epochs", "10",
        "--batch-size", "16", "--selector-epochs", "2",
        "--strategies", "aalu,random", "--seeds", "0", "--initial", "0.1",
        "--step", "0.05", "--final", "0.25", "--device", "cpu", "--quiet"]
N_ROWS = 8                      # 2 strategies x 4 cycles (10, 15, 20, 25 %)
KILLS = 3
COMPARED = ("strategy", "seed", "cycle", "n_labeled", "fraction", "accuracy",
            "n_selected")
# One thread: light on a busy machine, and the same arithmetic in every
# attempt.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# -- what a complete file looks like ----------------------------------------------
def check_checkpoint(data):
    """The checkpoint's state; raises unless ``data`` is a whole one."""
    state = json.loads(data)
    assert state["format"] == 1, "unknown format"
    for key, run in state["runs"].items():
        assert len(run["rows"]) <= N_ROWS // 2, f"{key}: too many rows"
        assert all(set(row) == set(RESULT_FIELDS) for row in run["rows"])
        assert all(isinstance(i, int) for i in run["labeled"])
    return state


def check_results(data):
    """The rows of ``results.csv``; raises unless ``data`` is a whole file."""
    text = data.decode()
    assert text.endswith("\n"), "the last row is cut off"
    header, *rows = csv.reader(io.StringIO(text))
    assert tuple(header) == RESULT_FIELDS, f"header {header}"
    for row in rows:
        assert len(row) == len(RESULT_FIELDS), f"row {row}"
        for value, kind in zip(row[1:], (int, int, int, float, float, float,
                                         float, int)):
            kind(value)
    return [dict(zip(header, row)) for row in rows]


CHECKS = {"checkpoint.json": check_checkpoint,
          "results.csv": check_results,
          "config.json": json.loads}


def check_files(out):
    """Check every file of ``out`` that exists; return the parsed ones."""
    parsed = {}
    for name, check in CHECKS.items():
        try:
            data = (out / name).read_bytes()
        except FileNotFoundError:
            continue
        try:
            parsed[name] = check(data)
        except Exception as exc:  # any failure to parse is the finding
            raise AssertionError(f"{out / name} is not a complete file: "
                                 f"{exc!r}; it ends {data[-60:]!r}") from None
    return parsed


class Watcher(threading.Thread):
    """Reads the files of ``out`` every few milliseconds until stopped."""

    def __init__(self, out):
        super().__init__(daemon=True)
        self.out = out
        self.done = threading.Event()
        self.reads = 0
        self.row_counts = set()     # sizes of results.csv seen
        self.failures = []

    def run(self):
        while not self.done.is_set():
            try:
                parsed = check_files(self.out)
            except AssertionError as exc:
                self.failures.append(str(exc))
            else:
                self.reads += len(parsed)
                if "results.csv" in parsed:
                    self.row_counts.add(len(parsed["results.csv"]))
            self.done.wait(0.01)

    def stop(self):
        self.done.set()
        self.join(timeout=10)


# -- running the command -------------------------------------------------------------
def _saved_rows(out):
    """Cycles saved in ``out``'s checkpoint (0 while it is absent)."""
    try:
        state = json.loads((out / "checkpoint.json").read_text())
    except (OSError, ValueError):
        return 0
    return sum(len(run["rows"]) for run in state["runs"].values())


def attempt(out, kill_after=None, after_rows=0, timeout=300):
    """Run the command once; SIGKILL it at a chosen moment.

    The kill comes ``kill_after`` seconds after the checkpoint first holds
    ``after_rows`` saved cycles (``after_rows=0``: after the start), so the
    moment is tied to the run's progress, not to the machine's speed.

    Returns
    -------
    status : int
        The exit status, ``-SIGKILL`` when killed.
    startup : float or None
        Seconds until ``checkpoint.json`` first existed, if it appeared.
    seconds : float
        Wall time of the attempt.
    """
    command = [sys.executable, "-m", "aalu_sk.cli", "run", *ARGS, "--out",
               str(out)]
    had_checkpoint = (out / "checkpoint.json").exists()
    with open(out.parent / f"{out.name}.stderr", "a") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL,
                                stderr=stderr)
        startup = None
        armed = 0.0 if after_rows == 0 else None
        while proc.poll() is None:
            elapsed = time.perf_counter() - start
            if startup is None and not had_checkpoint and \
                    (out / "checkpoint.json").exists():
                startup = elapsed
            if armed is None and _saved_rows(out) >= after_rows:
                armed = elapsed
            limit = timeout if kill_after is None or armed is None \
                else armed + kill_after
            if elapsed >= limit:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        status = proc.wait(timeout=60)
    return status, startup, time.perf_counter() - start


def _stderr(out):
    path = out.parent / f"{out.name}.stderr"
    return path.read_text()[-2000:] if path.exists() else ""


def _compared(rows):
    return [{k: row[k] for k in COMPARED} for row in rows]


def _runs(state):
    return {key: (run["labeled"], _compared(run["rows"]))
            for key, run in state["runs"].items()}


def test_killed_and_resumed_run_equals_an_uninterrupted_one(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    reference.mkdir()
    killed.mkdir()
    watchers = [Watcher(reference), Watcher(killed)]
    for watcher in watchers:
        watcher.start()
    try:
        status, startup, total = attempt(reference)
        assert status == 0, _stderr(reference)
        assert startup is not None
        rng = random.Random(1618)
        kills = mid_run = 0
        per_row = (total - startup) / (N_ROWS + 1)
        for k in range(KILLS):
            n_done = _saved_rows(killed)
            # Mid-run kills leave at least one whole cycle after the kill
            # point, so a run cannot finish before its kill.
            if k == 1 or n_done + 1 > N_ROWS - 2:
                # during the start-up: imports, data, checkpoint reading
                after, delay = 0, rng.uniform(0.2, 0.9) * startup
            else:
                # mid-run: a random point inside a random cycle
                after = rng.randint(n_done + 1, N_ROWS - 2)
                delay = rng.uniform(0.0, 0.8) * per_row
            status, _, _ = attempt(killed, delay, after_rows=after)
            if status == 0:
                break                   # it finished before the kill
            assert status == -signal.SIGKILL, _stderr(killed)
            kills += 1
            # What a kill leaves behind is complete and consistent.
            parsed = check_files(killed)
            if "checkpoint.json" in parsed:
                saved = [(r["strategy"], r["cycle"]) for run in
                         parsed["checkpoint.json"]["runs"].values()
                         for r in run["rows"]]
                written = [(r["strategy"], int(r["cycle"]))
                           for r in parsed.get("results.csv", [])]
                # results.csv is written right after the checkpoint: it
                # may lag by the last row, never lead or differ.
                assert set(written) <= set(saved)
                assert len(written) >= len(saved) - 1
                mid_run += 0 < len(saved) < N_ROWS
        status, _, _ = attempt(killed)
        assert status == 0, _stderr(killed)
    finally:
        for watcher in watchers:
            watcher.stop()

    assert kills >= 2 and mid_run >= 1, (kills, mid_run)
    for watcher in watchers:
        assert watcher.failures == []
        assert watcher.reads > 0
    # The watcher saw the results grow, not only the final file.
    assert len(watchers[1].row_counts) >= 2, watchers[1].row_counts

    expected, got = check_files(reference), check_files(killed)
    assert len(got["results.csv"]) == N_ROWS
    assert _compared(got["results.csv"]) == \
        _compared(expected["results.csv"])
    assert _runs(got["checkpoint.json"]) == \
        _runs(expected["checkpoint.json"])
    assert got["config.json"] == expected["config.json"]
    # A kill inside atomic_write can leave its temporary file; the resumed
    # run removes it.
    assert sorted(p.name for p in killed.iterdir()) == sorted(
        p.name for p in reference.iterdir())
    # Results that differ between cycles: a model at chance level everywhere
    # would make the comparison above weak.
    assert len({r["accuracy"] for r in got["results.csv"]}) >= 3


# -- the checks themselves can fail ------------------------------------------------------
def _complete_files():
    rows = [{"strategy": "aalu", "seed": 0, "cycle": c, "n_labeled": 135 + c,
             "fraction": 0.1, "accuracy": 0.93111, "train_seconds": 1.5,
             "query_seconds": 0.25, "n_selected": 67,
             "stop_agreement": None if c == 0 else 0.9} for c in range(3)]
    state = {"format": 1, "runs": {"aalu/seed0": {
        "labeled": list(range(300)), "rows": rows}}}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, RESULT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return json.dumps(state).encode(), buffer.getvalue().encode()


def test_a_cut_off_file_fails_the_checks():
    state, results = _complete_files()
    assert len(check_checkpoint(state)["runs"]) == 1
    assert len(check_results(results)) == 3
    for cut in range(1, len(state), 7):
        with pytest.raises((AssertionError, ValueError)):
            check_checkpoint(state[:cut])
    for cut in range(1, len(results)):
        if results[cut - 1:cut] != b"\n":   # a cut between rows is whole
            with pytest.raises((AssertionError, ValueError)):
                check_results(results[:cut])
