"""The labeling project's representation: cold start, cache, model, option."""

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from aalu_sk import ImageClassifier
from aalu_sk import cli
from aalu_sk.labeling import LabelingProject
from aalu_sk.labeling.embedding import FolderEmbedding, check_representation
from aalu_sk.modules import EmbeddingHead, SmallCNN
from aalu_sk.representation import PixelPCA, PretrainedEmbedding

FAST = dict(epochs=5, selector_epochs=1, image_size=16, device="cpu",
            random_share=0, stop_set_size=20, strategy="entropy")


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), "L").save(path)


def _patterns(folder):
    """30 'a' checkerboards, 2 'b' ones of the other phase, 2 'c' stripes.

    Their 8x8 thumbnails (2x2 averages) are all the same grey, so the
    thumbnails cannot tell the groups apart, while the pixels do.
    """
    rng = np.random.default_rng(0)
    board = np.indices((16, 16)).sum(axis=0) % 2 * 200.0 + 20
    stripes = np.indices((16, 16))[1] % 2 * 200.0 + 20
    for name, base, n in (("a", board, 30), ("b", 240 - board, 2),
                          ("c", stripes, 2)):
        for k in range(n):
            _save(folder / f"{name}_{k:02d}.png",
                  base + rng.integers(-3, 4, base.shape))
    return folder


def _open(folder, tmp_path, **kw):
    return LabelingProject(folder, ["a", "b", "c"],
                           store=tmp_path / "s.sqlite", **{**FAST, **kw})


def test_first_batch_covers_the_embedding_not_the_thumbnails(tmp_path):
    folder = _patterns(tmp_path / "patterns")
    project = _open(folder, tmp_path, batch_size=3, representation="pixels")
    groups = sorted(b["path"][0] for b in project.next_batch())
    assert groups == ["a", "b", "c"]
    cycle = project.store.cycles()[0]
    assert cycle["strategy"] == "coverage"
    assert cycle["metrics"]["representation"] == "pixels"
    # The same folder, thumbnails: all the same grey, no way to find b, c.
    plain = LabelingProject(folder, ["a"], store=tmp_path / "t.sqlite",
                            **{**FAST, "batch_size": 3,
                               "representation": "none"})
    assert sorted(b["path"][0] for b in plain.next_batch()) != \
        ["a", "b", "c"]
    assert plain.embedding_path is None and plain.folder_embedding() is None


def test_embedding_is_cached_beside_the_store_and_refitted_on_change(
        tmp_path):
    folder = _patterns(tmp_path / "patterns")
    project = _open(folder, tmp_path, representation="pixels")
    assert project.representation_info["state"] == "not fitted"
    project.next_batch()
    path = project.embedding_path
    assert path.parent == project.store.path.parent and path.is_file()
    assert project.representation_info["state"] == "fitted"
    assert project.status()["representation"]["dim"] == \
        project.folder_embedding().embedding_.shape[1]
    stamp, first = path.stat().st_mtime_ns, project.folder_embedding()

    again = _open(folder, tmp_path, representation="pixels")
    reopened = again.folder_embedding()
    assert again.representation_info["state"] == "loaded"
    assert path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(reopened.transform(again.X_),
                                  first.transform(project.X_))

    _save(folder / "d_new.png", np.full((16, 16), 128))   # the folder changed
    changed = _open(folder, tmp_path, representation="pixels")
    embedding = changed.folder_embedding()
    assert changed.representation_info["state"] == "fitted"
    assert embedding.embedding_.shape[0] == 35 == len(changed.items)
    assert path.stat().st_mtime_ns != stamp
    # A file that does not load is fitted again.
    path.write_bytes(b"not an npz")
    broken = _open(folder, tmp_path, representation="pixels")
    assert broken.folder_embedding() is not None
    assert broken.representation_info["state"] == "fitted"


