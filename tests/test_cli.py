"""Tests for the ``aalu-sk`` command line (in-process, plus one subprocess)."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aalu_sk import cli
from aalu_sk.experiment import STRATEGIES, ExperimentConfig

TINY = ["--dataset", "digits", "--seeds", "0", "--initial", "0.10",
        "--step", "0.05", "--final", "0.20", "--model", "small_cnn",
        "--epochs", "1", "--batch-size", "64", "--selector-epochs", "1",
        "--vaal-channels", "8,16", "--device", "cpu"]


def _rows(out):
    with open(Path(out) / "results.csv", newline="") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    argv = ["run", *TINY, "--strategies", "random,entropy", "--out", str(out),
            "--quiet"]
    assert cli.main(argv) == 0
    return argv, out


def test_installed_command_prints_help():
    exe = Path(sys.executable).with_name("aalu-sk")
    done = subprocess.run([str(exe), "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0
    for command in ("run", "demo", "report"):
        assert command in done.stdout


def test_run_writes_every_output(cli_run):
    _, out = cli_run
    rows = _rows(out)
    assert [(r["strategy"], r["cycle"], r["n_labeled"]) for r in rows] == [
        (s, str(c), str(n)) for s in ("random", "entropy")
        for c, n in enumerate((135, 202, 269))]
    config = json.loads((out / "config.json").read_text())
    assert config["strategies"] == ["random", "entropy"]
    assert (config["epochs"], config["selector_epochs"]) == (1, 1)
    assert config["vaal_channels"] == [8, 16] and config["seeds"] == [0]
    assert config["device"] == "cpu" and config["full_data"] is False
    for name in ("summary.md", "learning_curves.png", "query_time.png",
                 "checkpoint.json"):
        assert (out / name).stat().st_size > 0


def test_same_command_resumes_and_another_is_refused(cli_run, capsys):
    argv, out = cli_run
    before = _rows(out)
    assert cli.main(argv) == 0
    assert _rows(out) == before          # nothing rerun: timings unchanged
    changed = [a if a != "0.20" else "0.25" for a in argv]
    with pytest.raises(SystemExit) as exc:
        cli.main(changed)
    assert "another configuration" in str(exc.value.code)
    assert "final: saved 0.2, now 0.25" in str(exc.value.code)
    assert _rows(out) == before


def test_report_re_renders(cli_run, capsys):
    _, out = cli_run
    for name in ("summary.md", "learning_curves.png", "query_time.png"):
        (out / name).unlink()
    assert cli.main(["report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| strategy | 10 % | 15 % | 20 % | AUC |" in printed
    assert f"learning curves: {out / 'learning_curves.png'}" in printed
    assert (out / "summary.md").read_text() in printed
    assert (out / "query_time.png").read_bytes()[:4] == b"\x89PNG"


def test_report_of_a_folder_without_results(tmp_path):
    with pytest.raises(SystemExit, match="results.csv does not exist"):
        cli.main(["report", str(tmp_path)])


def test_progress_prints_one_line_per_cycle(tmp_path, capsys):
    out = tmp_path / "loud"
    assert cli.main(["run", *TINY, "--strategies", "random", "--out",
                     str(out)]) == 0
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines()
             if line.startswith("random") and "cycle" in line]
    assert len(lines) == 3
    assert "cycle 1/2:    202 labeled (15.0%)" in lines[1]
    assert "| random |" in printed and "learning curves:" in printed


def test_strategy_names_and_ablations_parse(capsys):
    parser = cli.build_parser()
    args = parser.parse_args(["run", "--out", "x", "--strategies",
                              "advvae,advvae_pred,losslearn,"
                              "advvae_losslearn,aalu"])
    assert args.strategies == ("advvae", "advvae_pred", "losslearn",
                               "advvae_losslearn", "aalu")
    assert parser.parse_args(["run", "--out", "x", "--strategies", "all"]) \
        .strategies == tuple(STRATEGIES)
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["run", "--out", "x", "--strategies", "aalu,bald"])
    assert exc.value.code == 2
    assert "unknown strategies ['bald']" in capsys.readouterr().err


def test_invalid_values_exit_with_a_message(tmp_path):
    with pytest.raises(SystemExit, match="initial <= final"):
        cli.main(["run", *TINY, "--final", "0.05", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="Unknown dataset"):
        cli.main(["run", *TINY, "--dataset", "nope", "--out",
                  str(tmp_path / "x")])


def test_demo_runs_the_documented_comparison(tmp_path, monkeypatch):
    seen = {}

    def fake_run(config, out, progress, dataset):
        seen.update(config=config, out=out, progress=progress)
        assert dataset.X_train.shape == (1347, 1, 8, 8)
    monkeypatch.setattr(cli, "run_experiment", fake_run)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "--quiet", "--device", "cpu"]) == 0
    config = seen["config"]
    assert isinstance(config, ExperimentConfig)
    assert seen["out"] == "runs/demo" and seen["progress"] is False
    assert config.strategies == ("aalu", "vaal", "coreset", "entropy",
                                 "random")
    assert (config.dataset, config.model, config.device) == \
        ("digits", "small_cnn", "cpu")
    assert (config.initial, config.step, config.final) == (0.10, 0.05, 0.40)
    assert len(config.seeds) == 2 and config.vaal_channels == (32, 64)
    assert config.selector_epochs <= 20 and config.full_data
