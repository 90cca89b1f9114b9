"""PretrainedEmbedding: a torchvision or timm backbone, without downloading.

The weights come from the user's cache (torchvision: torch hub's
``checkpoints`` folder; timm: the Hugging Face hub cache) or from a local
file (``weights=path``); when neither has them, :meth:`fit` raises
:class:`FileNotFoundError` saying which file to put where. Images are
turned into what the backbone expects: grayscale repeated to three
channels, resized to its input size, normalised with its mean and std.
"""

import os

import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin
from torch import nn

from ..validation import (check_images, check_number, check_positive_ints,
                          image_shape)
from .base import encode_fitted

__all__ = ["PretrainedEmbedding", "PRETRAINED_SOURCES"]

#: Prefixes of ``PretrainedEmbedding(name=...)``.
PRETRAINED_SOURCES = ("torchvision", "timm")
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_HEADS = ("fc", "classifier", "heads", "head")


class _Preprocess(nn.Module):
    """Images in [0, 1] to the backbone's input: 3 channels, size, normalised."""

    def __init__(self, mean, std, size):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))
        self.size = tuple(size)

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear",
                              align_corners=False)
        return (x - self.mean) / self.std


def _read_state(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"weights={path!r}: no such file.")
    safetensors = path.endswith(".safetensors")
    if safetensors:
        from safetensors.torch import load_file
    try:
        state = load_file(path) if safetensors else \
            torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a foreign or damaged file raises anything
        raise ValueError(f"weights={path!r} is not a state-dict file "
                         f"{'safetensors' if safetensors else 'torch.load'} "
                         f"can read ({type(exc).__name__}: {exc}).") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"weights={path!r} holds a {type(state).__name__}, "
                         f"not a state dict.")
    return state


