"""Tests for the ``aalu-sk`` command line, in-process and as a command."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aalu_sk import cli
from aalu_sk.experiment import STRATEGIES, ExperimentConfig

TINY = ["--dataset", "digits", "--seeds", "0", "--initial", "0.10",
        "--step", "0.05", "--final", "0.20", "--model", "small_cnn",
        "--epochs", "1", "--batch-size", "64", "--selector-epochs", "1",
        "--vaal-channels", "8,16", "--device", "cpu"]


def _rows(out):
    with open(Path(out) / "results.csv", newline="") as file:
        return list(csv.DictReader(file))


def _refusal(argv, capsys):
    """Run ``argv``; return (exit code, message) of the refusal."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    code = exc.value.code
    if isinstance(code, str):           # our own refusal: status 1
        return 1, code
    assert code == 2                    # argparse: usage error, status 2
    return code, err.strip().splitlines()[-1]


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


def test_same_command_resumes(cli_run):
    argv, out = cli_run
    before = _rows(out)
    assert cli.main(argv) == 0
    assert _rows(out) == before          # nothing rerun: timings unchanged


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


def test_report_of_a_folder_without_results(tmp_path, capsys):
    code, text = _refusal(["report", str(tmp_path)], capsys)
    assert code == 1
    assert text == (f"aalu-sk report: error: argument DIR: "
                    f"{tmp_path / 'results.csv'} does not exist; is "
                    f"{tmp_path} the output directory of `aalu-sk run`?")
    assert list(tmp_path.iterdir()) == []


def test_strategy_names_and_ablations_parse():
    parser = cli.build_parser()
    args = parser.parse_args(["run", "--out", "x", "--strategies",
                              "advvae,advvae_pred,losslearn,"
                              "advvae_losslearn,aalu"])
    assert args.strategies == ("advvae", "advvae_pred", "losslearn",
                               "advvae_losslearn", "aalu")
    assert parser.parse_args(["run", "--out", "x", "--strategies", "all"]) \
        .strategies == tuple(STRATEGIES)


