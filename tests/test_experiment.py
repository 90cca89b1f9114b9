"""Tests for the experiment runner, its checkpoints and the report renderer.

Tiny settings throughout: digits, small CNN, one task epoch, one selector
epoch, VAAL channels (8, 16), 10% -> 20% labeled in steps of 5%.
"""

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from aalu_sk import (AdversarialUncertaintySampler, CoreSetSampler,
                     EntropySampler, RandomSampler, VAALSampler)
from aalu_sk import experiment
from aalu_sk.experiment import checkpoint, plotting
from aalu_sk.experiment.checkpoint import atomic_write
from aalu_sk.experiment.datasets import ImageDataset, load_dataset
from aalu_sk.experiment import (RESULT_FIELDS, STRATEGIES,
                                ConfigMismatchError, ExperimentConfig,
                                check_split, dataset_fingerprint, derive_seed,
                                run_experiment)
from aalu_sk.experiment.plotting import (learning_curve_auc, load_results,
                                         summary_tables, write_report)
from aalu_sk.strategies import make_strategy

TINY = dict(dataset="digits", seeds=(0,), initial=0.10, step=0.05,
            final=0.20, model="small_cnn", epochs=1, batch_size=64,
            selector_epochs=1, vaal_channels=(8, 16), device="cpu")
ALL = ("aalu", "vaal", "coreset", "entropy", "random", "advvae_pred")
SIZES = [135, 202, 269]          # 10, 15, 20 % of the 1347 digits
COMPARED = ("strategy", "seed", "cycle", "n_labeled", "fraction", "accuracy",
            "n_selected")


def _checkpoint(path):
    return json.loads((path / "checkpoint.json").read_text())


def _same(rows):
    return [{k: r[k] for k in COMPARED} for r in rows]


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, dataset):
    out = tmp_path_factory.mktemp("full")
    config = ExperimentConfig(strategies=ALL, full_data=True, **TINY)
    rows = run_experiment(config, out, progress=False, dataset=dataset)
    return config, out, rows


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory, dataset):
    """An uninterrupted run of the two strategies the resume tests use."""
    out = tmp_path_factory.mktemp("pair")
    config = ExperimentConfig(strategies=("aalu", "vaal"), **TINY)
    rows = run_experiment(config, out, progress=False, dataset=dataset)
    return config, out, rows


# -- module layout -------------------------------------------------------------
@pytest.mark.parametrize("name", ["ConfigMismatchError", "RESULT_FIELDS",
                                  "atomic_write", "dataset_fingerprint",
                                  "derive_seed", "check_split"])
def test_experiment_re_exports_the_checkpoint_names(name):
    assert name in experiment.__all__
    assert getattr(experiment, name) is getattr(checkpoint, name)


def test_one_atomic_write_serves_checkpoints_and_reports():
    assert plotting.atomic_write is checkpoint.atomic_write
    # defined below every layer, so aalu_sk.representation shares it too
    assert checkpoint.atomic_write.__module__ == "aalu_sk._io"


# -- configuration -----------------------------------------------------------
def test_label_schedule_sizes_and_fractions():
    config = ExperimentConfig(**TINY)
    assert config.label_schedule(1347) == (SIZES, [0.1, 0.15, 0.2])
    capped = ExperimentConfig(initial=0.1, step=0.25, final=0.4)
    assert capped.label_schedule(100) == ([10, 35, 40], [0.1, 0.35, 0.4])
    with pytest.raises(ValueError, match="at least one"):
        ExperimentConfig(initial=0.1, step=0.001, final=0.2).label_schedule(50)


def test_label_schedule_in_numbers_of_samples():
    config = ExperimentConfig(initial=60, step=60, final=200)
    assert config.counts
    assert config.label_schedule(1347) == (
        [60, 120, 180, 200], [round(n / 1347, 10) for n in (60, 120, 180, 200)])
    assert not ExperimentConfig(initial=60, step=60, final=0.4).counts
    with pytest.raises(ValueError, match="As fractions"):
        ExperimentConfig(initial=60, step=60, final=0.4).validate()
    with pytest.raises(ValueError, match="holds 100"):
        ExperimentConfig(initial=60, step=60, final=200).label_schedule(100)


def test_counts_protocol_with_recorded_losses_runs(dataset, tmp_path):
    """A small-budget protocol: 30 + 30 samples, default AALU (which reads
    recorded training losses) beside entropy with diversity."""
    config = ExperimentConfig(**{**TINY, "initial": 30, "step": 30,
                                 "final": 60, "model": "mlp",
                                 "strategies": ("aalu", "entropy+div")})
    rows = run_experiment(config, tmp_path, progress=False, dataset=dataset)
    assert [r["n_labeled"] for r in rows] == [30, 60, 30, 60]
    # recording losses leaves training alone: both first models are equal
    assert rows[0]["accuracy"] == rows[2]["accuracy"]


