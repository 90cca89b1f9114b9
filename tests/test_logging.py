"""Output that reads well anywhere: bars on a terminal, log lines elsewhere."""

import fcntl
import io
import logging
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from aalu_sk import _logging, cli
from aalu_sk.experiment import ExperimentConfig, run_experiment
from aalu_sk.experiment.datasets import load_dataset

TINY = dict(dataset="digits", seeds=(0,), initial=0.10, step=0.05,
            final=0.20, model="small_cnn", epochs=1, batch_size=64,
            selector_epochs=1, vaal_channels=(8, 16), device="cpu")
TINY_ARGS = ["--dataset", "digits", "--seeds", "0", "--initial", "0.10",
             "--step", "0.05", "--final", "0.20", "--model", "small_cnn",
             "--epochs", "1", "--batch-size", "64", "--selector-epochs", "1",
             "--device", "cpu", "--strategies", "random"]
CYCLE = re.compile(r"^\d\d:\d\d:\d\d  \[(\d)/3\] random +seed 0 cycle "
                   r"(\d)/2: +(\d+) labeled \((\d+\.\d)%\)  accuracy "
                   r"0\.\d{4}  train \d+\.\ds  query \d+\.\ds \(\+(\d+)\)$")
# What a redrawn bar leaves in a file: carriage returns and escape codes.
BAR_DEBRIS = re.compile(r"[\r\x1b]")


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


@pytest.fixture(scope="module")
def digits_data():
    return load_dataset("digits")


@pytest.fixture
def restore_cli_logging():
    logger = logging.getLogger("aalu_sk")
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers


# -- the decision --------------------------------------------------------------
@pytest.mark.parametrize("progress, tty, bars", [
    (None, True, True), (None, False, False), (True, False, True),
    (False, True, False)])
def test_bars_only_on_a_terminal_unless_asked(progress, tty, bars):
    assert _logging.use_bars(progress, _Stream(tty)) is bars


def test_a_closed_or_odd_stream_is_not_a_terminal():
    closed = io.StringIO()
    closed.close()
    assert _logging.use_bars(None, closed) is False
    assert _logging.use_bars(None, object()) is False


def test_the_stand_in_counts_like_a_bar(capsys):
    bar = _logging.progress_bar(range(4), initial=2, progress=False)
    assert list(bar) == [0, 1, 2, 3] and bar.n == 6
    with _logging.progress_bar(total=3, progress=False) as other:
        other.update(2)
        other.set_postfix(loss="0.1")
        other.set_description("x")
    assert other.n == 2
    assert capsys.readouterr() == ("", "")


