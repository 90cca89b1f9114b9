"""ImageClassifier: layouts, features, losses, augmentation, devices."""

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback
from torch import nn

from aalu_sk import ImageClassifier
from aalu_sk.augmentation import (check_augment, crop_padding, random_crop,
                                  random_flip)
from aalu_sk.modules import (CifarResNet18, EmbeddingHead, RepresentationNet,
                             SmallCNN)
from aalu_sk.representation import SelfSupervisedEmbedding

ROOT = Path(__file__).resolve().parents[1]


def test_forward_pass_features_are_the_last_linear_input(split, fitted_net):
    X = split[0][:10]
    out = fitted_net.forward_pass(X)
    module = fitted_net.module_
    with torch.no_grad():
        expected = module.features(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(out.features, expected, rtol=1e-5, atol=1e-6)


def test_forward_pass_probabilities_and_losses(split, fitted_net):
    X, y = split[0][:30], split[1][:30]
    out = fitted_net.forward_pass(X, y)
    np.testing.assert_allclose(out.proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(out.loss, -np.log(out.proba[np.arange(30), y]),
                               rtol=1e-4)
    np.testing.assert_array_equal(fitted_net.predict(X), out.proba.argmax(1))
    np.testing.assert_allclose(fitted_net.per_sample_loss(X, y), out.loss)
    np.testing.assert_allclose(fitted_net.transform(X), out.features)


def test_forward_pass_is_batched_and_batch_size_does_not_matter(
        split, fitted_net, monkeypatch):
    X = split[2][:50]
    whole = fitted_net.forward_pass(X)
    monkeypatch.setattr(fitted_net, "batch_size", 7)
    seen = []
    hook = fitted_net.module_.register_forward_hook(
        lambda m, i, o: seen.append(i[0].shape[0]))
    try:
        batched = fitted_net.forward_pass(X)
    finally:
        hook.remove()
    assert max(seen) == 7 and sum(seen) == 50
    np.testing.assert_allclose(batched.proba, whole.proba, rtol=1e-5,
                               atol=1e-6)


def test_uint8_channels_last_equals_float_channels_first():
    rng = np.random.RandomState(0)
    X8 = rng.randint(0, 256, size=(12, 8, 8, 3), dtype=np.uint8)
    Xf = (X8.transpose(0, 3, 1, 2) / 255.0).astype(np.float32)
    y = np.arange(12) % 3
    kw = dict(module="small_cnn", num_classes=3, max_epochs=2, random_state=0)
    a = ImageClassifier(**kw).fit(X8, y)
    b = ImageClassifier(**kw).fit(Xf, y)
    assert a.input_shape_ == b.input_shape_ == (3, 8, 8)
    np.testing.assert_allclose(a.predict_proba(X8), b.predict_proba(Xf),
                               rtol=1e-5, atol=1e-6)


def test_uint8_grayscale_gets_a_channel_and_is_scaled():
    rng = np.random.RandomState(0)
    X8 = rng.randint(0, 256, size=(10, 8, 8), dtype=np.uint8)
    Xf = (X8 / 255.0).astype(np.float32)[:, None]
    kw = dict(module="small_cnn", num_classes=2, max_epochs=1, random_state=0)
    a = ImageClassifier(**kw).fit(X8, np.arange(10) % 2)
    b = ImageClassifier(**kw).fit(Xf, np.arange(10) % 2)
    np.testing.assert_allclose(a.predict_proba(X8), b.predict_proba(Xf),
                               rtol=1e-5, atol=1e-6)


def test_default_module_is_cifar_resnet18():
    X = np.random.RandomState(0).rand(4, 3, 32, 32).astype(np.float32)
    net = ImageClassifier(num_classes=10, max_epochs=1, batch_size=4,
                          random_state=0).fit(X, [0, 1, 2, 3])
    assert isinstance(net.module_, CifarResNet18)
    conv1 = net.module_.net.conv1
    assert conv1.kernel_size == (3, 3) and conv1.stride == (1, 1)
    assert isinstance(net.module_.net.maxpool, nn.Identity)
    assert net.transform(X).shape == (4, 512)
    assert net.predict_proba(X).shape == (4, 10)


def test_any_module_class_or_instance_with_module_params():
    class Tiny(nn.Module):
        def __init__(self, n_out=2, hidden=6):
            super().__init__()
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden),
                                      nn.ReLU())
            self.head = nn.Linear(hidden, n_out)

        def forward(self, x):
            return self.head(self.body(x))

    X = np.random.RandomState(0).rand(8, 1, 8, 8).astype(np.float32)
    y = np.arange(8) % 2
    net = ImageClassifier(Tiny, module__hidden=5, max_epochs=1,
                          random_state=0).fit(X, y)
    assert net.transform(X).shape == (8, 5)
    inst = ImageClassifier(Tiny(hidden=3), max_epochs=1,
                           random_state=0).fit(X, y)
    assert inst.transform(X).shape == (8, 3)
    # an explicit feature layer: the input of "body.1" (the hidden Linear)
    net = ImageClassifier(Tiny, feature_layer="body.1", max_epochs=1,
                          random_state=0).fit(X, y)
    assert net.transform(X).shape == (8, 64)
    with pytest.raises(ValueError, match="feature_layer='nope'"):
        ImageClassifier(Tiny, feature_layer="nope", max_epochs=1).fit(
            X, y).transform(X)


