"""Input checks: image layouts (every accepted shape is read one way, the
rest refused) and scalar parameters (check_number)."""

import numpy as np
import pytest
import torch

from aalu_sk import ImageClassifier
from aalu_sk.validation import (InvalidParameterError, check_images,
                                check_number, check_positive_ints,
                                image_layout, image_shape, to_tensor)


def _channels_first(rng, n, c, h, w):
    """Images (n, C, H, W) whose every pixel and channel differ."""
    return rng.rand(n, c, h, w).astype(np.float32)


@pytest.mark.parametrize("c", [1, 3, 4])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
@pytest.mark.parametrize("hw", [(8, 8), (32, 32), (5, 7), (6, 5)])
def test_both_4d_layouts_give_the_same_tensor(c, dtype, hw):
    rng = np.random.RandomState(c)
    first = _channels_first(rng, 3, c, *hw)
    if dtype == "uint8":
        first = (first * 255).astype(np.uint8)
    last = np.ascontiguousarray(np.moveaxis(first, 1, -1))  # (n, H, W, C)
    expected = torch.from_numpy(first.astype(np.float32))
    if dtype == "uint8":
        expected = expected / 255.0
    for X, layout in ((first, "channels_first"), (last, "channels_last")):
        assert image_layout(check_images(X).shape) == layout
        assert image_shape(X) == (c,) + hw
        assert torch.equal(to_tensor(X), expected), (X.shape, layout)


@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_3d_is_grayscale(dtype):
    X = (np.arange(2 * 3 * 5) % 7).reshape(2, 3, 5).astype(dtype)
    t = to_tensor(check_images(X))
    assert image_layout(X.shape) == "gray" and t.shape == (2, 1, 3, 5)
    scale = 255.0 if dtype == "uint8" else 1.0
    assert torch.equal(t[:, 0], torch.from_numpy(X.astype(np.float32)) / scale)


@pytest.mark.parametrize("shape", [(2, 2, 16, 16), (2, 13, 10, 10),
                                   (2, 32, 32, 32), (2, 3, 2, 8)])
def test_more_channels_than_rgba_are_channels_first(shape):
    assert image_layout(shape) == "channels_first"
    assert image_shape(np.zeros(shape, np.float32)) == shape[1:]


@pytest.mark.parametrize("shape, why", [
    ((2, 3, 3, 3), "both readings fit"),
    ((2, 4, 4, 4), "both readings fit"),
    ((2, 3, 32, 3), "both readings fit"),
    ((2, 1, 8, 1), "both readings fit"),
    ((2, 8, 8, 2), "neither reading fits"),
    ((2, 8, 2, 3), "neither reading fits"),
])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_ambiguous_shapes_are_refused_naming_both_readings(shape, why, dtype):
    _, a, b, c = shape
    with pytest.raises(ValueError) as err:
        check_images(np.zeros(shape, dtype), "X_pool")
    message = str(err.value)
    assert message.startswith(f"X_pool has shape {shape}")
    assert why in message
    assert f"{a} channel(s) of {b}x{c} pixels" in message
    assert f"{c} channel(s) of {a}x{b} pixels" in message


def test_float_channels_last_cifar_is_not_read_as_32_channels():
    """The issue's case: (n, 32, 32, 3) / 255 trains a 3-channel model."""
    rng = np.random.RandomState(0)
    X = (rng.randint(0, 256, (8, 32, 32, 3)) / 255).astype(np.float32)
    y = np.arange(8) % 2
    net = ImageClassifier("small_cnn", num_classes=2, max_epochs=1,
                          batch_size=8, random_state=0, device="cpu").fit(X, y)
    assert net.input_shape_ == (3, 32, 32)
    first_conv = next(m for m in net.module_.modules()
                      if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 3
    # The same images channels-first give the same predictions.
    np.testing.assert_allclose(
        net.predict_proba(X),
        net.predict_proba(np.ascontiguousarray(np.moveaxis(X, -1, 1))),
        rtol=1e-5, atol=1e-6)


def test_feature_rows_pass_through_unchanged():
    """(n, d) rows (e.g. embeddings) keep their shape and values."""
    X = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert image_shape(X) == (4,)
    assert torch.equal(to_tensor(X), torch.from_numpy(X))


@pytest.mark.parametrize("value, kwargs", [
    (3, dict(integer=True, low=1)), (np.int64(1), dict(integer=True, low=1)),
    (0, dict(integer=True, low=0)), (0.5, dict(low=0, high=1)),
    (np.float32(1e-3), dict(low=0, include_boundaries="neither")),
    (float("inf"), dict(low=0)), (None, dict(allow_none=True)),
    (0.0, dict(low=0, high=1, include_boundaries="left")),
])
def test_check_number_passes_good_values_through(value, kwargs):
    assert check_number(value, "x", **kwargs) is value


@pytest.mark.parametrize("value, kwargs, message", [
    (0, dict(integer=True, low=1), "x must be a positive integer; got 0."),
    (2.5, dict(integer=True, low=1), "x must be a positive integer; got 2.5."),
    ("3", dict(integer=True, low=1),
     "x must be a positive integer; got '3'."),
    (True, dict(integer=True, low=1),
     "x must be a positive integer; got True."),
    (np.True_, dict(low=0), "x must be a number >= 0; got "),
    (1, dict(integer=True, low=2), "x must be an integer >= 2; got 1."),
    (0, dict(low=0, include_boundaries="neither"),
     "x must be a number > 0; got 0."),
    (float("nan"), dict(low=0), "x must be a number >= 0; got nan."),
    (float("inf"), dict(low=0, finite=True),
     "x must be a finite number >= 0; got inf."),
    (1.0, dict(low=0, high=1, include_boundaries="left", allow_none=True,
               alternatives=["'auto'"]),
     "x must be a number in [0, 1), None or 'auto'; got 1.0."),
    (None, dict(low=0, include_boundaries="neither", alternatives=["'auto'"]),
     "x must be a number > 0 or 'auto'; got None."),
    (2, dict(high=1), "x must be a number <= 1; got 2."),
])
def test_check_number_names_the_parameter_and_the_value(value, kwargs,
                                                        message):
    with pytest.raises(InvalidParameterError) as info:
        check_number(value, "x", **kwargs)
    assert str(info.value).startswith(message)
    # a ValueError, as aalu_sk raised before, and a TypeError, as
    # sklearn.utils.check_scalar raises for the wrong type
    assert isinstance(info.value, ValueError) and \
        isinstance(info.value, TypeError)


def test_check_positive_ints_names_the_first_bad_parameter():
    class Params:
        epochs, batch_size = 2, 0

    check_positive_ints(Params(), ["epochs"])
    with pytest.raises(ValueError, match="batch_size must be a positive "
                                         "integer; got 0"):
        check_positive_ints(Params(), ["epochs", "batch_size"])


def test_the_first_non_finite_sample_is_named_across_chunks():
    from aalu_sk.validation import check_samples

    # 2**21 values a sample: checked 8 samples at a time
    X = np.zeros((10, 1, 1024, 2048), dtype=np.float16)
    X[9, 0, 5, 7] = np.inf
    with pytest.raises(ValueError, match=r"X contains NaN or infinite "
                                         r"values \(the first in sample 9\)"):
        check_samples(X)
    X[2, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"in sample 2\)"):
        check_samples(X)
