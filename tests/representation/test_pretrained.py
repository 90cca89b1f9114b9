"""PretrainedEmbedding: weights from a file or the local cache, never a download."""

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision

from aalu_sk.representation import PretrainedEmbedding

MEAN = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
STD = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def images():
    return np.random.RandomState(0).randint(0, 256, (6, 20, 20, 3), np.uint8)


def _resnet18_state(seed, path):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = torchvision.models.resnet18()
    torch.save(model.state_dict(), path)
    return model


def _expected(model, X, size=32):
    """The embedding written out by hand: [0, 1], resize, normalise, no fc."""
    x = torch.as_tensor(X).permute(0, 3, 1, 2).float() / 255
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    x = F.interpolate(x, size=(size, size), mode="bilinear",
                      align_corners=False)
    model.fc = torch.nn.Identity()
    with torch.no_grad():
        return model.eval()((x - MEAN) / STD).numpy()


def test_weights_from_a_file_are_the_ones_used(images, tmp_path):
    path = tmp_path / "r18.pth"
    model = _resnet18_state(0, path)
    emb = PretrainedEmbedding("torchvision:resnet18", weights=path,
                              image_size=32).fit(images)
    Z = emb.transform(images)
    assert Z.dtype == np.float32 and Z.shape == (6, 512) \
        and emb.embedding_dim_ == 512
    np.testing.assert_allclose(Z, _expected(model, images), rtol=1e-4,
                               atol=1e-5)
    other = tmp_path / "other.pth"
    _resnet18_state(1, other)
    Z1 = PretrainedEmbedding("torchvision:resnet18", weights=other,
                             image_size=32).fit(images).transform(images)
    assert not np.allclose(Z, Z1, atol=1e-3)


def test_grayscale_is_repeated_to_three_channels(images, tmp_path):
    path = tmp_path / "r18.pth"
    model = _resnet18_state(0, path)
    gray = images[..., 0]  # uint8 (n, H, W)
    emb = PretrainedEmbedding("torchvision:resnet18", weights=path,
                              image_size=32).fit(gray)
    assert emb.input_shape_ == (1, 20, 20)
    np.testing.assert_allclose(emb.transform(gray),
                               _expected(model, gray[..., None]),
                               rtol=1e-4, atol=1e-5)


def test_default_weights_come_from_the_torch_hub_cache(images, tmp_path,
                                                       monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="hub/checkpoints/resnet18-"):
        PretrainedEmbedding("torchvision:resnet18").fit(images)
    url = torchvision.models.ResNet18_Weights.DEFAULT.url
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    model = _resnet18_state(0, cache / url.rsplit("/", 1)[1])
    emb = PretrainedEmbedding("torchvision:resnet18", image_size=32).fit(images)
    np.testing.assert_allclose(emb.transform(images), _expected(model, images),
                               rtol=1e-4, atol=1e-5)


def test_backbone_input_size_is_the_default(images, tmp_path):
    path = tmp_path / "r18.pth"
    _resnet18_state(0, path)
    emb = PretrainedEmbedding("torchvision:resnet18", weights=path).fit(
        images[:1])
    assert emb.encoder_[0].size == (224, 224)


def test_a_state_dict_of_another_model_is_refused(images, tmp_path):
    path = tmp_path / "r34.pth"
    torch.save(torchvision.models.resnet34().state_dict(), path)
    with pytest.raises(ValueError, match="does not fit the backbone"):
        PretrainedEmbedding("torchvision:resnet18", weights=path).fit(images)


def test_timm_backbone_from_a_file(images, tmp_path):
    timm = pytest.importorskip("timm")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = timm.create_model("test_resnet")  # with its classifier
    path = tmp_path / "timm.pth"
    torch.save(model.state_dict(), path)
    emb = PretrainedEmbedding("timm:test_resnet", weights=path,
                              image_size=32).fit(images)
    model.reset_classifier(0)
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    mean = torch.tensor(model.pretrained_cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(model.pretrained_cfg["std"]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = model.eval()((x - mean) / std).numpy()
    np.testing.assert_allclose(emb.transform(images), expected, rtol=1e-4,
                               atol=1e-5)


def test_timm_without_cached_weights_says_what_to_do(images):
    pytest.importorskip("timm")
    with pytest.raises(FileNotFoundError, match="weights=<path"):
        PretrainedEmbedding("timm:test_resnet").fit(images)


@pytest.mark.parametrize("name, match", [
    ("resnet18", "source"), ("keras:resnet18", "source"),
    ("torchvision:no_such_net", "not a torchvision model")])
def test_bad_names_are_refused(images, name, match):
    with pytest.raises(ValueError, match=match):
        PretrainedEmbedding(name).fit(images)


def test_missing_weights_file(images, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        PretrainedEmbedding(weights=tmp_path / "none.pth").fit(images)


@pytest.mark.parametrize("name, reader", [("junk.pth", "torch.load"),
                                          ("junk.safetensors", "safetensors")])
def test_unreadable_weights_file_is_named(images, tmp_path, name, reader):
    (tmp_path / name).write_bytes(b"junk")
    with pytest.raises(ValueError, match=f"weights='.*{name}' is not a "
                                         f"state-dict file {reader} can "
                                         f"read"):
        PretrainedEmbedding(weights=tmp_path / name).fit(images)


def test_four_channels_are_refused(tmp_path):
    X = np.zeros((2, 4, 8, 8), np.float32)
    with pytest.raises(ValueError, match="4 channels"):
        PretrainedEmbedding().fit(X)


def test_pickles(images, tmp_path):
    path = tmp_path / "r18.pth"
    _resnet18_state(0, path)
    emb = PretrainedEmbedding(weights=path, image_size=32).fit(images)
    copy = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(copy.transform(images),
                                  emb.transform(images))