def _load(model, state, head, where):
    """Load ``state`` into the headless ``model``; the head's keys may be extra."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    unexpected = [k for k in unexpected if head is None
                  or not k.startswith(head + ".")]
    if missing or unexpected:
        raise ValueError(
            f"{where} does not fit the backbone: missing keys "
            f"{missing[:5]}, unexpected keys {unexpected[:5]}.")


def _torchvision(arch, weights):
    from torchvision import models

    try:
        model = models.get_model(arch, weights=None)
    except ValueError:
        raise ValueError(
            f"name='torchvision:{arch}' is not a torchvision model; some "
            f"names: {models.list_models()[:8]}.") from None
    head = next((h for h in _HEADS if hasattr(model, h)), None)
    if head is not None:
        setattr(model, head, nn.Identity())
    try:
        default = models.get_model_weights(arch).DEFAULT
    except (ValueError, AttributeError):
        default = None
    mean, std, size = *_IMAGENET, (224, 224)
    if default is not None:
        preset = default.transforms()
        mean, std = tuple(preset.mean), tuple(preset.std)
        size = (preset.crop_size[0],) * 2
    if weights is None:
        if default is None:
            raise ValueError(f"torchvision has no weights for {arch!r}; pass "
                             f"weights=<path to a state dict> "
                             f"(aalu-sk: --representation-weights FILE).")
        cached = os.path.join(torch.hub.get_dir(), "checkpoints",
                              os.path.basename(default.url))
        if not os.path.exists(cached):
            raise FileNotFoundError(
                f"The weights of torchvision:{arch} ({default}) are not in "
                f"the torch hub cache: put {default.url} at {cached} (torch "
                f"hub's folder, $TORCH_HOME/hub/checkpoints), or pass "
                f"weights=<path to a state dict> (aalu-sk: "
                f"--representation-weights FILE). aalu_sk downloads nothing.")
        state, where = torch.load(cached, map_location="cpu",
                                  weights_only=True), cached
    else:
        state, where = _read_state(weights), f"weights={os.fspath(weights)!r}"
    _load(model, state, head, where)
    return model, mean, std, size


def _timm(arch, weights):
    import timm

    try:
        model = timm.create_model(arch, pretrained=False, num_classes=0)
    except RuntimeError:
        raise ValueError(
            f"name='timm:{arch}' is not a timm model; list them with "
            f"timm.list_models().") from None
    cfg = dict(model.pretrained_cfg or {})
    mean, std = cfg.get("mean", _IMAGENET[0]), cfg.get("std", _IMAGENET[1])
    size = tuple(cfg.get("input_size", (3, 224, 224))[1:])
    head = cfg.get("classifier")
    if weights is None:
        from huggingface_hub import try_to_load_from_cache

        hub_id = cfg.get("hf_hub_id")
        found = None
        for filename in ("model.safetensors", "pytorch_model.bin"):
            path = hub_id and try_to_load_from_cache(hub_id, filename)
            if isinstance(path, str):
                found = path
                break
        if found is None:
            raise FileNotFoundError(
                f"The weights of timm:{arch} are not in the Hugging Face hub "
                f"cache (repository {hub_id!r}): fetch them once where there "
                f"is a network (timm.create_model({arch!r}, pretrained=True)) "
                f"or pass weights=<path to a state dict> (aalu-sk: "
                f"--representation-weights FILE). aalu_sk downloads nothing.")
        weights = found
    _load(model, _read_state(weights), head, f"weights={os.fspath(weights)!r}")
    return model, mean, std, size


class PretrainedEmbedding(TransformerMixin, BaseEstimator):
    """Embed images with a pretrained torchvision or timm backbone.

    Parameters
    ----------
    name : str, default="torchvision:resnet18"
        ``"torchvision:<model>"`` (any name of
        :func:`torchvision.models.list_models`) or ``"timm:<model>"``.
        The classifier layer is removed; the embedding is the pooled
        features (512-d for ResNet-18).
    weights : str, path-like or None, default=None
        A local state-dict file (``.pth``/``.pt`` or ``.safetensors``). None
        loads the model's default weights from the local cache
        (torchvision: ``$TORCH_HOME/hub/checkpoints/<file>``, e.g.
        ``ResNet18_Weights.DEFAULT``; timm: the Hugging Face hub cache);
        nothing is downloaded, and a missing file raises
        :class:`FileNotFoundError` that names where to put it.
    image_size : int or None, default=None
        Side the images are resized to; None is the backbone's own input
        size (224 for the torchvision ResNets). Smaller is faster.
    batch_size : int, default=64
        Images per batch in :meth:`transform`.
    device : str, default="auto"
        Where :meth:`transform` runs; the encoder is kept on the CPU.

    Attributes
    ----------
    encoder_ : torch.nn.Module
        Preprocessing then the headless backbone, on the CPU, in eval mode.
    embedding_dim_ : int
    input_shape_ : tuple of int
        ``(C, H, W)`` of the images seen in :meth:`fit`; C is 1 or 3.

    Notes
    -----
    Images are expected in [0, 1] (uint8 images are divided by 255, see
    :mod:`aalu_sk.validation`); they are normalised with the backbone's
    mean and std. There is no randomness, hence no ``random_state``.

    Examples
    --------
    A state dict saved earlier (here random weights, standing in for a
    downloaded file); :meth:`fit` loads it:

    >>> import os, tempfile
    >>> import numpy as np, torch, torchvision
    >>> from aalu_sk.representation import PretrainedEmbedding
    >>> X_pool = np.random.RandomState(0).rand(4, 3, 32, 32)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "r18.pth")
    ...     torch.save(torchvision.models.resnet18().state_dict(), path)
    ...     emb = PretrainedEmbedding("torchvision:resnet18", weights=path,
    ...                               image_size=32).fit(X_pool)
    >>> emb.transform(X_pool).shape
    (4, 512)
    """

    def __init__(self, name="torchvision:resnet18", weights=None, *,
                 image_size=None, batch_size=64, device="auto"):
        self.name = name
        self.weights = weights
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = device

    def fit(self, X, y=None):
        """Load the backbone and its weights; ``X`` gives the image shape.

        Parameters
        ----------
        X : array-like of images, 1 or 3 channels
        y : ignored

        Returns
        -------
        self : PretrainedEmbedding
        """
        X = check_images(X)
        check_positive_ints(self, ["batch_size"])
        check_number(self.image_size, "image_size", integer=True, low=1,
                     allow_none=True)
        shape = image_shape(X)
        if shape[0] not in (1, 3):
            raise ValueError(f"X has {shape[0]} channels; pretrained "
                             f"backbones take 1 (repeated) or 3.")
        source, _, arch = str(self.name).partition(":")
        if source not in PRETRAINED_SOURCES or not arch:
            raise ValueError(
                f"name={self.name!r}; use '<source>:<model>' with source one "
                f"of {list(PRETRAINED_SOURCES)}, e.g. 'torchvision:resnet18'.")
        load = _torchvision if source == "torchvision" else _timm
        model, mean, std, size = load(arch, self.weights)
        if self.image_size is not None:
            size = (self.image_size, self.image_size)
        self.encoder_ = nn.Sequential(_Preprocess(mean, std, size),
                                      model).eval()
        self.input_shape_ = shape
        with torch.no_grad():
            probe = torch.zeros((1,) + shape)
            self.embedding_dim_ = int(self.encoder_(probe).flatten(1).shape[1])
        return self

    def transform(self, X):
        """The embedding of images ``X``: float32 ``(n_samples, embedding_dim_)``."""
        return encode_fitted(self, X)
