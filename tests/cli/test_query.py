"""``aalu-sk query``: next images to label from files (and on Ray)."""

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aalu_sk import cli
from aalu_sk.cli.query import list_pool, read_table
from aalu_sk.strategies import make_strategy


@pytest.fixture(scope="module")
def folders(tmp_path_factory, digits):
    """labeled/<class>/*.png (3 classes) and pool/{a,b}/*.png of digits."""
    X, y = digits
    root = tmp_path_factory.mktemp("query")
    images = (X[:, 0] * 255).astype(np.uint8)
    rng = np.random.RandomState(0)
    for k in range(3):
        (root / "labeled" / f"c{k}").mkdir(parents=True)
        for i in np.flatnonzero(y == k)[:8]:
            Image.fromarray(images[i]).save(root / "labeled" / f"c{k}" /
                                            f"{i}.png")
    pool = rng.choice(np.flatnonzero(y < 3)[24:], 30, replace=False)
    for j, i in enumerate(pool):
        sub = root / "pool" / ("a" if j % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i]).save(sub / f"img{i:04d}.png")
    return root


def _local_answer(folders, name, n):
    from aalu_sk import ImageClassifier
    from aalu_sk.cli.query import _read_images, _read_labeled

    X_l, y_l, k = _read_labeled(folders / "labeled", 8, True)
    ids, paths = list_pool(folders / "pool")
    strategy = make_strategy(name, random_state=0)
    net = ImageClassifier("small_cnn", num_classes=k, max_epochs=2,
                          random_state=0,
                          record_losses=strategy.reads_training_losses())
    net.fit(X_l, y_l)
    return list(np.asarray(ids)[strategy.query(
        X_l, y_l, _read_images(paths, 8, "L"), net, n)])


def test_pool_folder_is_listed_recursively_in_order(folders):
    ids, paths = list_pool(folders / "pool")
    assert len(ids) == 30 and ids == sorted(ids)
    assert all(i.startswith(("a/", "b/")) for i in ids)
    assert all(p.endswith(i) for i, p in zip(ids, paths))


@pytest.mark.parametrize("name", ["entropy+div", "coreset"])
def test_query_writes_the_local_answer(folders, tmp_path, name, capsys):
    out = tmp_path / "next.txt"
    assert cli.main(["query", "--labeled", str(folders / "labeled"),
                     "--pool", str(folders / "pool"), "--n", "5",
                     "--out", str(out), "--strategy", name,
                     "--image-size", "8", "--grayscale", "--epochs", "2",
                     "--device", "cpu"]) == 0
    assert out.read_text().split() == _local_answer(folders, name, 5)
    assert "5 ids of 30 pool images" in capsys.readouterr().err


def test_query_on_a_representation_trains_a_head_on_it(folders, tmp_path,
                                                       capsys):
    """--representation pixels: the labeling app's folder embedding of the
    labeled and pool images (no labels) and its linear head; the answer of
    the same model built with the Python API, cached beside --out."""
    from aalu_sk.cli.query import _read_images, _read_labeled
    from aalu_sk.labeling.cycle import head_classifier
    from aalu_sk.labeling.embedding import (FolderEmbedding,
                                            make_representation)

    out = tmp_path / "next.txt"
    assert cli.main(["query", "--labeled", str(folders / "labeled"),
                     "--pool", str(folders / "pool"), "--n", "5", "--out",
                     str(out), "--strategy", "margin", "--image-size", "8",
                     "--grayscale", "--representation", "pixels",
                     "--device", "cpu", "--quiet"]) == 0
    assert capsys.readouterr().err == ""    # --quiet: nothing but problems
    assert (tmp_path / "aalu-sk-query.embedding-pixels.npz").is_file()
    X_l, y_l, k = _read_labeled(folders / "labeled", 8, True)
    ids, paths = list_pool(folders / "pool")
    X_pool = _read_images(paths, 8, "L")
    embedding = FolderEmbedding(make_representation("pixels", 0, "cpu")).fit(
        np.concatenate([X_pool, X_l]))
    net = head_classifier(embedding, k, device="cpu",
                          random_state=0).fit(X_l, y_l)
    expected = np.asarray(ids)[make_strategy("margin", random_state=0).query(
        X_l, y_l, X_pool, net, 5)]
    assert out.read_text().split() == list(expected)
    scratch = _local_answer(folders, "margin", 5)
    assert list(expected) != scratch    # another model: other picks