def test_config_round_trips_through_json():
    config = ExperimentConfig(strategies=("aalu", "random"), seeds=(3, 1),
                              vaal_channels=(8, 16))
    again = ExperimentConfig.from_dict(json.loads(json.dumps(
        config.to_dict())))
    assert again == config and again.seeds == (3, 1)
    with pytest.raises(ValueError, match="Unknown configuration keys"):
        ExperimentConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize("field, value, match", [
    ("strategies", ("aalu", "nope"), "strategies"),
    ("strategies", ("aalu", "aalu"), "distinct"),
    ("seeds", (-1,), "seeds"),
    ("seeds", (), "seeds"),
    ("epochs", 0, "epochs"),
    ("selector_epochs", 1.5, "selector_epochs"),
    ("model", "vgg", "model"),
    ("final", 0.05, "initial <= final"),
    ("step", 0.0, "step > 0"),
    ("lr", 0.0, "lr"),
    ("vaal_channels", (8, 0), "vaal_channels"),
    ("device", "tpu", "device"),
])
def test_config_validation_names_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        ExperimentConfig(**{**TINY, field: value}).validate()


def test_registry_builds_the_table1_ablations():
    flags = {"advvae": (True, False, 0), "advvae_pred": (True, True, 0),
             "losslearn": (False, False, 10), "advvae_losslearn":
             (True, False, 10), "aalu_paper": (True, True, 10)}
    for name, (adversarial, use_prediction, weight) in flags.items():
        s = make_strategy(name, 7, selector_epochs=3, device="cpu",
                          selector_batch_size=32)
        assert isinstance(s, AdversarialUncertaintySampler)
        assert (s.adversarial, s.use_prediction, s.ranking_weight) == \
            (adversarial, use_prediction, weight)
        assert (s.epochs, s.random_state, s.batch_size, s.preset) == \
            (3, 7, 32, "paper")
    vaal = make_strategy("vaal", 5, selector_epochs=4, vaal_channels=[8, 16])
    assert isinstance(vaal, VAALSampler)
    assert (vaal.channels, vaal.epochs, vaal.random_state) == ((8, 16), 4, 5)
    for name, cls in (("coreset", CoreSetSampler), ("entropy", EntropySampler),
                      ("random", RandomSampler)):
        s = make_strategy(name, 9, selector_epochs=4, device="cpu")
        assert isinstance(s, cls) and s.random_state == 9


def test_derive_seed_is_pure_and_separates_purposes():
    assert derive_seed(0, "model", 3) == derive_seed(0, "model", 3)
    seeds = {derive_seed(s, p, c) for s in (0, 1)
             for p in ("initial", "model", "query", "full") for c in (0, 1)}
    assert len(seeds) == 16
    assert all(0 <= s < 2 ** 31 for s in seeds)


def test_check_split_returns_the_rest_of_the_train_set():
    np.testing.assert_array_equal(check_split([4, 0, 2], 6), [1, 3, 5])
    with pytest.raises(RuntimeError, match="outside the training set"):
        check_split([0, 6], 6)          # index 6 would be past the train set
    with pytest.raises(RuntimeError, match="outside the training set"):
        check_split([-1], 6)
    with pytest.raises(RuntimeError, match="twice"):
        check_split([1, 1], 6)
    with pytest.raises(RuntimeError, match="integer"):
        check_split([0.5], 6)


# -- a full run ------------------------------------------------------------------
def test_rows_per_strategy_seed_and_cycle(full_run):
    config, out, rows = full_run
    assert len(rows) == len(ALL) * 3
    assert [(r["strategy"], r["cycle"]) for r in rows] == \
        [(s, c) for s in ALL for c in range(3)]
    for r in rows:
        assert set(r) == set(RESULT_FIELDS)
        assert 0.0 <= r["accuracy"] <= 1.0 and r["train_seconds"] > 0
    for name in ALL:
        mine = [r for r in rows if r["strategy"] == name]
        assert [r["n_labeled"] for r in mine] == SIZES
        assert [r["fraction"] for r in mine] == [0.1, 0.15, 0.2]
        assert [r["n_selected"] for r in mine] == [67, 67, 0]
        assert mine[-1]["query_seconds"] == 0.0
        assert all(r["query_seconds"] > 0 for r in mine[:-1])
    # Same initial set and same cycle-0 model seed: one cycle-0 accuracy.
    assert len({r["accuracy"] for r in rows if r["cycle"] == 0}) == 1


