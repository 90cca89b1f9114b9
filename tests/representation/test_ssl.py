"""SelfSupervisedEmbedding: quality, checkpoints, seeding, layouts, views."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aalu_sk.representation import SelfSupervisedEmbedding
from aalu_sk.representation.views import random_views

pytest.importorskip("lightly")


def _probe(Z, y, per_class=3, draws=3):
    """Mean test accuracy of a logistic regression on ``per_class`` labels."""
    rng = np.random.RandomState(0)
    idx = rng.permutation(len(Z))
    train, test = idx[:1000], idx[1000:]
    scores = []
    for s in range(draws):
        r = np.random.RandomState(s)
        lab = np.concatenate([r.choice(train[y[train] == c], per_class,
                                       replace=False) for c in range(10)])
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        scores.append(clf.fit(Z[lab], y[lab]).score(Z[test], y[test]))
    return float(np.mean(scores))


def test_simclr_embedding_beats_the_random_encoder_on_digits(digits):
    """Known answer: a few epochs of SimCLR make a better linear probe."""
    X, y = digits
    params = dict(batch_size=256, random_state=0)
    random_init = SelfSupervisedEmbedding(epochs=0, **params).fit(X)
    trained = SelfSupervisedEmbedding(epochs=3, **params).fit(X)
    assert len(trained.loss_history_) == 3
    assert trained.loss_history_[-1] < trained.loss_history_[0]
    base, ssl = _probe(random_init.transform(X), y), \
        _probe(trained.transform(X), y)
    assert ssl > base + 0.05, (ssl, base)


@pytest.fixture(scope="module")
def tiny():
    return np.random.RandomState(0).rand(48, 1, 8, 8).astype(np.float32)


def _fit(X, **params):
    params = {"epochs": 1, "batch_size": 16, "random_state": 0, **params}
    return SelfSupervisedEmbedding(**params).fit(X)


def test_transform_is_float32_of_the_embedding_size(tiny):
    emb = _fit(tiny)
    Z = emb.transform(tiny)
    assert Z.dtype == np.float32 and Z.shape == (48, emb.embedding_dim_) \
        == (48, 128)
    with torch.no_grad():
        expected = emb.encoder_(torch.as_tensor(tiny)).numpy()
    np.testing.assert_allclose(Z, expected, rtol=1e-5, atol=1e-6)


def test_seeded_fit_is_repeatable_and_leaves_the_global_rng(tiny):
    state = torch.get_rng_state()
    a, b = _fit(tiny).transform(tiny), _fit(tiny).transform(tiny)
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, _fit(tiny, random_state=1).transform(tiny))


def test_training_changes_the_encoder(tiny):
    assert not np.allclose(_fit(tiny, epochs=0).transform(tiny),
                           _fit(tiny, epochs=2).transform(tiny))


def test_uint8_layouts_give_the_float_embedding():
    X8 = np.random.RandomState(0).randint(0, 256, (32, 8, 8), dtype=np.uint8)
    Xf = (X8 / 255.0).astype(np.float32)[:, None]
    np.testing.assert_allclose(_fit(X8).transform(X8),
                               _fit(Xf).transform(Xf), rtol=1e-4, atol=1e-5)


def test_rgb_images_and_the_resnet_backbone():
    X = np.random.RandomState(0).randint(0, 256, (8, 16, 16, 3), np.uint8)
    emb = _fit(X, backbone="resnet18", batch_size=8, flip=True)
    assert emb.input_shape_ == (3, 16, 16)
    assert emb.transform(X).shape == (8, 512)


def test_a_module_backbone_is_copied_not_changed(tiny):
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 7))
    before = [p.clone() for p in module.parameters()]
    emb = _fit(tiny, backbone=module, epochs=2)
    assert emb.transform(tiny).shape == (48, 7)
    for a, b in zip(before, module.parameters()):
        assert torch.equal(a, b)


def test_checkpoint_is_written_once_and_loaded_for_the_same_data(tiny,
                                                                 tmp_path):
    path = tmp_path / "ssl.pt"
    first = _fit(tiny, epochs=2, checkpoint=path)
    assert path.exists() and not first.loaded_from_checkpoint_
    written = path.stat().st_mtime_ns
    again = _fit(tiny, epochs=2, checkpoint=path, random_state=0)
    assert again.loaded_from_checkpoint_ and again.loss_history_ == []
    np.testing.assert_array_equal(again.transform(tiny), first.transform(tiny))
    assert path.stat().st_mtime_ns == written
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


@pytest.mark.parametrize("change", [{"epochs": 3}, {"temperature": 0.2},
                                    {"random_state": 1}, "data"])
def test_checkpoint_of_other_data_or_params_is_not_loaded(tiny, tmp_path,
                                                          change):
    path = tmp_path / "ssl.pt"
    _fit(tiny, epochs=2, checkpoint=path)
    X, params = tiny, {"epochs": 2}
    if change == "data":
        X = tiny[::-1].copy()
    else:
        params.update(change)
    refit = _fit(X, checkpoint=path, **params)
    assert not refit.loaded_from_checkpoint_ and refit.loss_history_


def test_damaged_checkpoint_is_named_trained_again_and_replaced(
        tiny, tmp_path, caplog):
    path = tmp_path / "ssl.pt"
    path.write_bytes(b"half a checkpoint")
    with caplog.at_level("WARNING", logger="aalu_sk.representation"):
        first = _fit(tiny, epochs=2, checkpoint=path)
    assert not first.loaded_from_checkpoint_ and first.loss_history_
    assert f"checkpoint {path} does not load" in caplog.text
    assert _fit(tiny, epochs=2, checkpoint=path).loaded_from_checkpoint_


def test_device_is_not_part_of_the_fingerprint(tiny, tmp_path):
    path = tmp_path / "ssl.pt"
    _fit(tiny, checkpoint=path, device="cpu")
    assert _fit(tiny, checkpoint=path, device="auto").loaded_from_checkpoint_


def test_pickle_and_clone(tiny):
    emb = _fit(tiny)
    copy = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(copy.transform(tiny), emb.transform(tiny))
    fresh = clone(emb)
    assert fresh.get_params() == emb.get_params()
    assert not hasattr(fresh, "encoder_")


@pytest.mark.parametrize("params, match", [
    ({"method": "byol"}, "method="), ({"backbone": "vgg"}, "backbone="),
    ({"epochs": -1}, "epochs"), ({"batch_size": 0}, "batch_size"),
    ({"lr": 0}, "lr"), ({"temperature": -1.0}, "temperature"),
    ({"crop_scale": (0.8, 0.2)}, "crop_scale"),
    ({"rotation": -5}, "rotation")])
def test_bad_parameters_are_named(tiny, params, match):
    with pytest.raises(ValueError, match=match):
        _fit(tiny, **params)


def test_transform_checks_the_image_shape(tiny):
    with pytest.raises(ValueError, match=r"fitted on \(1, 8, 8\)"):
        _fit(tiny).transform(np.zeros((2, 1, 9, 9), np.float32))


def test_views_are_seeded_and_differ_between_draws():
    x = torch.rand(6, 3, 16, 16)
    a = random_views(x, torch.Generator().manual_seed(1), flip=True)
    b = random_views(x, torch.Generator().manual_seed(1), flip=True)
    c = random_views(x, torch.Generator().manual_seed(2), flip=True)
    assert torch.equal(a, b) and not torch.allclose(a, c)