def test_representation_trains_a_head_with_the_head_recipe(tmp_path,
                                                           monkeypatch):
    from aalu_sk.experiment.runner import HEAD_SETTINGS as HEAD

    parser = cli.build_parser()
    plain = parser.parse_args(["run", "--out", "x"])
    assert (plain.representation, plain.stop_set) == ("none", 0)
    seen = []
    monkeypatch.setattr("aalu_sk.cli.run.execute",
                        lambda config, args: seen.append(config) or 0)
    for extra in ([], ["--representation", "ssl"],
                  ["--representation", "ssl", "--lr", "0.5"]):
        assert cli.main(["run", "--out", "x", *extra]) == 0
    default = ExperimentConfig()
    assert [(c.representation, c.epochs, c.batch_size, c.lr)
            for c in seen] == [
        (None, default.epochs, default.batch_size, default.lr),
        ("ssl", HEAD["epochs"], HEAD["batch_size"],
         HEAD["lr"]),
        ("ssl", HEAD["epochs"], HEAD["batch_size"], 0.5)]
    assert HEAD != {k: getattr(default, k) for k in HEAD}

    # a real run: the head on PCA pixels, with the stop-set column
    out = tmp_path / "head"
    monkeypatch.undo()
    assert cli.main(["run", "--dataset", "digits", "--seeds", "0",
                     "--initial", "20", "--step", "20", "--final", "40",
                     "--strategies", "random", "--representation", "pixels",
                     "--stop-set", "100", "--device", "cpu", "--out",
                     str(out), "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["representation"], config["epochs"], config["stop_set"]) \
        == ("pixels", HEAD["epochs"], 100)
    rows = _rows(out)
    assert rows[0]["stop_agreement"] == "" and \
        0 <= float(rows[1]["stop_agreement"]) <= 1
    # a head that trained: well above the 10% of chance on 20 labels
    assert float(rows[0]["accuracy"]) > 0.3


def test_ssl_without_lightly_is_refused_by_option(monkeypatch, capsys):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name == "lightly" else find_spec(name, *a))
    code, text = _refusal(["run", "--representation", "ssl", "--out", "x"],
                          capsys)
    assert (code, text) == (1, "aalu-sk run: error: argument "
                               "--representation: ssl needs lightly, which "
                               "is not installed: pip install "
                               "'aalu_sk[ssl]'")


# -- bad input: one case each, refused with a message naming the option ------
@pytest.mark.parametrize("extra, status, message", [
    (["--strategies", "aalu,bald"], 2,
     "aalu-sk run: error: argument --strategies: unknown strategies "
     "['bald']; choose from aalu,"),
    (["--dataset", "nope"], 1,
     "aalu-sk run: error: argument --dataset: Unknown dataset name='nope'"),
    (["--initial", "0.3", "--final", "0.2"], 1,
     "argument --initial: must be below --final; got --initial 0.3 and "
     "--final 0.2"),
    (["--initial", "0.2", "--final", "0.2"], 1,
     "argument --initial: must be below --final"),
    (["--initial", "0"], 2,
     "argument --initial: must be a fraction of the training set in "
     "(0, 1] or a whole number of samples; got 0"),
    (["--final", "1.5"], 2,
     "argument --final: must be a fraction of the training set in (0, 1] "
     "or a whole number of samples; got 1.5"),
    (["--step", "0"], 2, "argument --step: must be a fraction of the "
                         "training set in (0, 1] or a whole number of "
                         "samples; got 0"),
    (["--step", "-0.05"], 2, "argument --step: must be a fraction"),
    (["--initial", "60", "--step", "60", "--final", "0.4"], 1,
     "argument --initial/--step/--final: give all three as fractions or "
     "all three as numbers of samples; got --initial 60 --step 60 --final "
     "0.4"),
    (["--initial", "60", "--step", "60", "--final", "5000"], 1,
     "argument --initial/--step: --final 5000 samples, but the training "
     "set holds 1347"),
    (["--strategies", "badge+div"], 2,
     "argument --strategies: unknown strategies ['badge+div']"),
    (["--seeds"], 2, "argument --seeds: expected at least one argument"),
    (["--seeds", "-1"], 2,
     "argument --seeds: must be non-negative integers; got -1"),
    (["--seeds", "1", "1"], 1, "argument --seeds: must be distinct; got 1 1"),
    (["--epochs", "0"], 2,
     "argument --epochs: must be a positive integer; got 0"),
    (["--epochs", "two"], 2, "argument --epochs: expected an integer; got "
                             "'two'"),
    (["--representation", "simclr"], 2, "argument --representation: invalid "
                                        "choice: 'simclr'"),
    (["--stop-set", "-1"], 2, "argument --stop-set: must be a non-negative "
                              "integer; got -1"),
    (["--initial", "0.0001", "--step", "0.0001", "--final", "0.001"], 1,
     "argument --initial/--step: With 1347 training samples the labeled "
     "sizes would be [0, 0,"),
], ids=["unknown-strategy", "unknown-dataset", "initial-above-final",
        "initial-equals-final", "initial-zero", "final-above-one",
        "step-zero", "step-negative", "mixed-counts-and-fractions",
        "counts-beyond-the-data", "suffix-on-badge", "seeds-empty",
        "seed-negative",
        "seeds-repeated", "epochs-zero", "epochs-not-a-number",
        "representation-unknown", "stop-set-negative", "schedule-too-fine"])
def test_bad_run_option_is_refused_with_its_name(extra, status, message,
                                                 tmp_path, capsys):
    out = tmp_path / "out"
    code, text = _refusal(["run", *TINY, *extra, "--out", str(out)], capsys)
    assert (code, message in text) == (status, True), text
    assert not out.exists()             # refused before anything is written


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available")
@pytest.mark.parametrize("command", ["run", "demo"])
def test_cuda_without_cuda_is_refused(command, tmp_path, capsys):
    argv = [command, "--device", "cuda", "--out", str(tmp_path / "out")]
    code, text = _refusal(argv + (TINY[:-2] if command == "run" else []),
                          capsys)
    assert code == 2
    assert f"aalu-sk {command}: error: argument --device: --device 'cuda' " \
        "asks for CUDA, but torch sees no CUDA device" in text


def test_results_of_another_configuration_are_refused(cli_run, capsys):
    argv, out = cli_run
    before = (out / "checkpoint.json").read_bytes()
    code, text = _refusal([a if a != "0.20" else "0.25" for a in argv],
                          capsys)
    assert code == 1
    assert text.startswith("aalu-sk run: error: argument --out: ")
    assert "another configuration (final: saved 0.2, now 0.25)" in text
    assert (out / "checkpoint.json").read_bytes() == before


def test_results_without_a_checkpoint_are_refused(tmp_path, capsys):
    (tmp_path / "results.csv").write_text("strategy,seed\nmine,0\n")
    code, text = _refusal(["run", *TINY, "--strategies", "random", "--out",
                           str(tmp_path)], capsys)
    assert code == 1
    assert "argument --out: " in text and "holds a results.csv but no " \
        "checkpoint.json; refusing to overwrite it" in text
    assert (tmp_path / "results.csv").read_text() == "strategy,seed\nmine,0\n"


def test_an_output_path_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, text = _refusal(["run", *TINY, "--out", str(tmp_path / "file")],
                          capsys)
    assert code == 1
    assert f"argument --out: {tmp_path / 'file'} exists and is not a " \
        "directory" in text


@pytest.mark.parametrize("argv, status, message", [
    (["run", "--dataset", "nope", "--out", "x"], 1,
     "aalu-sk run: error: argument --dataset: Unknown dataset"),
    (["run", "--epochs", "0", "--out", "x"], 2,
     "aalu-sk run: error: argument --epochs: must be a positive integer"),
])
def test_installed_command_refuses_without_a_traceback(argv, status, message,
                                                       tmp_path):
    exe = Path(sys.executable).with_name("aalu-sk")
    done = subprocess.run([str(exe), *argv], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == status
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists()


def test_demo_runs_the_documented_comparison(tmp_path, monkeypatch):
    seen = {}

    def fake_run(config, out, progress, dataset, query=None):
        seen.update(config=config, out=out, progress=progress, query=query)
        assert dataset.X_train.shape == (1347, 1, 8, 8)
    # demo runs through aalu-sk run's runner (aalu_sk.cli.run.execute)
    monkeypatch.setattr(cli.run, "run_experiment", fake_run)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "--quiet", "--device", "cpu"]) == 0
    config = seen["config"]
    assert isinstance(config, ExperimentConfig)
    assert seen["out"] == "runs/demo" and seen["progress"] is False
    assert seen["query"] is None  # local scoring without --ray-address
    # AALU, the two strongest baselines of the benchmarks, and random.
    assert config.strategies == ("aalu", "margin+div", "badge", "random")
    assert (config.dataset, config.model, config.device) == \
        ("digits", "small_cnn", "cpu")
    assert (config.initial, config.step, config.final) == (0.10, 0.05, 0.40)
    assert len(config.seeds) == 2 and config.vaal_channels == (32, 64)
    assert config.selector_epochs <= 20 and config.full_data


