"""Label review: out-of-fold probabilities ranked by cleanlab."""

import numpy as np
import pytest

pytest.importorskip("cleanlab")

from aalu_sk.labeling import LabelingProject, write_digits_folder  # noqa: E402
from aalu_sk.labeling.review import possibly_mislabeled  # noqa: E402


def test_flipped_labels_come_first_and_relabeling_keeps_history(tmp_path):
    truth = write_digits_folder(tmp_path / "d", n=150, size=8)
    project = LabelingProject(tmp_path / "d", [str(d) for d in range(10)],
                              store=tmp_path / "s.sqlite", image_size=8,
                              device="cpu")
    by_path = dict(zip(project.paths, project.items))
    wrong = {}
    for k, (path, label) in enumerate(sorted(truth.items())):
        given = label
        if k % 30 == 7:                        # 5 flipped labels
            given = str((int(label) + 5) % 10)
            wrong[by_path[path]] = label
        project.label(by_path[path], given)
    out = project.review(limit=10)
    assert out["n_labeled"] == out["n_reviewed"] == 150
    top = [i["id"] for i in out["items"]]
    assert len(top) == 10
    assert len(set(top) & set(wrong)) >= 4, (top, wrong)
    assert out["items"][0]["quality"] <= out["items"][-1]["quality"]
    first = next(i for i in out["items"] if i["id"] in wrong)
    assert first["suggested"] == wrong[first["id"]]
    assert sum(i["issue"] for i in out["items"] if i["id"] in wrong) >= 2
    project.label(first["id"], first["suggested"], who="reviewer")
    assert [e["label"] for e in project.history(first["id"])][-1] == \
        wrong[first["id"]]
    assert len(project.history(first["id"])) == 2
    again = [i["id"] for i in project.review(limit=150)["items"]]
    assert again.index(first["id"]) > top.index(first["id"])
    with pytest.raises(ValueError, match="limit"):
        project.review(limit=0)


def test_small_classes_are_left_out():
    X = np.arange(12, dtype=float)[:, None]
    y = ["a"] * 6 + ["b"] * 5 + ["c"]
    out = possibly_mislabeled(X, y, ["a", "b", "c", "d"])
    assert out["n_reviewed"] == 11 and out["left_out"] == 1
    assert 11 not in out["rows"]
    out = possibly_mislabeled(X[:6], y[:6], ["a", "b"])
    assert out["rows"] == [] and out["left_out"] == 6
