"""ImageClassifier: layouts, features, losses, augmentation, devices."""

import pickle

import numpy as np
import pytest
import torch
from torch import nn

from aalu_sk import ImageClassifier
from aalu_sk.modules import CifarResNet18, SmallCNN


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
