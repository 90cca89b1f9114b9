"""The audit sample: migration, held-out random images, the estimate."""

import hashlib
import sqlite3

import numpy as np
import pytest

from aalu_sk.labeling import LabelingProject, LabelStore, write_digits_folder
from aalu_sk.labeling.estimate import (accuracy_interval, active_vs_random,
                                       audit_count)
from aalu_sk.labeling.monitor import stopping_signal
from aalu_sk.labeling.store import _SCHEMA_V1


def test_a_version_1_store_migrates_and_keeps_its_batches(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA_V1)
    conn.execute("INSERT INTO batch_items VALUES (0, 0, 'abc', 'cat', 0.5)")
    conn.execute("INSERT INTO meta VALUES ('token', 'kept')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = LabelStore(path)
    assert store.schema_version == 2
    assert store.token == "kept"
    assert store.batch_items() == [{"cycle": 0, "rank": 0, "item": "abc",
                                    "prediction": "cat", "score": 0.5,
                                    "random": 0}]
    assert store.audit_items() == set()


@pytest.mark.parametrize("n, share, low, high", [(20, 0.1, 2, 2),
                                                 (5, 0.1, 0, 1),
                                                 (7, 0.0, 0, 0),
                                                 (10, 0.25, 2, 3)])
def test_audit_count_has_the_exact_expected_share(n, share, low, high):
    rng = np.random.default_rng(0)
    counts = np.array([audit_count(n, share, rng) for _ in range(4000)])
    assert counts.min() >= low and counts.max() <= high
    assert abs(counts.mean() - n * share) < 0.03


def test_wilson_interval_known_values():
    e = accuracy_interval(8, 10)
    assert e["accuracy"] == 0.8
    assert (round(e["low"], 4), round(e["high"], 4)) == (0.4902, 0.9433)
    assert accuracy_interval(0, 0) is None
    e = accuracy_interval(20, 20)
    assert e["high"] == pytest.approx(1.0) and 0.83 < e["low"] < 0.85


def test_active_vs_random_sees_an_uninformative_active_sample():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    F = rng.normal(size=(200, 2)) + 4 * y[:, None]
    # audit: a random sample; "active": only class-0 images (useless)
    audit, active = np.arange(40), np.flatnonzero(y[100:] == 0) + 100
    out = active_vs_random(F[active], y[active], F[audit], y[audit])
    assert out["random_accuracy"] > 0.95
    assert out["active_accuracy"] == pytest.approx(np.mean(y[:40] == 0))
    assert out["gain"] < -0.3 and out["high"] < 0
    same = active_vs_random(F[100:], y[100:], F[audit], y[audit])
    assert abs(same["gain"]) < 0.05 and same["low"] <= 0 <= same["high"]
    assert active_vs_random(F[:5], y[:5], F[:9], y[:9]) is None


def test_audit_images_are_marked_held_out_and_estimated(tmp_path):
    truth = write_digits_folder(tmp_path / "d", n=80, size=8)
    by_id = {hashlib.sha256(p.read_bytes()).hexdigest()[:16]: truth[p.name]
             for p in (tmp_path / "d").glob("*.png")}
    project = LabelingProject(tmp_path / "d", [str(d) for d in range(10)],
                              store=tmp_path / "s.sqlite", batch_size=10,
                              strategy="entropy", epochs=2, image_size=8,
                              device="cpu", stop_set_size=20,
                              random_share=0.3)
    for _ in range(3):
        for item in project.next_batch():
            project.label(item["id"], by_id[item["id"]])
    rows = project.store.batch_items()
    audit = project.store.audit_items()
    per_cycle = [sum(r["random"] for r in rows if r["cycle"] == c)
                 for c in range(3)]
    assert all(n in (3, 4) for n in per_cycle)
    project.retrain()
    cycles = project.store.cycles()
    # kept out of training: the model of the last cycle saw the others
    assert cycles[-1]["n_labeled"] == 30 - len(audit)
    assert cycles[-1]["metrics"]["n_audit_labeled"] == len(audit)
    estimate = project.accuracy()
    assert estimate["cycle"] == 3 and estimate["n_audit_labeled"] == len(audit)
    assert estimate["n_audit"] == len(project.store.audit_items()) > len(audit)
    guesses = cycles[-1]["metrics"]["audit_predictions"]
    assert set(guesses) == audit
    expected = np.mean([guesses[i] == by_id[i] for i in audit])
    assert estimate["accuracy"]["accuracy"] == pytest.approx(expected)
    assert estimate["accuracy"]["n"] == len(audit)
    assert project.status()["accuracy"] == estimate
    with pytest.raises(ValueError, match="random_share"):
        LabelingProject(tmp_path / "d", ["0"], store=tmp_path / "x.sqlite",
                        random_share=1.0)


def test_stopping_waits_for_enough_audit_labels(tmp_path):
    store = LabelStore(tmp_path / "s.sqlite")
    store.add_class("a", "b")
    for c in range(4):
        store.add_cycle({"cycle": c, "strategy": "x", "status": "done",
                         "label_seq": 0, "n_labeled": 5, "n_classes": 2,
                         "metrics": {"stop_predictions": ["a"],
                                     "agreement": None if c == 0 else 1.0}},
                        [{"item": f"i{c}", "prediction": "a",
                          "random": True}])
    for c in range(4):
        store.add_event(f"i{c}", "label", "a")
    signal = stopping_signal(store, 0.99, 3, min_audit=20)
    assert signal["stable"] and not signal["should_stop"]
    assert signal["accuracy"]["accuracy"]["n"] == 1   # its own audit image
    assert stopping_signal(store, 0.99, 3, min_audit=1)["should_stop"]
