"""SelfSupervisedEmbedding: an encoder trained without labels on the pool itself.

SimCLR (Chen et al., 2020) trains the encoder so that two random views of
one image (:func:`~aalu_sk.representation.views.random_views`) map close
together and far from the views of the other images of the batch
(lightly's :class:`~lightly.loss.NTXentLoss` on a
:class:`~lightly.models.modules.SimCLRProjectionHead`). The embedding is the
encoder's output, before the projection head, as in the paper.
lightly is imported only here (``pip install aalu_sk[ssl]``).
"""

import copy
import logging

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from torch import nn

from .._runtime import resolve_device, seed_from, seeded
from ..modules import CifarResNet18, SmallCNN
from ..validation import (check_images, check_nonnegative_numbers,
                          check_number, check_positive_ints, image_shape,
                          to_tensor)
from .base import (encode_fitted, load_encoder, save_encoder,
                   training_fingerprint)
from .views import random_views

__all__ = ["SelfSupervisedEmbedding", "SSL_METHODS", "SSL_BACKBONES"]

#: Values of ``SelfSupervisedEmbedding(method=...)``.
SSL_METHODS = ("simclr",)
#: Backbones known by name (a torch.nn.Module is accepted too).
SSL_BACKBONES = ("small_cnn", "resnet18")
_LOG = logging.getLogger(__name__)
# Parameters that do not change what fit learns (left out of the fingerprint).
_NOT_LEARNED = ("device", "checkpoint", "verbose")


def _backbone(backbone, shape):
    """The encoder named ``backbone`` for images of ``shape`` (C, H, W)."""
    if isinstance(backbone, nn.Module):
        return copy.deepcopy(backbone)
    if backbone == "small_cnn":
        return SmallCNN(in_channels=shape[0]).features
    if backbone == "resnet18":
        net = CifarResNet18(in_channels=shape[0]).net
        net.fc = nn.Identity()
        return net
    raise ValueError(
        f"backbone={backbone!r}; use one of {list(SSL_BACKBONES)} or a "
        f"torch.nn.Module mapping (n, C, H, W) images to (n, d).")


