"""The labeling loop without the server: store, index, batches, exchange."""

import csv
import hashlib
import sqlite3
import threading
import time

import numpy as np
import pytest
from PIL import Image

from aalu_sk.labeling import (SCHEMA_VERSION, LabelingProject, LabelStore,
                              StoreError, default_store_path,
                              write_digits_folder)
from aalu_sk.labeling.coverage import coverage_batch
from aalu_sk.labeling.images import index_folder
from aalu_sk.strategies.registry import STRATEGIES

FAST = dict(epochs=2, selector_epochs=1, image_size=8, device="cpu", random_share=0,
            stop_set_size=50)


def _item(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode).save(path)
    return path


@pytest.fixture
def digits(tmp_path):
    truth = write_digits_folder(tmp_path / "digits", n=60, size=8)
    return tmp_path / "digits", truth


def _project(folder, tmp_path, classes=tuple("0123456789"), **kw):
    return LabelingProject(folder, classes, store=tmp_path / "s.sqlite",
                           **{"batch_size": 5, "strategy": "entropy",
                              **FAST, **kw})


# -- store ---------------------------------------------------------------------
def test_store_schema_is_versioned_and_uses_wal(tmp_path):
    store = LabelStore(tmp_path / "a.sqlite")
    assert store.schema_version == SCHEMA_VERSION == 2
    mode = store.connection().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    token = store.token
    assert LabelStore(tmp_path / "a.sqlite").token == token  # kept per store
    assert LabelStore(tmp_path / "b.sqlite").token != token