def test_labeled_indices_are_distinct_train_positions(full_run, dataset):
    config, out, rows = full_run
    state = _checkpoint(out)
    initial = None
    for name in ALL:
        labeled = state["runs"][f"{name}/seed0"]["labeled"]
        assert len(labeled) == SIZES[-1] == len(set(labeled))
        assert min(labeled) >= 0 and max(labeled) < len(dataset.y_train)
        initial = initial or labeled[:SIZES[0]]
        assert labeled[:SIZES[0]] == initial
    assert state["dataset"]["fingerprint"] == dataset_fingerprint(dataset)
    assert state["full_data"]["accuracy"] > 0.2


def test_output_files(full_run):
    config, out, rows = full_run
    assert load_results(out) == rows
    assert load_results(out / "results.csv") == rows  # the file itself
    with open(out / "results.csv", newline="") as file:
        assert tuple(csv.DictReader(file).fieldnames) == RESULT_FIELDS
    assert ExperimentConfig.from_dict(
        json.loads((out / "config.json").read_text())) == config
    for name in ("learning_curves.png", "query_time.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    summary = (out / "summary.md").read_text()
    assert "| strategy | 10 % | 15 % | 20 % | AUC |" in summary
    full = _checkpoint(out)["full_data"]["accuracy"]
    assert f"Full training set: {100 * full:.2f} %." in summary
    for name in ALL:
        a = [r["accuracy"] for r in rows if r["strategy"] == name]
        auc = (0.05 * (a[0] + a[1]) / 2 + 0.05 * (a[1] + a[2]) / 2) / 0.1
        assert f"| {name} | {100 * a[0]:.2f} ± 0.00 | {100 * a[1]:.2f} ± " \
            f"0.00 | {100 * a[2]:.2f} ± 0.00 | {100 * auc:.2f} ± 0.00 |" \
            in summary
        q = [r for r in rows if r["strategy"] == name]
        per_100 = 100 * sum(r["query_seconds"] for r in q) / 134
        assert f"| {name} | {per_100:.3f} ± 0.000 |" in summary


# -- resuming --------------------------------------------------------------------
class _Stop(Exception):
    pass


def test_resume_after_a_stop_matches_an_uninterrupted_run(tmp_path, dataset,
                                                          pair_run):
    config, reference, expected = pair_run
    seen = []

    def stop_at_second_cycle(row):
        seen.append(row)
        if len(seen) == 2:
            raise _Stop
    with pytest.raises(_Stop):
        run_experiment(config, tmp_path, progress=False, dataset=dataset,
                       callback=stop_at_second_cycle)
    state = _checkpoint(tmp_path)
    assert [len(r["rows"]) for r in state["runs"].values()] == [2]
    assert len(load_results(tmp_path)) == 2
    resumed = []
    rows = run_experiment(config, tmp_path, progress=False, dataset=dataset,
                          callback=resumed.append)
    assert [(r["strategy"], r["cycle"]) for r in resumed] == \
        [("aalu", 2), ("vaal", 0), ("vaal", 1), ("vaal", 2)]
    assert _same(rows) == _same(expected)
    for key, run in _checkpoint(reference)["runs"].items():
        assert _checkpoint(tmp_path)["runs"][key]["labeled"] == run["labeled"]


def test_resume_after_losing_cycles_from_the_checkpoint(tmp_path, dataset,
                                                        pair_run):
    config, reference, expected = pair_run
    for name in ("checkpoint.json", "config.json", "results.csv"):
        shutil.copy(reference / name, tmp_path / name)
    state = _checkpoint(tmp_path)
    run = state["runs"]["vaal/seed0"]     # as if killed during cycle 1
    run["rows"], run["labeled"] = run["rows"][:1], run["labeled"][:SIZES[1]]
    (tmp_path / "checkpoint.json").write_text(json.dumps(state))
    redone = []
    rows = run_experiment(config, tmp_path, progress=False, dataset=dataset,
                          callback=redone.append)
    assert [(r["strategy"], r["cycle"]) for r in redone] == \
        [("vaal", 1), ("vaal", 2)]
    assert _same(rows) == _same(expected)
    assert _checkpoint(tmp_path)["runs"]["vaal/seed0"]["labeled"] == \
        _checkpoint(reference)["runs"]["vaal/seed0"]["labeled"]
    # A finished run resumes to nothing.
    again = []
    run_experiment(config, tmp_path, progress=False, dataset=dataset,
                   callback=again.append)
    assert again == []


def test_another_configuration_or_dataset_is_refused(pair_run, dataset):
    config, out, _ = pair_run
    before = (out / "checkpoint.json").read_bytes()
    changed = ExperimentConfig.from_dict({**config.to_dict(), "epochs": 2})
    with pytest.raises(ConfigMismatchError, match="epochs: saved 1, now 2"):
        run_experiment(changed, out, progress=False, dataset=dataset)
    other = ImageDataset("digits", dataset.X_train, dataset.y_train,
                         dataset.X_test[::-1].copy(),
                         dataset.y_test[::-1].copy(), dataset.classes)
    with pytest.raises(ConfigMismatchError, match="other data"):
        run_experiment(config, out, progress=False, dataset=other)
    assert (out / "checkpoint.json").read_bytes() == before


def _damaged(state, how):
    if how == "truncated":
        return json.dumps(state)[:-40]
    if how == "not an object":
        return "[1, 2]"
    state["runs"]["aalu/seed0"]["labeled"][-1] = 99999  # past the train set
    return json.dumps(state)


@pytest.mark.parametrize("how, match", [
    ("truncated", "not a readable checkpoint"),
    ("not an object", "unknown format"),
    ("index outside", "inconsistent for aalu/seed0: A labeled index lies "
                      "outside the training set"),
])
def test_a_damaged_checkpoint_is_refused(pair_run, dataset, tmp_path, how,
                                         match):
    config, reference, _ = pair_run
    for name in ("checkpoint.json", "results.csv"):
        shutil.copy(reference / name, tmp_path / name)
    text = _damaged(_checkpoint(tmp_path), how)
    (tmp_path / "checkpoint.json").write_text(text)
    with pytest.raises(ConfigMismatchError, match=match):
        run_experiment(config, tmp_path, progress=False, dataset=dataset)
    assert (tmp_path / "checkpoint.json").read_text() == text


def test_a_strategy_picking_outside_the_pool_is_caught(tmp_path, dataset,
                                                       monkeypatch):
    class Outside(RandomSampler):
        def _select(self, X_labeled, y_labeled, X_pool, estimator, n, rng):
            return np.arange(X_pool.shape[0] - n + 1, X_pool.shape[0] + 1), \
                np.zeros(X_pool.shape[0])
    monkeypatch.setitem(STRATEGIES, "outside", (Outside, {}))
    config = ExperimentConfig(**{**TINY, "strategies": ("outside",)})
    with pytest.raises(RuntimeError, match="distinct positions in the pool"):
        run_experiment(config, tmp_path, progress=False, dataset=dataset)


# -- files and reports -------------------------------------------------------------
def test_atomic_write_never_leaves_a_partial_file(tmp_path):
    target = tmp_path / "results.csv"
    atomic_write(target, "old,complete\n")

    def half_then_fail(file):
        file.write(b"new,par")
        raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old,complete\n"
    assert os.listdir(tmp_path) == ["results.csv"]
    atomic_write(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert os.listdir(tmp_path) == ["results.csv"]


def test_a_resumed_run_removes_what_killed_writes_left(pair_run, dataset,
                                                       tmp_path):
    config, reference, _ = pair_run
    for name in ("checkpoint.json", "results.csv", "config.json"):
        shutil.copy(reference / name, tmp_path / name)
    left = [".checkpoint.json.k1x_z.tmp", ".summary.md.3hq0.tmp",
            ".results.csv.ab12.tmp"]
    for name in left + [".notes.md.ab12.tmp", "mine.tmp"]:
        (tmp_path / name).write_text("half")
    again = []
    run_experiment(config, tmp_path, progress=False, dataset=dataset,
                   callback=again.append)
    assert again == []                  # finished: nothing rerun
    assert not any((tmp_path / name).exists() for name in left)
    assert (tmp_path / ".notes.md.ab12.tmp").exists()   # not ours
    assert (tmp_path / "mine.tmp").exists()


def _rows():
    rows = []
    for seed, accs, q in ((0, (0.5, 0.7, 0.8), 2.0), (1, (0.7, 0.9, 1.0), 4.0)):
        for cycle, acc in enumerate(accs):
            rows.append({"strategy": "s", "seed": seed, "cycle": cycle,
                         "n_labeled": 10 + 5 * cycle,
                         "fraction": (0.1, 0.2, 0.4)[cycle], "accuracy": acc,
                         "train_seconds": 1.0,
                         "query_seconds": q if cycle < 2 else 0.0,
                         "n_selected": 50 if cycle < 2 else 0})
    return rows


def test_auc_and_tables_know_the_numbers():
    assert learning_curve_auc([0.1, 0.2, 0.4], [0.5, 0.7, 0.8]) == 0.7
    assert learning_curve_auc([0.3], [0.6]) == 0.6
    table = summary_tables(_rows(), full_accuracy=0.95)
    # mean ± sample std over the two seeds: 0.6 ± 0.1414, AUC 0.7 and 0.9
    assert "| s | 60.00 ± 14.14 | 80.00 ± 14.14 | 90.00 ± 14.14 | " \
        "80.00 ± 14.14 |" in table
    # 4 s and 8 s per 100 selected samples
    assert "| s | 6.000 ± 2.828 | 1.00 |" in table
    assert "Full training set: 95.00 %." in table
    pd = pytest.importorskip("pandas")
    assert summary_tables(pd.DataFrame(_rows()), full_accuracy=0.95) == table


def test_report_re_renders_from_saved_results(pair_run, tmp_path):
    _, reference, _ = pair_run
    for name in ("results.csv", "config.json", "checkpoint.json"):
        shutil.copy(reference / name, tmp_path / name)
    paths = write_report(tmp_path)
    assert paths["summary"].read_text() == \
        (reference / "summary.md").read_text()
    assert paths["learning_curves"].read_bytes()[:4] == b"\x89PNG"
    assert paths["query_time"].stat().st_size > 5000


def test_resume_after_a_hard_exit_of_another_process(tmp_path, dataset,
                                                     pair_run):
    config, reference, expected = pair_run
    saved = json.dumps(json.dumps(config.to_dict()))
    script = (
        "import json, os\n"
        "from aalu_sk.experiment import ExperimentConfig, run_experiment\n"
        f"config = ExperimentConfig.from_dict(json.loads({saved}))\n"
        "seen = []\n"
        "def die(row):\n"
        "    seen.append(row)\n"
        "    if len(seen) == 4:\n"
        "        os._exit(9)  # no cleanup, like a kill\n"
        f"run_experiment(config, {str(tmp_path)!r}, progress=False, "
        "callback=die)\n")
    done = subprocess.run([sys.executable, "-c", script], timeout=600)
    assert done.returncode == 9
    assert len(load_results(tmp_path)) == 4
    rows = run_experiment(config, tmp_path, progress=False, dataset=dataset)
    assert _same(rows) == _same(expected)
    for key, run in _checkpoint(reference)["runs"].items():
        assert _checkpoint(tmp_path)["runs"][key]["labeled"] == run["labeled"]


def test_a_head_on_a_label_free_representation(dataset, tmp_path):
    """representation="pixels": each cycle's model is a linear head on one
    PixelPCA of the training images, and the low-budget strategies read
    that view; the same seeds give the same rows, and the head differs
    from the model trained on the images."""
    base = {**TINY, "initial": 20, "step": 20, "final": 40, "model": "mlp",
            "epochs": 100, "lr": 1e-2, "batch_size": 32,
            "strategies": ("typiclust", "random")}
    config = ExperimentConfig(representation="pixels", **base)
    rows = run_experiment(config, tmp_path / "a", progress=False,
                          dataset=dataset)
    again = run_experiment(config, tmp_path / "b", progress=False,
                           dataset=dataset)
    assert _same(rows) == _same(again)
    scratch = run_experiment(ExperimentConfig(**base), tmp_path / "c",
                             progress=False, dataset=dataset)
    assert [r["accuracy"] for r in rows] != [r["accuracy"] for r in scratch]
    assert min(r["accuracy"] for r in rows) > 0.3  # 10 classes: chance 0.1
    with pytest.raises(ValueError, match="representation"):
        ExperimentConfig(representation="dino").validate()


@pytest.mark.slow
def test_the_ssl_representation_is_trained_once_per_dataset(dataset,
                                                            tmp_path,
                                                            caplog):
    from aalu_sk.experiment.runner import fit_representation

    config = ExperimentConfig(representation="ssl", device="cpu")
    with caplog.at_level("INFO", logger="aalu_sk.experiment.runner"):
        first = fit_representation(config, dataset, tmp_path)
    # said before the minutes of training, then with their time
    said = [r.getMessage() for r in caplog.records]
    assert said[0].startswith("representation ssl: loading ") and \
        f"training SimCLR on the {len(dataset.X_train)} training images" \
        in said[0]
    assert said[1].startswith("representation ssl: trained in ")
    second = fit_representation(config, dataset, tmp_path)
    assert not first.loaded_from_checkpoint_
    assert second.loaded_from_checkpoint_
    np.testing.assert_allclose(first.transform(dataset.X_test[:20]),
                               second.transform(dataset.X_test[:20]),
                               rtol=1e-5, atol=1e-6)
