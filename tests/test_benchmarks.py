"""The benchmark scripts still run: each one's smoke mode, as a command.

``make bench`` takes hours, so CI runs only the ``--quick`` modes, which
exercise the same code paths on tiny settings and write into a temporary
folder. A script that breaks against the library fails here, not the
next time someone regenerates the results.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_script(name, *args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_query_speed_quick(tmp_path):
    out = tmp_path / "speed.md"
    run_script("bench_query_speed.py", "--quick", "--strategies",
               "aalu,aalu_paper,vaal,entropy", "--out", out)
    text = out.read_text()
    assert "| 500 |" in text and "| 1000 |" in text
    assert "aalu_paper s/100" in text


@pytest.mark.slow
def test_score_quality_quick(tmp_path):
    out = tmp_path / "quality.md"
    run_script("score_quality.py", "--quick", "--out", out)
    text = out.read_text()
    for name in ("aalu", "aalu_unsorted", "aalu_v0", "aalu_paper", "margin",
                 "entropy"):
        assert f"| {name} |" in text
    assert "selector s" in text
    for protocol in ("digits-small", "digits", "mnist5k", "digits-vlow",
                     "mnist5k-vlow"):
        assert f"## `{protocol}`" in text


def test_query_cost_quick(tmp_path):
    out = tmp_path / "cost.md"
    run_script("query_cost.py", "--quick", "--out", out)
    text = out.read_text()
    # digits-small's first query past the cold start: 120 labeled, +60
    assert "| digits-small | 120 | 60 |" in text


def test_probcover_radius_quick(tmp_path):
    out = tmp_path / "radius.md"
    run_script("probcover_radius.py", "--quick", "--out", out)
    text = out.read_text()
    assert "## digits, `pixels` view" in text
    heuristic = text.split("Heuristic radius: ")[1].split(".\n")[0]
    assert f"| **{heuristic}** |" in text  # its row is there, in bold
    assert text.count("| 0.200 |") == 1


def test_head_recipes_quick(tmp_path):
    """Both recipes are trained and the difference is theirs, per draw."""
    out = tmp_path / "heads.md"
    run_script("head_recipes.py", "--quick", "--out", out)
    text = out.read_text()
    assert "## digits, `pixels` (1347 training and 450 test images" in text
    rows = [line.split(" | ") for line in text.splitlines()
            if line.startswith(("| 20 |", "| 50 |"))]
    assert len(rows) == 2
    for row in rows:
        settings, head, diff = (float(v) for v in row[1:4])
        assert abs(head - settings - diff) < 0.11
        assert 10 < settings < 100 and 10 < head < 100


@pytest.mark.slow
def test_label_efficiency_quick_and_report(tmp_path):
    runs, results = tmp_path / "runs", tmp_path / "results"
    common = ["--protocols", "digits-small", "--run-dir", runs,
              "--results-dir", results]
    run_script("bench_label_efficiency.py", "--quick", *common)
    for name in ("aalu", "aalu_paper", "random", "margin_div"):
        assert (runs / "digits-small" / name / "results.csv").is_file()
    text = (results / "label_efficiency.md").read_text()
    assert "## Protocol `digits-small`" in text
    assert "Targets for the default `aalu`" in text
    assert "From the committed" not in text
    # A later report without a run's folder takes its rows from the CSV
    # the first one wrote: the same page, said to be from the archive.
    archive = (results / "label_efficiency.csv").read_text()
    full = (results / "label_efficiency_full_data.json").read_text()
    assert '"digits-small"' in full
    shutil.rmtree(runs / "digits-small" / "margin_div")
    run_script("bench_label_efficiency.py", "--quick", "--report-only",
               *common)
    again = (results / "label_efficiency.md").read_text()
    assert "From the committed `label_efficiency.csv` (runs made by " \
        "earlier invocations, not in this run folder): `margin+div`." in again
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table == [line for line in again.splitlines()
                     if line.startswith("| ")]
    assert (results / "label_efficiency.csv").read_text() == archive
    assert (results / "label_efficiency_full_data.json").read_text() == full
    # A report on fewer strategies keeps the others' rows in the archive.
    run_script("bench_label_efficiency.py", "--quick", "--report-only",
               "--strategies", "random", *common)
    assert "| margin+div |" not in (results / "label_efficiency.md").read_text()
    assert sorted((results / "label_efficiency.csv").read_text()
                  .splitlines()) == sorted(archive.splitlines())
    assert (results / "label_efficiency_full_data.json").read_text() == full
    # Archived rows whose full-data model scored otherwise were made with
    # other numerics: the page and the script say so.
    assert "Caution" not in again
    (results / "label_efficiency_full_data.json").write_text(
        full.replace('"digits-small": 0.', '"digits-small": 0.0'))
    done = run_script("bench_label_efficiency.py", "--quick", "--report-only",
                      *common)
    page = (results / "label_efficiency.md").read_text()
    assert "**Caution:** the full-data model scores" in page
    assert "digits-small: the full-data model scores" in done.stderr
    assert "rows of margin+div were made with other numerics" in done.stderr
    # The same full-data model but another first model: still not paired.
    (results / "label_efficiency_full_data.json").write_text(full)
    lines = archive.splitlines()
    header = lines[0].split(",")
    col = {name: i for i, name in enumerate(header)}
    for i, line in enumerate(lines):
        cells = line.split(",")
        if cells[col["strategy"]] == "margin+div" and \
                cells[col["cycle"]] == "0" and cells[col["seed"]] == "1":
            cells[col["accuracy"]] = "0.01"
            lines[i] = ",".join(cells)
    (results / "label_efficiency.csv").write_text("\n".join(lines) + "\n")
    done = run_script("bench_label_efficiency.py", "--quick", "--report-only",
                      *common)
    page = (results / "label_efficiency.md").read_text()
    assert "the full-data model scores" not in page
    assert "**Caution:** the first model (cycle 0) of `margin+div` " \
        "(seeds [1]) differs from random's" in page
    assert "first model of margin+div differs from random's on seeds [1]" \
        in done.stderr


def test_label_efficiency_ablation_is_the_default_with_p_in_class_order(
        monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import bench_label_efficiency as bench
    from aalu_sk.strategies import STRATEGIES, make_strategy

    before = dict(STRATEGIES)
    try:
        config = bench._config("digits-small", "aalu_unsorted", [0], True)
        assert config.strategies == ("aalu_unsorted",)
        ablation, default = make_strategy("aalu_unsorted"), \
            make_strategy("aalu")
        assert ablation.sort_prediction is False
        assert {k: v for k, v in ablation.get_params().items()
                if k != "sort_prediction"} == \
            {k: v for k, v in default.get_params().items()
             if k != "sort_prediction"}
    finally:
        STRATEGIES.clear()
        STRATEGIES.update(before)


@pytest.mark.slow
def test_lowbudget_quick(tmp_path):
    out = tmp_path / "lowbudget.md"
    run_script("bench_lowbudget.py", "--quick", "--out", out)
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    names = [r.split("|")[1].strip() for r in rows[1:]]
    assert names == ["random", "typiclust", "typiclust (raw pixels)",
                     "probcover", "probcover (raw pixels)",
                     "probcover (delta=0.8)",
                     "skactiveml TypiClust", "skactiveml ProbCover"]
    assert "acc@10" in rows[0] and "acc@30" in rows[0]


def test_unpaired_first_models_are_named_with_their_seeds(monkeypatch):
    """A strategy whose cycle-0 model scored otherwise than random's on a
    seed was made with other numerics; without random, the majority is the
    reference."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import bench_label_efficiency as bench

    def rows(first):
        return [{"strategy": name, "seed": seed, "cycle": cycle,
                 "accuracy": acc if cycle == 0 else 0.9}
                for name, accs in first.items()
                for seed, acc in enumerate(accs) for cycle in (0, 1)]

    same = {"random": [0.5, 0.6], "aalu": [0.5, 0.6], "badge": [0.5, 0.6]}
    assert bench.unpaired_first_models(rows(same)) == {}
    other = dict(same, badge=[0.5, 0.61])
    assert bench.unpaired_first_models(rows(other)) == {"badge": [1]}
    # random is the reference even when it is the odd one out
    odd = dict(same, random=[0.4, 0.6])
    assert bench.unpaired_first_models(rows(odd)) == {"aalu": [0],
                                                      "badge": [0]}
    del odd["random"]
    odd["coreset"] = [0.4, 0.6]
    assert bench.unpaired_first_models(rows(odd)) == {"coreset": [0]}