class SelfSupervisedEmbedding(TransformerMixin, BaseEstimator):
    """Learn an image embedding from unlabeled images (SimCLR, with lightly).

    Fit it on the whole unlabeled pool before the first label: it needs no
    labels, and a linear model on its embedding learns from a handful of
    labels per class what a network trained from scratch needs many more
    for.

    Parameters
    ----------
    method : {"simclr"}, default="simclr"
    backbone : {"small_cnn", "resnet18"} or torch.nn.Module, default="small_cnn"
        The encoder: :class:`~aalu_sk.modules.SmallCNN` up to its
        128-d penultimate layer (8x8 to 28x28 images), the CIFAR
        :class:`~aalu_sk.modules.CifarResNet18` up to its 512-d pooled
        features, or a module of your own mapping ``(n, C, H, W)`` float
        images to ``(n, d)`` (copied, never changed).
    epochs : int, default=8
        Passes over ``X``; 0 keeps the (seeded) initial weights. The
        defaults are the best recipe measured on 5,000 MNIST images
        (linear probe 0.70 at 2 labels per class, 0.91 at 10, against
        0.44 and 0.81 for ``small_cnn`` from scratch; 4 epochs gave 0.64
        and 0.89; see :doc:`/user_guide/representations`).
    batch_size : int, default=256
        Images per step (each gives two views); also the batch of
        :meth:`transform`.
    lr : float, default=1e-3
        Adam's learning rate.
    temperature : float, default=0.5
        Of the NT-Xent loss.
    projection_dim : int, default=64
        Output size of the projection head (dropped after training).
    crop_scale : tuple of float, default=(0.5, 1.0)
        Area range of the random resized crop of the views.
    rotation : float, default=15.0
        Largest rotation of the views, in degrees.
    flip : bool, default=False
        Also flip views horizontally (for natural images, not digits).
    device : str, default="auto"
        Where training and :meth:`transform` run; ``"auto"`` is CUDA when
        torch sees it. The fitted encoder is kept on the CPU.
    checkpoint : str, path-like or None, default=None
        A file for the fitted encoder. :meth:`fit` writes it (atomically,
        with a fingerprint of the images and of every parameter above but
        ``device`` and ``verbose``), and a later fit on the same images
        with the same parameters loads it instead of training again.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the batches and the views; the global
        torch RNG is left as it was. With None, the global RNG is used.
    verbose : int, default=0
        1 logs the mean loss of every epoch.

    Attributes
    ----------
    encoder_ : torch.nn.Module
        The trained encoder, on the CPU, in eval mode.
    embedding_dim_ : int
    input_shape_ : tuple of int
        ``(C, H, W)`` of the images seen in :meth:`fit`.
    loss_history_ : list of float
        Mean loss of each epoch (empty when loaded from ``checkpoint``).
    fingerprint_ : str
        Digest of the training images and parameters.
    loaded_from_checkpoint_ : bool

    References
    ----------
    .. [1] T. Chen, S. Kornblith, M. Norouzi and G. Hinton, "A Simple
       Framework for Contrastive Learning of Visual Representations",
       ICML 2020.
    .. [2] I. Susmelj et al., "Lightly", https://github.com/lightly-ai/lightly.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.representation import SelfSupervisedEmbedding
    >>> X = np.random.RandomState(0).rand(64, 1, 8, 8).astype("float32")
    >>> ssl = SelfSupervisedEmbedding(epochs=1, batch_size=32,
    ...                               random_state=0).fit(X)
    >>> ssl.transform(X).shape
    (64, 128)
    """

    def __init__(self, method="simclr", backbone="small_cnn", *, epochs=8,
                 batch_size=256, lr=1e-3, temperature=0.5, projection_dim=64,
                 crop_scale=(0.5, 1.0), rotation=15.0, flip=False,
                 device="auto", checkpoint=None, random_state=None, verbose=0):
        self.method = method
        self.backbone = backbone
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.temperature = temperature
        self.projection_dim = projection_dim
        self.crop_scale = crop_scale
        self.rotation = rotation
        self.flip = flip
        self.device = device
        self.checkpoint = checkpoint
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        if self.method not in SSL_METHODS:
            raise ValueError(f"method={self.method!r}; use one of "
                             f"{list(SSL_METHODS)}.")
        check_positive_ints(self, ["batch_size", "projection_dim"])
        # epochs=0: the initial weights
        check_number(self.epochs, "epochs", integer=True, low=0)
        check_nonnegative_numbers(self, ["rotation"])
        check_number(self.lr, "lr", low=0, include_boundaries="neither")
        check_number(self.temperature, "temperature", low=0,
                     include_boundaries="neither")
        scale = self.crop_scale
        if not (isinstance(scale, (tuple, list)) and len(scale) == 2
                and 0 < scale[0] <= scale[1] <= 1):
            raise ValueError(f"crop_scale must be (low, high) with 0 < low <= "
                             f"high <= 1; got {scale!r}.")

    def _fingerprint_params(self):
        params = self.get_params(deep=False)
        for name in _NOT_LEARNED:
            params.pop(name)
        if isinstance(self.backbone, nn.Module):  # its architecture and weights
            params["backbone"] = [repr(self.backbone)] + [
                v.float().sum().item() for v in
                self.backbone.state_dict().values()]
        if isinstance(self.random_state, np.random.RandomState):
            params["random_state"] = None
        params["crop_scale"] = list(self.crop_scale)
        return params

    def fit(self, X, y=None):
        """Train the encoder on images ``X`` (labels are not used).

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
                (n_samples, H, W, C)
        y : ignored

        Returns
        -------
        self : SelfSupervisedEmbedding
        """
        X = check_images(X)
        self._check_params()
        if X.shape[0] < 2:
            raise ValueError(f"X holds {X.shape[0]} image; self-supervised "
                             f"training needs at least 2.")
        device = resolve_device(self.device)
        shape = image_shape(X)
        fingerprint = training_fingerprint(X, self._fingerprint_params())
        seed = None if self.random_state is None else seed_from(
            self.random_state)
        with seeded(seed):
            encoder = _backbone(self.backbone, shape)
            if seed is None:
                seed = int(torch.randint(2 ** 31 - 1, ()))
        self.loss_history_ = []
        self.loaded_from_checkpoint_ = load_encoder(self.checkpoint,
                                                    fingerprint, encoder)
        if not self.loaded_from_checkpoint_:
            self._train(encoder, X, device, seed)
            if self.checkpoint is not None:
                save_encoder(self.checkpoint, fingerprint, encoder)
        self.encoder_ = encoder.cpu().eval()
        self.input_shape_ = shape
        self.fingerprint_ = fingerprint
        self.embedding_dim_ = int(encoder(to_tensor(X[:2])).flatten(1).shape[1])
        return self

    def _train(self, encoder, X, device, seed):
        from lightly.loss import NTXentLoss
        from lightly.models.modules import SimCLRProjectionHead

        with seeded(seed):
            encoder.to(device).train()
            with torch.no_grad():
                dim = encoder(to_tensor(X[:2], device)).flatten(1).shape[1]
            head = SimCLRProjectionHead(dim, dim, self.projection_dim).to(device)
        criterion = NTXentLoss(temperature=self.temperature)
        params = list(encoder.parameters()) + list(head.parameters())
        optimizer = torch.optim.Adam(params, lr=self.lr)
        order_gen = torch.Generator().manual_seed(seed)
        view_gen = torch.Generator(device).manual_seed(seed + 1)
        n = X.shape[0]
        batch = min(self.batch_size, n)
        encoder.train()
        for epoch in range(self.epochs):
            order = torch.randperm(n, generator=order_gen).numpy()
            losses = []
            for start in range(0, n - batch + 1, batch):  # full batches only
                idx = np.sort(order[start:start + batch])
                xb = to_tensor(X[idx], device)
                v1, v2 = (random_views(xb, view_gen, self.crop_scale,
                                       self.rotation, self.flip)
                          for _ in range(2))
                z = head(encoder(torch.cat([v1, v2])).flatten(1))
                loss = criterion(*z.chunk(2))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            self.loss_history_.append(float(np.mean(losses)))
            if self.verbose:
                _LOG.info("epoch %d: loss %.4f", epoch + 1,
                          self.loss_history_[-1])

    def transform(self, X):
        """The embedding of images ``X``.

        Parameters
        ----------
        X : array-like of images, of the shape seen in :meth:`fit`

        Returns
        -------
        Z : ndarray of shape (n_samples, ``embedding_dim_``), float32
        """
        return encode_fitted(self, X)