def test_the_model_is_a_head_on_the_embedding(tmp_path):
    folder = _patterns(tmp_path / "patterns")
    project = _open(folder, tmp_path, batch_size=6, representation="pixels")
    for item in project.next_batch():
        project.label(item["id"], item["path"][0])
    assert project.predict() is None                 # no model yet
    batch = project.next_batch()
    net = project.model_
    assert isinstance(net, ImageClassifier) and not net.finetune
    assert isinstance(net.representation, FolderEmbedding)
    assert net.representation is project.folder_embedding()
    assert isinstance(net.module_, EmbeddingHead)
    assert net.module_.fc.in_features == \
        project.folder_embedding().embedding_.shape[1]
    assert all(b["prediction"] in project.classes for b in batch)
    guesses = project.predict()
    assert len(guesses) == len(project.items)
    # the three patterns are told apart by a head on the embedding
    truth = [p[0] for p in project.paths]
    assert np.mean(np.asarray(guesses) == truth) > 0.9
    # without a representation: the task model, from scratch
    plain = _open(folder, tmp_path / "plain", batch_size=6,
                  representation="none")
    for item in plain.next_batch():
        plain.label(item["id"], item["path"][0])
    plain.next_batch()
    assert isinstance(plain.model_.module_, SmallCNN)


def test_a_fitted_folder_embedding_is_frozen_and_refuses_unknown_images():
    X = np.random.default_rng(0).integers(0, 256, (20, 8, 8)).astype(np.uint8)
    embedding = FolderEmbedding(PixelPCA(n_components=5)).fit(X)
    from sklearn.base import clone
    assert clone(embedding) is embedding
    assert not hasattr(clone(FolderEmbedding(PixelPCA())), "embedding_")
    Z = embedding.transform(X[::-1])
    assert Z.shape == (20, 5)
    np.testing.assert_array_equal(Z[::-1], embedding.transform(X))
    with pytest.raises(ValueError, match="not one of the 20 images"):
        embedding.transform(255 - X[:1])


def test_bad_representations_are_refused_by_name(tmp_path, monkeypatch):
    folder = _patterns(tmp_path / "patterns")
    with pytest.raises(ValueError, match="representation='pca'.*pixels"):
        _open(folder, tmp_path, representation="pca")
    with pytest.raises(ValueError, match="pretrained:SOURCE:MODEL"):
        check_representation("pretrained:resnet18")
    with pytest.raises(TypeError, match="fit"):
        _open(folder, tmp_path, representation=object())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(ValueError, match="representation='pretrained:"
                                         "torchvision:resnet18'.*cache"):
        _open(folder, tmp_path, representation="pretrained:torchvision:"
                                               "resnet18")
    assert not (tmp_path / "s.sqlite").exists()   # refused before writing


def test_a_pretrained_backbone_from_a_local_file(tmp_path):
    folder = _patterns(tmp_path / "patterns")
    weights = tmp_path / "mobilenet.pth"
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), weights)
    rep = PretrainedEmbedding("torchvision:mobilenet_v3_small",
                              weights=weights, image_size=32)
    project = _open(folder, tmp_path, batch_size=4, representation=rep,
                    strategy="random")   # random weights: flat guesses
    assert project.representation_info["name"] == \
        "pretrained:torchvision:mobilenet_v3_small"
    assert project.embedding_path.name.endswith(
        ".embedding-pretrained-torchvision-mobilenet_v3_small.npz")
    for item in project.next_batch():
        project.label(item["id"], item["path"][0])
    project.next_batch()
    assert project.model_.module_.fc.in_features == 576


def test_the_option_is_refused_by_name(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["label", str(tmp_path), "--classes", "a,b",
                  "--representation", "pca"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("aalu-sk label: error: argument --representation: ")
    assert "none, pixels, ssl" in err, err
    with pytest.raises(SystemExit) as exc:
        cli.main(["label", str(tmp_path), "--classes", "a,b",
                  "--representation-weights", str(tmp_path / "w.pth")])
    assert "argument --representation-weights: only for --representation " \
           "pretrained:SOURCE:MODEL" in str(exc.value.code)
    assert not list(tmp_path.iterdir())     # refused before any store
    text = cli.build_parser().subcommands()["label"].format_help()
    assert "--representation NAME" in text and "Default: pixels" in text