def test_store_refuses_a_newer_schema_and_junk(tmp_path):
    conn = sqlite3.connect(tmp_path / "new.sqlite")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        LabelStore(tmp_path / "new.sqlite")
    (tmp_path / "junk.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="not a usable"):
        LabelStore(tmp_path / "junk.sqlite")


def test_history_keeps_every_event_and_the_last_write_wins(tmp_path):
    store = LabelStore(tmp_path / "h.sqlite")
    store.add_event("i1", "label", "cat", who="alice")
    store.add_event("i1", "label", "dog", who="bob")
    store.add_event("i2", "label", "cat", who="alice")
    store.add_event("i2", "undo", who="alice")
    assert store.labels() == {"i1": "dog"}
    assert [(e["label"], e["who"]) for e in store.history("i1")] == \
        [("cat", "alice"), ("dog", "bob")]
    assert store.states()["i2"] == ("undo", None)
    assert store.labels(upto_seq=1) == {"i1": "cat"}


def test_add_cycle_drops_items_answered_meanwhile_and_keeps_order(tmp_path):
    store = LabelStore(tmp_path / "c.sqlite")
    seq = store.add_event("b", "label", "x")          # before the snapshot
    store.add_event("c", "label", "x")                # during the retrain
    store.add_event("d", "skip")                      # during the retrain
    cycle = {"cycle": 0, "strategy": "t", "status": "done", "label_seq": seq,
             "n_labeled": 1, "n_classes": 1}
    batch = [{"item": i} for i in "edcba"]
    assert store.add_cycle(cycle, batch, drop_labeled_after=seq) == \
        ["e", "b", "a"]
    with pytest.raises(StoreError, match="not the next"):
        store.add_cycle(cycle, batch)


def test_default_store_is_outside_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = default_store_path(tmp_path / "imgs")
    assert path.parent == tmp_path / "data" / "aalu_sk" / "labeling"
    assert path.name.startswith("imgs-") and path.suffix == ".sqlite"
    assert default_store_path(tmp_path / "imgs") == path
    assert default_store_path(tmp_path / "other") != path


# -- index -----------------------------------------------------------------------
def test_index_handles_formats_modes_sizes_corrupt_and_duplicates(tmp_path):
    d = tmp_path / "mixed"
    rng = np.random.default_rng(0)
    _save(d / "gray.png", rng.integers(0, 255, (20, 30)))
    rgba = rng.integers(0, 255, (16, 16, 4))
    rgba[..., 3] = 0                                  # fully transparent
    _save(d / "sub" / "rgba.png", rgba, "RGBA")
    _save(d / "photo.jpg", rng.integers(0, 255, (40, 20, 3)))
    _save(d / "pic.bmp", rng.integers(0, 255, (9, 9, 3)))
    _save(d / "pic.webp", rng.integers(0, 255, (12, 12, 3)))
    (d / "copy.png").write_bytes((d / "gray.png").read_bytes())
    (d / "broken.png").write_bytes((d / "gray.png").read_bytes()[:40])
    (d / "empty.jpg").write_bytes(b"")
    (d / "notes.txt").write_text("not an image")
    index = index_folder(d, size=8)
    # copy.png sorts first, so it is shown and gray.png is its duplicate
    assert index.paths == ["copy.png", "photo.jpg", "pic.bmp", "pic.webp",
                           "sub/rgba.png"]
    assert index.X.shape == (5, 8, 8, 3) and index.X.dtype == np.uint8
    assert np.all(index.X[index.paths.index("sub/rgba.png")] == 255)  # white
    assert sorted(p for p, _ in index.unreadable) == ["broken.png",
                                                      "empty.jpg"]
    assert index.duplicates == [("gray.png", _item(d / "gray.png"))]
    gray_only = index_folder(d / "sub", size=8)
    assert gray_only.X.shape == (1, 8, 8, 3)  # RGBA counts as colour


def test_grayscale_folders_give_one_channel(digits):
    folder, _ = digits
    index = index_folder(folder, size=8)
    assert index.X.shape == (60, 8, 8)


# -- cold start --------------------------------------------------------------------
def test_coverage_batch_takes_one_image_per_cluster():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    X = np.concatenate([c + rng.normal(0, 0.3, (n, 2))
                        for c, n in zip(centres, (40, 5, 5, 5))])
    picked = coverage_batch(X, 4, random_state=0)
    groups = np.repeat(np.arange(4), (40, 5, 5, 5))[picked]
    assert sorted(groups) == [0, 1, 2, 3] and groups[0] == 0
    assert list(coverage_batch(X[:3], 5)) == [0, 1, 2]


def test_first_batch_covers_the_folder_not_the_first_names(tmp_path):
    d = tmp_path / "three"
    for k in range(30):                                # a_*: all black
        _save(d / f"a_{k:02d}.png", np.full((8, 8), k % 3))
    _save(d / "m_stripes.png", np.tile([0, 255], (8, 4)))
    _save(d / "m_stripes2.png", np.tile([5, 250], (8, 4)))
    _save(d / "z_white.png", np.full((8, 8), 255))
    _save(d / "z_white2.png", np.full((8, 8), 250))
    project = _project(d, tmp_path, classes=["x"], batch_size=3)
    names = sorted(b["path"][0] for b in project.next_batch())
    assert names == ["a", "m", "z"]
    assert all(b["prediction"] is None for b in project.current_batch())
    assert project.store.cycles()[0]["strategy"] == "coverage"


# -- the loop ----------------------------------------------------------------------
def test_loop_labels_retrains_and_predicts_class_names(digits, tmp_path):
    folder, truth = digits
    project = _project(folder, tmp_path)
    first = project.next_batch()
    assert len(first) == 5
    for b in first:
        project.label(b["id"], truth[b["path"]])
    second = project.next_batch()
    assert len(second) == 5
    assert not {b["id"] for b in second} & {b["id"] for b in first}
    assert all(b["prediction"] in project.classes for b in second)
    cycle = project.store.cycles()[-1]
    assert (cycle["strategy"], cycle["n_labeled"]) == ("entropy", 5)
    assert cycle["metrics"]["class_counts"] == {
        c: sum(truth[b["path"]] == c for b in first) for c in project.classes}
    project.skip(second[0]["id"])
    assert second[0]["id"] not in {b["id"] for b in project.current_batch()}
    project.undo(second[0]["id"])
    assert second[0]["id"] in {b["id"] for b in project.current_batch()}
    for b in second:
        project.label(b["id"], truth[b["path"]])
    third = project.next_batch()
    curve = project.learning_curve()
    assert [c["n_checked"] for c in curve] == [5, 0]
    hits = sum(b["prediction"] == truth[b["path"]] for b in second)
    assert curve[0]["batch_accuracy"] == hits / 5
    assert curve[1]["agreement"] is not None and len(third) == 5
    assert project.status()["n_labeled"] == 10


def test_label_refuses_unknown_ids_and_classes(digits, tmp_path):
    folder, _ = digits
    project = _project(folder, tmp_path)
    item = project.next_batch()[0]["id"]
    with pytest.raises(ValueError, match="unknown class 'cat'"):
        project.label(item, "cat")
    with pytest.raises(ValueError, match="unknown id 'nope'"):
        project.label("nope", "1")


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_can_choose_the_next_batch(strategy, digits,
                                                  tmp_path):
    folder, truth = digits
    project = _project(folder, tmp_path, strategy=strategy)
    for b in project.next_batch():
        project.label(b["id"], truth[b["path"]])
    project.next_batch()
    cycle = project.store.cycles()[-1]
    assert cycle["strategy"] == strategy, cycle["message"]


def test_classes_can_be_added_later(digits, tmp_path):
    folder, truth = digits
    project = _project(folder, tmp_path, classes=["0", "1"])
    batch = project.next_batch()
    project.add_class("other")
    assert project.classes == ["0", "1", "other"]
    for b in batch:
        value = truth[b["path"]]
        project.label(b["id"], value if value in "01" else "other")
    project.next_batch()
    assert project.store.cycles()[-1]["n_classes"] == 3
    with pytest.raises(ValueError, match="twice"):
        LabelingProject(folder, ["a", "a"], store=tmp_path / "x.sqlite")


def test_one_class_only(digits, tmp_path):
    folder, _ = digits
    project = _project(folder, tmp_path, classes=["digit"])
    for b in project.next_batch():
        project.label(b["id"], "digit")
    batch = project.next_batch()
    assert len(batch) == 5 and {b["prediction"] for b in batch} == {"digit"}


def test_retrain_never_blocks_labels_and_loses_nothing(digits, tmp_path):
    folder, truth = digits
    project = _project(folder, tmp_path, epochs=300, prefetch=1.0)
    first = project.next_batch()
    for b in first[:-1]:
        project.label(b["id"], truth[b["path"]])
    assert not project.request_batch()                 # not due yet
    project.label(first[-1]["id"], truth[first[-1]["path"]])
    assert project.request_batch()
    assert not project.request_batch()                 # one at a time
    project.label(first[0]["id"], "9", who="late")     # while it trains:
    assert project.progress["running"]                 # it did not wait
    while project.progress["running"]:
        time.sleep(0.05)
    assert project.progress["error"] is None
    assert project.store.labels()[first[0]["id"]] == "9"
    assert project.store.cycles()[-1]["n_labeled"] == 5
    assert len(project.current_batch()) == 5


def test_prefetch_queues_the_next_batch_behind_the_current(digits,
                                                          tmp_path):
    folder, truth = digits
    project = _project(folder, tmp_path, prefetch=0.6)
    first = project.next_batch()
    for b in first[:2]:
        project.label(b["id"], truth[b["path"]])
    assert not project.request_batch()                 # 2/5 < 0.6
    project.skip(first[2]["id"])                       # skips count too
    project.undo(first[2]["id"])
    assert not project.request_batch()
    project.label(first[2]["id"], truth[first[2]["path"]])
    assert project.request_batch()                     # 3/5 answered
    while project.progress["running"]:
        time.sleep(0.05)
    assert not project.request_batch()                 # one queued is enough
    current = project.current_batch()
    assert [b["id"] for b in current] == [b["id"] for b in first[3:]]
    status = project.status()
    assert (status["n_open"], status["n_queued"]) == (7, 5)
    queued = project.store.batch_items(1)
    assert not {r["item"] for r in queued} & {b["id"] for b in first}
    assert project.store.cycles()[1]["n_labeled"] == 3
    for b in current:
        project.label(b["id"], truth[b["path"]])
    assert [b["id"] for b in project.current_batch()] == \
        [r["item"] for r in queued]
    project.undo(first[0]["id"])                        # an old one comes back
    assert [b["id"] for b in project.current_batch()] == [first[0]["id"]]


def test_reopening_resumes_and_checks_the_folder(digits, tmp_path):
    folder, truth = digits
    project = _project(folder, tmp_path)
    batch = project.next_batch()
    project.label(batch[0]["id"], truth[batch[0]["path"]])
    again = _project(folder, tmp_path)
    assert [b["id"] for b in again.current_batch()] == \
        [b["id"] for b in batch[1:]]
    assert again.store.token == project.store.token
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(StoreError, match="belongs to the folder"):
        _project(other, tmp_path)


# -- bad folders ---------------------------------------------------------------------
def test_empty_folder_and_only_corrupt_files(tmp_path):
    (tmp_path / "empty").mkdir()
    project = _project(tmp_path / "empty", tmp_path)
    assert project.items == [] and project.next_batch() == []
    bad = tmp_path / "bad"
    bad.mkdir()
    for k in range(3):
        (bad / f"{k}.png").write_bytes(b"\x89PNG garbage" * k)
    project = LabelingProject(bad, ["a"], store=tmp_path / "bad.sqlite",
                              **FAST)
    assert project.next_batch() == []
    assert [p for p, _ in project.unreadable] == ["0.png", "1.png", "2.png"]
    assert project.status()["n_unreadable"] == 3
    with pytest.raises(ValueError, match="not a folder"):
        LabelingProject(tmp_path / "missing", ["a"],
                        store=tmp_path / "m.sqlite")


def test_unicode_and_spaces_in_names_and_classes(tmp_path):
    d = tmp_path / "mes images"
    rng = np.random.default_rng(1)
    names = ["chat noir é.png", "日本/画像 1.png", "a b/c d.jpg"]
    for name in names:
        _save(d / name, rng.integers(0, 255, (8, 8, 3)))
    classes = ["chat noir", "café", "日本"]
    project = LabelingProject(d, classes, store=tmp_path / "u.sqlite",
                              batch_size=3, **FAST)
    batch = project.next_batch()
    for b, value in zip(sorted(batch, key=lambda b: b["path"]), classes):
        project.label(b["id"], value)
    out = project.export(tmp_path / "u.csv")
    rows = list(csv.reader(open(out, encoding="utf-8")))
    assert rows[0] == ["path", "label"]
    assert sorted(map(tuple, rows[1:])) == sorted(zip(sorted(names), classes))
    again = LabelingProject(d, classes, store=tmp_path / "u2.sqlite", **FAST)
    assert again.import_labels(out)["imported"] == 3
    assert again.store.labels() == project.store.labels()


def test_ten_thousand_tiny_images(tmp_path, capsys):
    d = tmp_path / "many"
    rng = np.random.default_rng(0)
    for k in range(10_000):
        _save(d / f"{k // 1000}" / f"{k:05d}.png",
              rng.integers(0, 255, (8, 8)))
    start = time.perf_counter()
    project = LabelingProject(d, ["a", "b"], store=tmp_path / "many.sqlite",
                              batch_size=10, **FAST)
    seconds = time.perf_counter() - start
    assert len(project.items) == 10_000
    batch = project.next_batch()
    assert len(batch) == 10 and len({b["path"][0] for b in batch}) > 1
    with capsys.disabled():
        print(f"\n[labeling] indexed 10,000 8x8 PNGs in "
              f"{project.index_seconds:.1f}s (open with store "
              f"{seconds:.1f}s)")


# -- exchange -------------------------------------------------------------------
def test_export_import_round_trip(digits, tmp_path):
    folder, truth = digits
    dup = folder / "zz_copy.png"
    project = _project(folder, tmp_path)
    batch = project.next_batch()
    dup.write_bytes((folder / batch[0]["path"]).read_bytes())
    project = _project(folder, tmp_path)               # index the copy
    for b in batch:
        project.label(b["id"], truth[b["path"]])
    out = project.export(tmp_path / "labels.csv")
    rows = list(csv.DictReader(open(out)))
    assert {r["path"]: r["label"] for r in rows} == {
        **{b["path"]: truth[b["path"]] for b in batch},
        "zz_copy.png": truth[batch[0]["path"]]}
    fresh = _project(folder, tmp_path / "fresh")
    assert fresh.import_labels(out) == {"imported": 5, "unchanged": 0,
                                        "missing": []}
    assert fresh.store.labels() == project.store.labels()
    assert fresh.import_labels(out)["unchanged"] == 5
    tasks = __import__("json").loads(project.export(format="labelstudio"))
    labeled = [t for t in tasks if t["annotations"]]
    assert len(tasks) == 61 and len(labeled) == 6
    labels = project.store.labels()
    for task in labeled:
        result = task["annotations"][0]["result"][0]
        assert result["value"]["choices"] == [labels[task["meta"]["item"]]]
    with pytest.raises(ValueError, match="format='xml'"):
        project.export(format="xml")


def test_import_refuses_unknown_classes_and_paths(digits, tmp_path):
    folder, truth = digits
    project = _project(folder, tmp_path, classes=["0"])
    path = tmp_path / "in.csv"
    path.write_text("path,label\ndigit_0000.png,seven\n")
    with pytest.raises(ValueError, match=r"unknown classes \['seven'\]"):
        project.import_labels(path)
    assert project.import_labels(path, add_classes=True)["imported"] == 1
    path.write_text("path,label\nnot_there.png,0\n")
    with pytest.raises(ValueError, match="not_there.png"):
        project.import_labels(path)
    assert project.import_labels(path, missing="skip")["missing"] == \
        ["not_there.png"]
    path.write_text("file,class\nx,y\n")
    with pytest.raises(ValueError, match="'path' and 'label'"):
        project.import_labels(path)


def test_concurrent_labels_from_threads_all_land(digits, tmp_path):
    folder, _ = digits
    project = _project(folder, tmp_path)
    items = project.items[:40]

    def work(offset):
        for item in items[offset::4]:
            project.label(item, "1", who=f"t{offset}")
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert set(project.store.labels()) == set(items)


def test_the_web_stack_is_imported_only_by_the_app():
    import subprocess
    import sys
    code = ("import sys, aalu_sk, aalu_sk.cli, aalu_sk.labeling; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('fastapi', 'uvicorn', 'starlette', 'selenium')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