# -- mistyped options and subcommands: a hint, in the user's terms ----------------
@pytest.mark.parametrize("argv, message", [
    (["run", "--strategy", "aalu"],
     "aalu-sk run: error: unrecognized arguments: --strategy aalu; did you "
     "mean --strategies?"),
    (["run", "--strategy=aalu"],
     "unrecognized arguments: --strategy=aalu; did you mean --strategies?"),
    (["run", "--stratgies", "aalu"],
     "unrecognized arguments: --stratgies aalu; did you mean --strategies?"),
    # Abbreviations are refused (a new option would make them ambiguous),
    # and the full option is named.
    (["run", "--selector-epoch", "3"],
     "unrecognized arguments: --selector-epoch 3; did you mean "
     "--selector-epochs?"),
    (["label", "--strategies", "aalu"],
     "aalu-sk label: error: unrecognized arguments: --strategies; did you "
     "mean --strategy?"),
    (["rnu"], "aalu-sk: error: argument COMMAND: invalid choice: 'rnu' "
              "(choose from run, demo, report, label, query); did you mean "
              "run?"),
    (["run", "--strategies", "aalu,margn"],
     "unknown strategies ['margn']; choose from"),
])
def test_mistyped_options_get_a_close_match(argv, message, capsys):
    code, text = _refusal([*argv, "--out", "x"] if argv[0] == "run"
                          else argv, capsys)
    assert code == 2 and message in text, text
    assert "did you mean" in text