def test_labels_to_reach_a_share_of_full_data(monkeypatch):
    """The first labeled-set size at or above the share, per seed; '>N'
    when a seed never gets there, and the mean over those that did."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import bench_label_efficiency as bench

    curves = {0: [0.5, 0.85, 0.95], 1: [0.6, 0.7, 0.8]}
    rows = [{"strategy": "random", "seed": seed, "n_labeled": 20 * (i + 1),
             "accuracy": acc}
            for seed, accs in curves.items() for i, acc in enumerate(accs)]
    lines = bench.labels_to_reach(rows, ["random"], [0, 1], 1.0)
    row = lines[-1]
    # 90%: seed 0 at 60 labels (0.95), seed 1 never; 95%: the same
    assert row.startswith("| random | 60 (1/2) | 60 (1/2) | 60 >60 |")
    lines = bench.labels_to_reach(rows, ["random"], [0, 1], 0.9)
    # 90% of 0.9 is 0.81: seed 0 at 40, seed 1 never (0.8 < 0.81)
    assert lines[-1].startswith("| random | 40 (1/2) |")
    assert bench.labels_to_reach(rows, ["random"], [0, 1], None) == []


def test_cold_start_ablations_the_default_by_construction(monkeypatch):
    """aalu_cold10 is the default where the default also switches at 10
    (from scratch); either ablation is where the first query already has
    the switch's labels per class; otherwise both must be run."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import bench_label_efficiency as bench

    def first(n):  # the default's cycle-0 rows: n labels, 10 classes
        return [{"strategy": "aalu", "seed": seed, "cycle": 0,
                 "n_labeled": n} for seed in (0, 1)]

    same = bench.same_as_default
    assert "ends at 10" in same("digits-vlow", "aalu_cold10", first(20))
    assert same("digits-vlow", "aalu_nocold", first(20)) is None
    assert same("digits-vlow", "aalu_nocold", first(99)) is None
    assert "10 labels per class" in same("digits-vlow", "aalu_nocold",
                                         first(100))
    # a frozen representation switches at 5: cold10 differs below 10
    assert same("digits-vlow+ssl", "aalu_cold10", first(60)) is None
    why = same("digits-vlow+ssl", "aalu_nocold", first(60))
    assert "6 labels per class" in why and "the 5 where" in why
    assert same("digits-vlow+ssl", "aalu_nocold", first(49)) is None
    assert same("digits-vlow+ssl", "aalu_cold10", first(100)) is not None
    assert same("digits-vlow+ssl", "aalu", first(100)) is None
    assert same("digits-vlow", "aalu_cold10", []) is not None
    assert same("digits-vlow", "aalu_nocold", []) is None