def test_module_without_linear_needs_feature_layer():
    X = np.random.RandomState(0).rand(4, 1, 8, 8).astype(np.float32)
    module = nn.Sequential(nn.Conv2d(1, 2, 8), nn.Flatten())
    net = ImageClassifier(module, max_epochs=1).fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="feature_layer"):
        net.transform(X)


def test_unknown_module_name():
    with pytest.raises(ValueError, match="resnet18"):
        ImageClassifier("resnet1000").fit(np.zeros((2, 1, 8, 8), np.float32),
                                          [0, 1])


def test_augment_flips_only_in_training(monkeypatch):
    X = np.zeros((16, 1, 4, 4), np.float32)
    X[:, :, :, 0] = 1.0  # left column bright: flipped images differ
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 2)

        def forward(self, x):
            seen.append(x.detach().clone())
            return self.fc(x.flatten(1))

    net = ImageClassifier(Probe, augment=True, max_epochs=3, batch_size=16,
                          random_state=0).fit(X, np.arange(16) % 2)
    train_batches = torch.cat(seen)
    flipped = (train_batches[:, 0, :, -1] == 1).all(1)
    assert 0 < flipped.float().mean() < 1  # some flipped, some not
    seen.clear()
    net.predict_proba(X)
    assert (torch.cat(seen)[:, 0, :, 0] == 1).all()  # never at prediction


def test_fit_is_seeded_and_leaves_global_rng(split):
    X, y = split[0], split[1]
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    kw = dict(module="small_cnn", num_classes=10, max_epochs=1,
              augment=True, random_state=5)
    a = ImageClassifier(**kw).fit(X, y).predict_proba(X)
    b = ImageClassifier(**kw).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(np_state[1], np.random.get_state()[1])


def test_num_classes_covers_classes_missing_from_the_first_labels():
    X = np.random.RandomState(0).rand(6, 1, 8, 8).astype(np.float32)
    net = ImageClassifier("small_cnn", num_classes=10, max_epochs=1).fit(
        X, [0, 1, 2, 0, 1, 2])
    assert net.predict_proba(X).shape == (6, 10)
    np.testing.assert_array_equal(net.classes_, np.arange(10))
    inferred = ImageClassifier("small_cnn", max_epochs=1).fit(X, [0, 4] * 3)
    assert inferred.predict_proba(X).shape == (6, 5)


def test_device_auto_resolves_and_missing_cuda_is_a_clear_error():
    X = np.zeros((2, 1, 8, 8), np.float32)
    net = ImageClassifier("small_cnn", max_epochs=1).fit(X, [0, 1])
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert net.device == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            ImageClassifier("small_cnn", device="cuda").fit(X, [0, 1])