def test_unknown_option_shows_the_subcommand_usage(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--strategy", "aalu", "--out", "x"])
    assert capsys.readouterr().err.startswith("usage: aalu-sk run ")


def test_strategy_typo_is_matched_against_the_registry(capsys):
    code, text = _refusal(["run", "--strategies", "aalu,margn", "--out", "x"],
                          capsys)
    assert text.endswith("or 'all'; did you mean margin?")


def test_each_mistyped_option_gets_its_own_hint(capsys):
    code, text = _refusal(["run", "--strategy", "aalu", "--seed", "1",
                           "--out", "x"], capsys)
    assert text.endswith("unrecognized arguments: --strategy aalu --seed 1; "
                         "did you mean --strategies (for --strategy) and "
                         "--seeds (for --seed)?"), text


def test_no_hint_without_a_close_match(capsys):
    code, text = _refusal(["run", "--zzzz", "--out", "x"], capsys)
    assert text.endswith("unrecognized arguments: --zzzz")


@pytest.mark.parametrize("extra, message", [
    ([], "argument --dataset: --data-dir is required for dataset 'cifar10'; "
         "got no --data-dir. Pass the folder that holds the torchvision "
         "files (or that should receive them with --download)."),
    (["--data-dir", "EMPTY"],
     "argument --dataset: Dataset 'cifar10' was not found or is corrupted "
     "in --data-dir 'EMPTY' (torchvision expects"),
])
def test_library_messages_name_the_options_typed(extra, message, tmp_path,
                                                 capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    extra = [str(empty) if e == "EMPTY" else e for e in extra]
    code, text = _refusal(["run", "--dataset", "cifar10", *extra, "--out",
                           str(tmp_path / "out")], capsys)
    assert code == 1
    assert message.replace("EMPTY", str(empty)) in text, text
    assert "data_dir" not in text and "download=" not in text
    if extra:
        assert "Pass --download to fetch it" in text


@pytest.mark.parametrize("message, expected", [
    ("got data_dir=None", "got no --data-dir"),
    ("pass download=True", "pass --download"),
    ("download=False given", "no --download given"),
    ("selector_max_steps=0: give a positive integer",
     "--selector-max-steps 0: give a positive integer"),
    ("batch_size must be positive", "--batch-size must be positive"),
    ("initial=0.5, step=0.1, final=0.4", "--initial 0.5, --step 0.1, "
                                         "--final 0.4"),
    # Words that are not Python names, and names of no option, stay.
    ("the dataset and its data_dirs; n_instances=3",
     "the dataset and its data_dirs; n_instances=3"),
])
def test_cli_terms_known_answers(message, expected):
    from aalu_sk._cliparser import cli_terms

    run = cli.build_parser().subcommands()["run"]
    assert cli_terms(message, run) == expected