def _split_tables(folders, tmp_path, moved, y):
    """labeled.csv: the labeled folder plus pool images ``moved`` (labeled
    with the digit ``y`` of their index); pool.csv: the rest of the pool."""
    labeled = sorted((folders / "labeled").glob("c*/*.png"))
    ids, paths = list_pool(folders / "pool")
    with open(tmp_path / "labeled.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label"])
        w.writerows((str(p), p.parent.name) for p in labeled)
        for j in moved:
            w.writerow([paths[j], f"c{y[int(Path(paths[j]).stem[3:])]}"])
    with open(tmp_path / "pool.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "path"])
        w.writerows((i, p) for j, (i, p) in enumerate(zip(ids, paths))
                    if j not in moved)


def test_next_round_loads_the_cached_representation(folders, tmp_path,
                                                    digits, caplog):
    """A second query, after images moved from the pool to the labeled
    set, loads the embedding the first one fitted (the same images in
    another split) and does not fit it again."""
    import logging

    cache = tmp_path / "cache" / "emb.npz"
    argv = ["--n", "3", "--strategy", "margin", "--image-size", "8",
            "--grayscale", "--representation", "pixels", "--device", "cpu",
            "--representation-cache", str(cache)]
    caplog.set_level(logging.INFO, logger="aalu_sk")
    assert cli.main(["query", "--labeled", str(folders / "labeled"),
                     "--pool", str(folders / "pool"), "--out",
                     str(tmp_path / "r1.txt")] + argv) == 0
    assert "fitting on the 54 labeled and pool images" in caplog.text
    first = cache.stat().st_mtime_ns
    caplog.clear()
    _split_tables(folders, tmp_path, {0, 1, 2}, digits[1])
    assert cli.main(["query", "--labeled", str(tmp_path / "labeled.csv"),
                     "--pool", str(tmp_path / "pool.csv"), "--out",
                     str(tmp_path / "r2.txt")] + argv) == 0
    assert f"representation pixels: loaded from {cache}" in caplog.text
    assert "fitting" not in caplog.text
    assert cache.stat().st_mtime_ns == first
    assert len((tmp_path / "r2.txt").read_text().split()) == 3


@pytest.mark.parametrize("extra, message", [
    (["--representation", "pixels", "--ray-address", "local"],
     "argument --representation: pixels is fitted here on the pool's "
     "images, and --ray-address reads them on the cluster"),
    (["--representation", "pixels", "--estimator", "model.pkl"],
     "argument --representation: pixels is for a head trained here, and "
     "--estimator brings a fitted model"),
    (["--representation-weights", "w.pth"],
     "argument --representation-weights: only for --representation "
     "pretrained:SOURCE:MODEL, not 'none'"),
    (["--representation", "dino"],
     "argument --representation: --representation 'dino': use one of"),
    (["--representation-cache", "e.npz"],
     "argument --representation-cache: only with a --representation"),
    (["--representation", "pixels", "--representation-cache", "."],
     "argument --representation-cache: . is a folder; give a file name")])
def test_representation_options_are_checked(folders, tmp_path, extra,
                                            message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(_argv(folders, tmp_path) + extra)
    assert message in str(exc.value) + capsys.readouterr().err
    assert not (tmp_path / "o.txt").exists()


def test_missing_pretrained_weights_are_refused_before_any_work(
        folders, tmp_path, monkeypatch):
    """No weights in the (empty) torch hub cache: refused naming
    --representation and the option that gives a file; nothing is
    written."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(SystemExit) as exc:
        cli.main(_argv(folders, tmp_path) + [
            "--representation", "pretrained:torchvision:resnet18"])
    message = str(exc.value)
    assert message.startswith("aalu-sk query: error: argument "
                              "--representation: ")
    assert "are not in the torch hub cache" in message
    assert "(aalu-sk: --representation-weights FILE)" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_uncreatable_cache_folder_is_refused_before_training(
        folders, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as exc:
        cli.main(_argv(folders, tmp_path) + [
            "--representation", "pixels", "--representation-cache",
            str(blocker / "sub" / "e.npz")])
    assert "argument --representation-cache: " in str(exc.value)
    assert not (tmp_path / "o.txt").exists()


def test_a_cache_that_cannot_be_written_is_named_and_the_query_goes_on(
        folders, tmp_path, caplog):
    """/proc takes no new file (even as root): the fit is kept for this
    call, a warning says it was not cached, and the ids are written."""
    import logging

    caplog.set_level(logging.WARNING, logger="aalu_sk")
    assert cli.main(_argv(folders, tmp_path) + [
        "--representation", "pixels", "--representation-cache",
        "/proc/aalu-sk-test.npz"]) == 0
    assert "but not cached (--representation-cache /proc/aalu-sk-test.npz" \
        in caplog.text
    assert len((tmp_path / "o.txt").read_text().split()) == 3


def test_query_reads_csv_tables(folders, tmp_path):
    ids, paths = list_pool(folders / "pool")
    with open(tmp_path / "pool.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "path"])
        w.writerows(zip([f"x{i}" for i in range(len(ids))], paths))
    table = read_table(tmp_path / "pool.csv")
    assert table["id"][:2] == ["x0", "x1"]
    out = tmp_path / "next.txt"
    cli.main(["query", "--labeled", str(folders / "labeled"), "--pool",
              str(tmp_path / "pool.csv"), "--n", "4", "--out", str(out),
              "--strategy", "entropy", "--image-size", "8", "--grayscale",
              "--epochs", "2", "--device", "cpu"])
    expected = _local_answer(folders, "entropy", 4)
    assert out.read_text().split() == [f"x{ids.index(i)}" for i in expected]


@pytest.mark.parametrize("extra, message", [
    (["--pool", "missing_dir"], "argument --pool: missing_dir is neither"),
    (["--n", "31"], "argument --n: 31 is more than the pool's 30 images"),
    (["--strategy", "nope"], "Unknown strategy 'nope'")])
def test_bad_query_options(folders, tmp_path, extra, message, capsys):
    argv = ["query", "--labeled", str(folders / "labeled"), "--pool",
            str(folders / "pool"), "--n", "3", "--out",
            str(tmp_path / "o.txt"), "--image-size", "8", "--grayscale",
            "--epochs", "1"] + extra
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert message in str(exc.value) + capsys.readouterr().err


def _argv(folders, tmp_path, pool=None):
    return ["query", "--labeled", str(folders / "labeled"), "--pool",
            str(pool or folders / "pool"), "--n", "3", "--out",
            str(tmp_path / "o.txt"), "--image-size", "8", "--grayscale",
            "--epochs", "1", "--device", "cpu"]


def test_bad_estimator_and_out_are_refused_by_option(folders, tmp_path):
    import pickle

    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with open(tmp_path / "dict.pkl", "wb") as f:
        pickle.dump({"a": 1}, f)
    cases = [
        (["--estimator", str(tmp_path / "none.pkl")],
         "argument --estimator: [Errno 2] No such file"),
        (["--estimator", str(tmp_path / "junk.pkl")],
         "junk.pkl is not a pickled task model"),
        (["--estimator", str(tmp_path / "dict.pkl")],
         "dict.pkl holds a dict, not a fitted classifier"),
        (["--out", str(tmp_path)], "argument --out: "),
        (["--out", str(tmp_path / "junk.pkl" / "o.txt")],
         "argument --out: ")]
    for extra, message in cases:
        with pytest.raises(SystemExit) as exc:
            cli.main(_argv(folders, tmp_path) + extra)
        assert message in str(exc.value)
    assert not (tmp_path / "o.txt").exists()


def _pool_with_a_broken_file(folders, tmp_path):
    import shutil

    pool = tmp_path / "pool"
    shutil.copytree(folders / "pool", pool)
    (pool / "b" / "img9999.png").write_bytes(b"not a png")
    return pool


def test_unreadable_pool_image_is_named(folders, tmp_path):
    pool = _pool_with_a_broken_file(folders, tmp_path)
    with pytest.raises(SystemExit) as exc:
        cli.main(_argv(folders, tmp_path, pool))
    assert "argument --pool: Cannot read image file " \
        f"{str(pool / 'b' / 'img9999.png')!r}" in str(exc.value)


@pytest.mark.slow
def test_unreadable_pool_image_on_ray_is_named(ray_cluster, folders,
                                               tmp_path):
    pool = _pool_with_a_broken_file(folders, tmp_path)
    with pytest.raises(SystemExit) as exc:
        cli.main(_argv(folders, tmp_path, pool) + ["--ray-address", "local"])
    assert "argument --pool: Cannot read image file " \
        f"{str(pool / 'b' / 'img9999.png')!r}" in str(exc.value)


@pytest.mark.slow
def test_quiet_keeps_ray_data_lines_and_bars_to_itself(ray_cluster):
    import logging

    from aalu_sk.cli._options import start_ray

    logger = logging.getLogger("ray.data")
    context = ray_cluster.data.DataContext.get_current()
    before = logger.level, context.enable_progress_bars
    try:
        context.enable_progress_bars = True
        logger.setLevel(logging.INFO)
        assert start_ray("query", "local", quiet=False) is ray_cluster
        assert (logger.level, context.enable_progress_bars) == \
            (logging.INFO, True)
        assert start_ray("query", "local", quiet=True) is ray_cluster
        assert (logger.level, context.enable_progress_bars) == \
            (logging.ERROR, False)
    finally:
        logger.setLevel(before[0])
        context.enable_progress_bars = before[1]


@pytest.mark.slow
def test_query_on_ray_gives_the_local_answer(ray_cluster, folders, tmp_path):
    out = tmp_path / "next.txt"
    cli.main(["query", "--labeled", str(folders / "labeled"), "--pool",
              str(folders / "pool"), "--n", "5", "--out", str(out),
              "--strategy", "entropy", "--image-size", "8", "--grayscale",
              "--epochs", "2", "--device", "cpu", "--ray-address", "local"])
    assert out.read_text().split() == _local_answer(folders, "entropy", 5)


def test_importing_the_package_and_the_cli_does_not_load_ray():
    import subprocess
    import sys

    code = ("import sys, aalu_sk, aalu_sk.distributed, aalu_sk.cli; "
            "aalu_sk.cli.build_parser(); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_run_with_ray_scoring_gives_the_local_results(ray_cluster, tmp_path):
    import json

    tiny = ["--dataset", "digits", "--seeds", "0", "--initial", "60",
            "--step", "30", "--final", "120", "--model", "small_cnn",
            "--epochs", "1", "--batch-size", "64", "--strategies",
            "entropy+div,coreset", "--device", "cpu", "--quiet"]
    assert cli.main(["run", *tiny, "--out", str(tmp_path / "local")]) == 0
    assert cli.main(["run", *tiny, "--out", str(tmp_path / "ray"),
                     "--ray-address", "local"]) == 0
    runs = [json.loads((tmp_path / d / "checkpoint.json").read_text())
            ["runs"] for d in ("local", "ray")]
    labeled = [{k: v["labeled"] for k, v in r.items()} for r in runs]
    assert labeled[0] == labeled[1]
    assert all(len(v) == 120 for v in labeled[0].values())