def test_forward_pass_checks_image_shape(fitted_net):
    with pytest.raises(ValueError, match=r"fitted on \(1, 8, 8\)"):
        fitted_net.forward_pass(np.zeros((2, 3, 8, 8), np.float32))


def test_small_cnn_handles_mnist_size():
    m = SmallCNN(num_classes=10, in_channels=1)
    assert m(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="needs a CUDA device")
def test_cuda_training_and_cpu_loading(tmp_path):
    import pickle

    X = np.random.RandomState(0).rand(8, 1, 8, 8).astype(np.float32)
    net = ImageClassifier("small_cnn", num_classes=2, max_epochs=1,
                          device="cuda").fit(X, np.arange(8) % 2)
    assert next(net.module_.parameters()).is_cuda
    blob = pickle.dumps(net)
    assert pickle.loads(blob).predict_proba(X).shape == (8, 2)


# -- the streamed forward pass ---------------------------------------------------
def test_prefetched_pass_equals_batch_by_batch_passes(split, fitted_net):
    X_pool = split[2]  # 240 images, batch_size 128: two batches, prefetched
    whole = fitted_net.forward_pass(X_pool, split[3])
    bs = fitted_net.batch_size
    parts = [fitted_net.forward_pass(X_pool[s:s + bs], split[3][s:s + bs])
             for s in range(0, len(X_pool), bs)]
    for i, name in enumerate(("features", "proba", "loss")):
        np.testing.assert_array_equal(
            whole[i], np.concatenate([getattr(p, name) for p in parts]))


def test_prefetch_keeps_order_passes_errors_and_stops_early():
    from aalu_sk._runtime import prefetch

    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(prefetch(broken()))
    produced = []

    def endless():
        for i in range(10**6):
            produced.append(i)
            yield i

    items = prefetch(endless(), depth=2)
    assert next(items) == 0
    items.close()  # the producer thread stops instead of running on
    assert len(produced) < 10


def test_inference_dtype_is_checked_and_float32_on_the_cpu(split, fitted_net):
    X = split[2][:40]
    expected = fitted_net.forward_pass(X)
    net = pickle.loads(pickle.dumps(fitted_net))
    for dtype in ("bfloat16", "float16", "float32"):
        out = net.set_params(inference_dtype=dtype).forward_pass(X)
        np.testing.assert_array_equal(out.proba, expected.proba)
    with pytest.raises(ValueError, match="inference_dtype='half'"):
        net.set_params(inference_dtype="half").forward_pass(X)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", ["auto", "float16"])