def test_the_library_shows_nothing_until_the_application_asks():
    script = ("import logging, aalu_sk.experiment\n"
              "logging.getLogger('aalu_sk.experiment.runner').warning('x')\n"
              "logging.getLogger('aalu_sk.experiment.runner').info('y')\n"
              "print([type(h).__name__ for h in "
              "logging.getLogger('aalu_sk').handlers])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['NullHandler']\n"
    # A NullHandler only: not even logging's last resort prints a record.
    assert "x" not in done.stderr.splitlines()


# -- the runner ------------------------------------------------------------------------
def test_runner_logs_one_line_per_cycle_and_stage(tmp_path, digits_data,
                                                   caplog, capsys):
    caplog.set_level(logging.INFO, logger="aalu_sk")
    config = ExperimentConfig(strategies=("random",), full_data=True, **TINY)
    rows = run_experiment(config, tmp_path, dataset=digits_data)
    records = [r for r in caplog.records
               if r.name == "aalu_sk.experiment.runner"]
    cycles = [r.getMessage() for r in records
              if r.getMessage().startswith("[")]
    assert len(cycles) == len(rows) == 3
    assert cycles[1].startswith("[2/3] random")
    assert "202 labeled (15.0%)" in cycles[1]
    assert f"accuracy {rows[1]['accuracy']:.4f}" in cycles[1]
    assert f"train {rows[1]['train_seconds']:.1f}s" in cycles[1]
    messages = [r.getMessage() for r in records]
    assert any(m.startswith("full training set (1347): accuracy")
               for m in messages)
    assert any(m.startswith("3 cycles run in") and "summary.md" in m
               for m in messages)
    # Under pytest standard error is not a terminal: no bar was drawn.
    assert not BAR_DEBRIS.search(capsys.readouterr().err)


def test_runner_draws_bars_when_asked(tmp_path, digits_data, capsys):
    config = ExperimentConfig(strategies=("random",), **TINY)
    run_experiment(config, tmp_path, progress=True, dataset=digits_data)
    err = capsys.readouterr().err
    assert "cycles" in err and "\r" in err


def test_task_model_epochs_are_debug_lines(tmp_path, digits_data, caplog):
    caplog.set_level(logging.DEBUG, logger="aalu_sk")
    config = ExperimentConfig(strategies=("entropy",), **TINY)
    run_experiment(config, tmp_path, dataset=digits_data)
    epochs = [r for r in caplog.records if "task model epoch 1/1" in
              r.getMessage()]
    assert len(epochs) == 3 and all(r.levelno == logging.DEBUG
                                    for r in epochs)
    queries = [r.getMessage() for r in caplog.records
               if r.name == "aalu_sk.strategies"]
    assert queries == [m for m in queries if m.startswith(
        "EntropySampler: picked")] and len(queries) == 2


# -- the command ---------------------------------------------------------------------
def test_cli_lines_on_stdout_without_bar_debris(tmp_path, capsys,
                                                restore_cli_logging):
    assert cli.main(["run", *TINY_ARGS, "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    matches = [CYCLE.match(line) for line in out.splitlines()]
    cycles = [m.groups() for m in matches if m]
    assert cycles == [("1", "0", "135", "10.0", "67"),
                      ("2", "1", "202", "15.0", "67"),
                      ("3", "2", "269", "20.0", "0")]
    assert "| random |" in out and "learning curves:" in out
    assert not BAR_DEBRIS.search(out + err)


def test_cli_quiet_prints_nothing_and_verbose_adds_epochs(
        tmp_path, capsys, restore_cli_logging):
    assert cli.main(["run", *TINY_ARGS, "--out", str(tmp_path / "q"),
                     "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert cli.main(["run", *TINY_ARGS, "--out", str(tmp_path / "v"),
                     "-v"]) == 0
    out = capsys.readouterr().out
    assert len(re.findall(r"  DEBUG: task model epoch 1/1: train loss",
                          out)) == 3
    assert "DEBUG: RandomSampler: picked 67 of" in out
    assert len([line for line in out.splitlines() if CYCLE.match(line)]) == 3


def test_cli_warnings_go_to_stderr(capsys, restore_cli_logging):
    _logging.configure_cli_logging()
    logging.getLogger("aalu_sk.cli").warning("disk almost full")
    logging.getLogger("aalu_sk.cli").info("cycle done")
    out, err = capsys.readouterr()
    assert re.fullmatch(r"\d\d:\d\d:\d\d  cycle done\n", out)
    assert re.fullmatch(r"\d\d:\d\d:\d\d  WARNING: disk almost full\n", err)


def _read_all(fd, chunks):
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:             # the other end closed
            return
        if not data:
            return
        chunks.append(data)


@pytest.mark.slow
def test_installed_command_on_a_terminal_and_redirected(tmp_path):
    """stdout to a file, stderr on a pseudo-terminal: as ``cmd > log.txt``."""
    exe = Path(sys.executable).with_name("aalu-sk")
    master, slave = pty.openpty()
    # A terminal of 24 x 120 (a new pseudo-terminal has no size).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    chunks = []
    reader = threading.Thread(target=_read_all, args=(master, chunks))
    reader.start()
    log_file = tmp_path / "log.txt"
    with open(log_file, "w") as stdout:
        done = subprocess.run(
            [str(exe), "run", *TINY_ARGS, "--out", str(tmp_path / "run")],
            stdout=stdout, stderr=slave, timeout=600,
            env=dict(os.environ, PYTHONWARNINGS="ignore"))
    os.close(slave)
    reader.join(timeout=30)
    os.close(master)
    terminal = b"".join(chunks).decode(errors="replace")
    log = log_file.read_text()
    assert done.returncode == 0, terminal[-2000:]
    # The terminal got the bars; the file got plain lines and the tables.
    assert "cycles" in terminal and "\r" in terminal
    assert not BAR_DEBRIS.search(log)
    assert len([line for line in log.splitlines() if CYCLE.match(line)]) == 3
    assert "| random |" in log