@pytest.mark.slow
def test_labeling_coldstart_quick(tmp_path):
    out = tmp_path / "coldstart.md"
    run_script("bench_labeling_coldstart.py", "--quick", "--out", out)
    rows = [line for line in out.read_text().splitlines()
            if line.startswith("| none |") or line.startswith("| pixels |")]
    assert len(rows) == 4                  # the summary and the per-seed rows
    assert "acc. after 2 (36 labels)" in out.read_text()


def test_replayed_vaal_picks_what_it_picks_when_run(tmp_path, monkeypatch):
    """On a protocol that only changes the task model, VAAL replaying its
    twin's picks makes the rows a real run makes; query seconds are the
    twin's, and a twin of other settings, seeds or cycles is refused."""
    import json

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import bench_label_efficiency as bench
    from aalu_sk.experiment import load_dataset, load_results, run_experiment

    from _replay import ReplayPicks

    monkeypatch.setitem(bench.PROTOCOLS, "digits-vlow+pixels", dict(
        bench.PROTOCOLS["digits-vlow"], representation="pixels"))
    seeds = [0, 1]
    twin = tmp_path / "digits-vlow" / "vaal"
    run_experiment(bench._config("digits-vlow", "vaal", seeds, True), twin,
                   progress=False)
    config = bench._config("digits-vlow+pixels", "vaal", seeds, True)
    run_experiment(config, tmp_path / "real", progress=False)
    bench.replay_twin(config, tmp_path / "replayed", twin)

    def runs(folder):
        state = json.loads((folder / "checkpoint.json").read_text())
        return {k: r["labeled"] for k, r in state["runs"].items()}

    assert runs(tmp_path / "replayed") == runs(tmp_path / "real")
    assert runs(twin) == runs(tmp_path / "real")
    real, replayed = (load_results(tmp_path / name)
                      for name in ("real", "replayed"))
    key = ("seed", "cycle", "n_labeled", "accuracy", "n_selected")
    assert [[r[k] for k in key] for r in replayed] == \
        [[r[k] for k in key] for r in real]
    assert [r["query_seconds"] for r in replayed] == \
        [r["query_seconds"] for r in load_results(twin)]
    assert (tmp_path / "replayed" / "summary.md").is_file()

    dataset = load_dataset("digits")
    with pytest.raises(RuntimeError, match=r"no run of seeds \[2\]"):
        ReplayPicks(twin, bench._config("digits-vlow+pixels", "vaal",
                                        [0, 1, 2], True), dataset)
    other = bench._config("digits-vlow+pixels", "vaal", seeds, False)
    with pytest.raises(RuntimeError, match="other .*'final'"):
        ReplayPicks(twin, other, dataset)
    state = json.loads((twin / "checkpoint.json").read_text())
    state["runs"]["vaal/seed1"]["rows"].pop()
    (twin / "checkpoint.json").write_text(json.dumps(state))
    with pytest.raises(RuntimeError, match="seed 1 has 1 of 2 cycles"):
        ReplayPicks(twin, config, dataset)
    with pytest.raises(RuntimeError, match="holds no run to replay"):
        ReplayPicks(tmp_path / "nowhere", config, dataset)


def test_ssl_protocols_train_the_head_as_aalu_sk_run_does(monkeypatch):
    """The +ssl figures the docs give were made with the head recipe that
    ``aalu-sk run --representation`` uses by default."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import bench_label_efficiency as bench
    from aalu_sk.experiment.runner import HEAD_SETTINGS

    ssl = [p for p in bench.PROTOCOLS if p.endswith("+ssl")]
    assert ssl
    for name in ssl:
        protocol = bench.PROTOCOLS[name]
        assert {k: protocol[k] for k in HEAD_SETTINGS} == HEAD_SETTINGS