def test_cuda_pass_in_reduced_precision_is_close_to_float32(dtype):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(300, 16, 16, 3)).astype(np.uint8)
    y = np.arange(300) % 3
    net = ImageClassifier("resnet18", num_classes=3, max_epochs=1,
                          batch_size=64, device="cuda", random_state=0,
                          inference_dtype="float32").fit(X, y)
    exact = net.forward_pass(X, y)
    fast = net.set_params(inference_dtype=dtype).forward_pass(X, y)
    assert fast.features.dtype == np.float32
    np.testing.assert_allclose(fast.proba, exact.proba, atol=0.05)
    np.testing.assert_allclose(fast.loss, exact.loss, rtol=0.1, atol=0.05)
    conv = next(m for m in net.module_.modules()
                if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous()  # channels_last was undone


# -- shuffling -----------------------------------------------------------------
class _BatchLabels(Callback):
    """Record the labels of every training batch, epoch by epoch."""

    def on_train_begin(self, net, **kwargs):
        self.epochs = []

    def on_epoch_begin(self, net, **kwargs):
        self.epochs.append([])

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.epochs[-1].append(batch[1].tolist())


def _batch_order(**params):
    X = np.random.RandomState(0).rand(40, 1, 8, 8).astype(np.float32)
    y = np.arange(40) % 10  # in order, like a labeled set grown by teach
    recorder = _BatchLabels()
    ImageClassifier("mlp", num_classes=10, max_epochs=3, batch_size=10,
                    callbacks=[recorder], **params).fit(X, y)
    return recorder.epochs


def test_training_batches_are_shuffled_every_epoch():
    epochs = _batch_order(random_state=0)
    in_order = [list(range(10))] * 4
    for epoch in epochs:  # every label seen once per epoch ...
        assert sorted(sum(epoch, [])) == sorted(list(range(10)) * 4)
        assert epoch != in_order  # ... but not in the stored order
    assert epochs[0] != epochs[1] != epochs[2]


def test_shuffling_is_seeded_and_can_be_switched_off():
    assert _batch_order(random_state=3) == _batch_order(random_state=3)
    assert _batch_order(random_state=3) != _batch_order(random_state=4)
    fixed = _batch_order(random_state=0, iterator_train__shuffle=False)
    assert fixed == [[list(range(10))] * 4] * 3


def test_shuffling_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    _batch_order(random_state=0)
    assert torch.equal(state, torch.get_rng_state())


# -- augmentation ----------------------------------------------------------------
@pytest.mark.parametrize("value, name", [(False, "none"), (None, "none"),
                                         (True, "flip"), ("flip", "flip"),
                                         ("crop", "crop"),
                                         ("crop+flip", "crop+flip")])
def test_check_augment_names(value, name):
    assert check_augment(value) == name


@pytest.mark.parametrize("bad", ["rotate", 1, "Flip"])
def test_bad_augment_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="augment="):
        ImageClassifier("mlp", augment=bad, max_epochs=1).fit(
            np.zeros((4, 1, 8, 8), np.float32), np.arange(4) % 2)


@pytest.mark.parametrize("size, padding", [(32, 4), (28, 3), (8, 1), (4, 1)])
def test_crop_padding_scales_with_the_image(size, padding):
    assert crop_padding(size) == padding


def test_random_crop_is_a_shift_of_at_most_the_padding():
    x = torch.zeros(200, 1, 8, 8)
    x[:, 0, 4, 4] = 1.0
    out = random_crop(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.all(out.sum((1, 2, 3)) == 1)
    rows, cols = torch.nonzero(out[:, 0], as_tuple=True)[1:]
    shifts = set(zip((rows - 4).tolist(), (cols - 4).tolist()))
    assert shifts == {(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)}


def test_random_flip_flips_about_half():
    x = torch.arange(64.0).view(1, 1, 8, 8).repeat(400, 1, 1, 1)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert torch.all(flipped ^ kept) and 150 < int(flipped.sum()) < 250


def _training_inputs(augment):
    X = np.random.RandomState(0).rand(16, 1, 8, 8).astype(np.float32)
    net = ImageClassifier("mlp", num_classes=2, max_epochs=1, batch_size=16,
                          augment=augment, random_state=0,
                          iterator_train__shuffle=False)
    net.initialize()
    seen = []
    net.module_.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].clone()) if m.training else None)
    net.partial_fit(X, np.arange(16) % 2)
    return X, seen[0].numpy()


def test_crop_augmentation_is_applied_to_training_batches_only():
    X, seen = _training_inputs("none")
    np.testing.assert_array_equal(seen, X)
    _, cropped = _training_inputs("crop")
    assert not np.allclose(cropped, X)
    _, again = _training_inputs("crop")
    np.testing.assert_array_equal(cropped, again)  # seeded


# -- representations -------------------------------------------------------------
class CountingEmbedding(SelfSupervisedEmbedding):
    """Counts the images it embeds (module level, so clones pickle)."""

    def transform(self, X):
        self.__dict__["n_embedded"] = self.__dict__.get("n_embedded", 0) \
            + len(X)
        return super().transform(X)


@pytest.fixture(scope="module")
def representation(split):
    pool = np.concatenate([split[0], split[2]])
    return SelfSupervisedEmbedding(epochs=1, batch_size=100,
                                   random_state=0).fit(pool)


def _rep_net(representation, **params):
    params = {"num_classes": 10, "max_epochs": 5, "lr": 1e-2,
              "random_state": 0, **params}
    return ImageClassifier(representation=representation, **params)


def test_frozen_representation_trains_a_linear_head(split, representation):
    X, y = split[0], split[1]
    net = _rep_net(representation).fit(X, y)
    assert isinstance(net.module_, EmbeddingHead)
    assert net.representation_ is representation
    out = net.forward_pass(split[4], split[5])
    Z = representation.transform(split[4])
    np.testing.assert_allclose(net.embed(split[4]), Z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.features, Z, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        logits = net.module_(torch.as_tensor(Z))
    np.testing.assert_allclose(out.proba, torch.softmax(logits, 1).numpy(),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        out.loss, -np.log(out.proba[np.arange(len(Z)), split[5]]), rtol=1e-4)


def test_mlp_head_features_are_its_hidden_layer(split, representation):
    net = _rep_net(representation, head="mlp", module__hidden_dim=32).fit(
        split[0], split[1])
    assert net.forward_pass(split[4][:5]).features.shape == (5, 32)
    with pytest.raises(ValueError, match="head="):
        _rep_net(representation, head="deep").fit(split[0], split[1])


def test_embeddings_are_cached_across_fits_and_queries(split, representation):
    rep = CountingEmbedding(epochs=1, batch_size=100, random_state=0).fit(
        np.concatenate([split[0], split[2]]))
    X_l, y_l, X_pool = split[0], split[1], split[2]
    net = _rep_net(rep, max_epochs=1)
    net.embed(X_pool)
    assert rep.n_embedded == len(X_pool)
    net.fit(X_pool[:30], y_l[:30])  # a labeled set drawn from the pool
    net.forward_pass(X_pool[30:])  # the pool minus the labeled samples
    net.fit(X_pool[:40], np.concatenate([y_l[:30], y_l[:10]]))
    assert rep.n_embedded == len(X_pool)  # nothing embedded twice
    net.forward_pass(X_l)
    assert rep.n_embedded == len(X_pool) + len(X_l)


def test_clones_share_the_embeddings_until_the_representation_is_refit(
        split):
    # The runner trains clone(template) in every cycle: the pool is
    # embedded in the first cycle only.
    from sklearn.base import clone

    pool = np.concatenate([split[0], split[2]])
    rep = CountingEmbedding(epochs=1, batch_size=100, random_state=0).fit(
        pool)
    template = _rep_net(rep, max_epochs=1)
    first = clone(template).fit(split[0], split[1])
    Z = first.embed(split[2])
    assert rep.n_embedded == len(split[0]) + len(split[2])
    second = clone(template).fit(split[0], split[1])
    np.testing.assert_array_equal(second.embed(split[2]), Z)
    assert rep.n_embedded == len(split[0]) + len(split[2])  # none again
    # Fitted again (new encoder_): nothing of the old fit is returned.
    rep.set_params(random_state=1).fit(pool)
    rep.n_embedded = 0
    Z_new = first.embed(split[2])
    assert rep.n_embedded == len(split[2])
    np.testing.assert_allclose(Z_new, rep.transform(split[2]), rtol=1e-5,
                               atol=1e-6)
    assert not np.allclose(Z_new, Z)
    # A classifier on another fitted representation shares nothing.
    other = CountingEmbedding(epochs=1, batch_size=100, random_state=0).fit(
        pool)
    _rep_net(other).embed(split[2])
    assert other.n_embedded == len(split[2])


def test_an_unfitted_representation_is_fitted_on_the_training_images(split):
    rep = SelfSupervisedEmbedding(epochs=1, batch_size=30, random_state=0)
    net = _rep_net(rep, max_epochs=1)
    with pytest.raises(NotFittedError, match="fit it on the unlabeled pool"):
        net.embed(split[0])
    net.fit(split[0], split[1])
    assert not hasattr(rep, "encoder_")  # the parameter is left as it was
    assert net.representation_.input_shape_ == (1, 8, 8)


def test_a_clone_keeps_the_fitted_representation(split, representation):
    # Each active-learning cycle trains clone(template): the clone must
    # read the pool's embedding, not fit a copy on its few labels.
    template = _rep_net(representation, max_epochs=1,
                        iterator_train__shuffle=False)
    fresh = clone(template)
    assert fresh.representation is representation
    assert fresh.get_params()["iterator_train__shuffle"] is False
    fresh.fit(split[0][:12], split[1][:12])
    assert fresh.representation_ is representation
    np.testing.assert_allclose(fresh.embed(split[4]),
                               representation.transform(split[4]),
                               rtol=1e-5, atol=1e-6)
    unfitted = SelfSupervisedEmbedding(epochs=1, random_state=0)
    assert clone(_rep_net(unfitted)).representation is not unfitted


def test_embed_needs_a_representation(fitted_net, split):
    with pytest.raises(ValueError, match="representation=None"):
        fitted_net.embed(split[0])


def test_frozen_representation_refuses_augmentation(split, representation):
    with pytest.raises(ValueError, match="finetune=True"):
        _rep_net(representation, augment="crop").fit(split[0], split[1])


def test_finetuning_trains_a_copy_of_the_encoder(split, representation):
    before = [p.clone() for p in representation.encoder_.parameters()]
    net = _rep_net(representation, finetune=True, augment="crop",
                   lr=1e-3).fit(split[0], split[1])
    assert isinstance(net.module_, RepresentationNet)
    tuned = list(net.module_.encoder.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, tuned))
    for a, b in zip(before, representation.encoder_.parameters()):
        assert torch.equal(a, b)  # the representation itself is untouched
    X = split[4][:20]
    np.testing.assert_allclose(net.embed(X), representation.transform(X),
                               rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        tuned_z = net.module_.encoder.eval()(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(net.forward_pass(X).features, tuned_z,
                               rtol=1e-4, atol=1e-5)


def test_representation_params_clone(representation):
    net = _rep_net(representation, finetune=True, head="mlp")
    params = net.get_params(deep=False)
    assert params["representation"] is representation
    assert params["finetune"] is True and params["head"] == "mlp"
    copy = clone(net)
    assert copy.finetune is True and copy.head == "mlp"
    assert isinstance(copy.representation, SelfSupervisedEmbedding)
    assert copy.representation.get_params() == representation.get_params()


def test_fitted_net_with_representation_unpickles_in_a_fresh_process(
        split, representation, tmp_path):
    net = _rep_net(representation, max_epochs=2).fit(split[0], split[1])
    net.embed(split[2])  # a filled cache is not pickled
    path, X_path = tmp_path / "net.pkl", tmp_path / "X.npy"
    path.write_bytes(pickle.dumps(net))
    np.save(X_path, split[4][:25])
    code = ("import pickle, sys, numpy as np; "
            "net = pickle.loads(open(sys.argv[1], 'rb').read()); "
            "X = np.load(sys.argv[2]); "
            "np.save(sys.argv[3], np.hstack([net.predict_proba(X), "
            "net.embed(X)]))")
    out = tmp_path / "out.npy"
    subprocess.run([sys.executable, "-c", code, str(path), str(X_path),
                    str(out)], check=True, cwd=str(ROOT))
    X = split[4][:25]
    expected = np.hstack([net.predict_proba(X), net.embed(X)])
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-5, atol=1e-6)


def test_a_frozen_head_is_a_representation_without_finetuning(
        representation):
    from sklearn.linear_model import LogisticRegression

    from aalu_sk.representation.base import is_frozen_head

    assert is_frozen_head(_rep_net(representation))
    assert not is_frozen_head(_rep_net(representation, finetune=True))
    assert not is_frozen_head(ImageClassifier("small_cnn", num_classes=10))
    assert not is_frozen_head(LogisticRegression())
