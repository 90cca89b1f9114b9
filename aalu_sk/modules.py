"""Plain PyTorch modules: task models and the selectors' networks.

Task models (wrapped by :class:`aalu_sk.ImageClassifier`):

- :class:`CifarResNet18`: torchvision's ResNet-18 with the small-image stem
  (3x3 convolution, stride 1, no max-pool), as used in the paper.
- :class:`SmallCNN`: a light network for 8x8 to 28x28 grayscale images.
- :class:`MLP`: a two-layer perceptron on flattened images.
- :class:`EmbeddingHead` and :class:`RepresentationNet`: a small head on
  label-free embeddings (:mod:`aalu_sk.representation`), alone or behind
  the representation's encoder for fine-tuning.

Selector networks:

- :class:`FeatureVAE` and :class:`Assistant`: AALU's 3-layer MLPs.
- :class:`ConvVAE` and the discriminator made by :func:`mlp`: VAAL's networks.
"""

import math

import torch
from torch import nn

__all__ = ["CifarResNet18", "SmallCNN", "MLP", "EmbeddingHead",
           "RepresentationNet", "mlp", "FeatureVAE", "Assistant",
           "ConvVAE", "TASK_MODULES"]


class CifarResNet18(nn.Module):
    """ResNet-18 for small images (CIFAR stem: 3x3 conv, stride 1, no max-pool).

    Parameters
    ----------
    num_classes : int, default=10
    in_channels : int, default=3
    """

    def __init__(self, num_classes=10, in_channels=3):
        super().__init__()
        from torchvision.models import resnet18

        net = resnet18(weights=None, num_classes=num_classes)
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1,
                              padding=1, bias=False)
        net.maxpool = nn.Identity()
        self.net = net

    def forward(self, x):
        return self.net(x)


class _FeaturesThenLinear(nn.Module):
    """A task model as ``fc(features(x))``: a feature block, a linear layer.

    Subclasses set ``features`` (inputs to the penultimate embedding) and
    ``fc`` (the linear layer from it to the logits).
    """

    def forward(self, x):
        return self.fc(self.features(x))


class SmallCNN(_FeaturesThenLinear):
    """Two convolution blocks and a hidden layer, for 8x8 to 28x28 images.

    Parameters
    ----------
    num_classes : int, default=10
    in_channels : int, default=1
    width : int, default=32
        Channels of the first convolution (the second has twice as many).
    feature_dim : int, default=128
        Size of the penultimate layer, the features the selectors read.
    """

    def __init__(self, num_classes=10, in_channels=1, width=32, feature_dim=128):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width),
            nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Linear(8 * width, feature_dim), nn.ReLU(),
        )
        self.fc = nn.Linear(feature_dim, num_classes)


class MLP(_FeaturesThenLinear):
    """A two-layer perceptron on flattened images: one hidden layer, then logits.

    The cheapest task model: for small images (8x8 digits, 28x28 MNIST) and
    quick protocols. The features the selectors read are the hidden layer's
    activations.

    Parameters
    ----------
    num_classes : int, default=10
    in_channels : int, default=1
    image_size : tuple of int, default=(8, 8)
        ``(H, W)`` of the input images.
    hidden_dim : int, default=256
    """

    def __init__(self, num_classes=10, in_channels=1, image_size=(8, 8),
                 hidden_dim=256):
        super().__init__()
        n_in = in_channels * int(image_size[0]) * int(image_size[1])
        self.features = nn.Sequential(nn.Flatten(),
                                      nn.Linear(n_in, hidden_dim), nn.ReLU())
        self.fc = nn.Linear(hidden_dim, num_classes)


class EmbeddingHead(_FeaturesThenLinear):
    """The classifier on top of an embedding: linear, or one hidden layer.

    Parameters
    ----------
    in_features : int
        Size of the embedding.
    num_classes : int, default=10
    hidden_dim : int or None, default=None
        None gives a linear head (logistic regression on the embedding);
        an integer adds one ReLU hidden layer of that size.
    """

    def __init__(self, in_features, num_classes=10, hidden_dim=None):
        super().__init__()
        if hidden_dim is None:
            self.features = nn.Identity()
            width = in_features
        else:
            self.features = nn.Sequential(nn.Linear(in_features, hidden_dim),
                                          nn.ReLU())
            width = hidden_dim
        self.fc = nn.Linear(width, num_classes)


class RepresentationNet(nn.Module):
    """An encoder (images to embeddings) followed by a head, trained together.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps float ``(n, C, H, W)`` images to ``(n, d)`` embeddings.
    head : torch.nn.Module
        Maps embeddings to logits, e.g. :class:`EmbeddingHead`.
    """

    def __init__(self, encoder, head):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, x):
        return self.head(self.encoder(x).flatten(1))


#: Task modules that :class:`aalu_sk.ImageClassifier` knows by name.
TASK_MODULES = {"resnet18": CifarResNet18, "small_cnn": SmallCNN, "mlp": MLP}


def mlp(in_dim, hidden_dim, out_dim, n_layers=3):
    """A ``n_layers``-layer perceptron with ReLU between the linear layers."""
    dims = [in_dim] + [hidden_dim] * (n_layers - 1) + [out_dim]
    layers = []
    for i in range(n_layers):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < n_layers - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class FeatureVAE(nn.Module):
    """AALU's VAE on task-model features: 3-layer MLP encoder and decoder.

    ``forward(f)`` returns ``(f_hat, z, mu, logvar)``; ``z`` is drawn with
    the reparameterisation trick in training mode and equals ``mu`` in
    evaluation mode.
    """

    def __init__(self, feature_dim, latent_dim=32, hidden_dim=512):
        super().__init__()
        self.encoder = mlp(feature_dim, hidden_dim, 2 * latent_dim)
        self.decoder = mlp(latent_dim, hidden_dim, feature_dim)

    def encode(self, f):
        mu, logvar = self.encoder(f).chunk(2, dim=1)
        return mu, logvar.clamp(-20.0, 20.0)

    def forward(self, f):
        mu, logvar = self.encode(f)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) \
            if self.training else mu
        return self.decoder(z), z, mu, logvar


class Assistant(nn.Module):
    """AALU's active assistant: a 3-layer MLP with a sigmoid output.

    ``forward`` returns the logit; the assistant's score is its sigmoid, so
    ``A(m) = sigmoid(forward(m))``. Keeping logits lets the losses use the
    numerically stable ``softplus`` forms.
    """

    def __init__(self, in_dim, hidden_dim=512):
        super().__init__()
        self.net = mlp(in_dim, hidden_dim, 1)

    def forward(self, m):
        return self.net(m).squeeze(1)


class ConvVAE(nn.Module):
    """VAAL's convolutional VAE on raw images, sized to the input.

    The encoder halves the resolution with 4x4 stride-2 convolutions
    (``channels`` as in VAAL's reference, 128 to 1024) until it is at most
    4x4; the decoder mirrors it and resizes to the exact input size.
    ``forward(x)`` returns ``(x_hat, z, mu, logvar)``.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)`` of the input images.
    latent_dim : int, default=32
    channels : tuple of int, default=(128, 256, 512, 1024)
    """

    def __init__(self, image_shape, latent_dim=32,
                 channels=(128, 256, 512, 1024)):
        super().__init__()
        c, h, w = image_shape
        n_down = min(len(channels),
                     max(1, math.ceil(math.log2(max(h, w) / 4))))
        chans = list(channels[:n_down])
        enc, size, prev = [], (h, w), c
        for ch in chans:
            enc += [nn.Conv2d(prev, ch, 4, 2, 1, bias=False),
                    nn.BatchNorm2d(ch), nn.ReLU()]
            size = (max(1, size[0] // 2), max(1, size[1] // 2))
            prev = ch
        self.image_shape = tuple(image_shape)
        self.bottom = (prev,) + size
        flat = prev * size[0] * size[1]
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        self.fc_mu = nn.Linear(flat, latent_dim)
        self.fc_logvar = nn.Linear(flat, latent_dim)
        self.fc_dec = nn.Linear(latent_dim, flat)
        dec, outs = [], list(reversed(chans[:-1])) + [c]
        for i, ch in enumerate(outs):
            last = i == len(outs) - 1
            dec.append(nn.ConvTranspose2d(prev, ch, 4, 2, 1, bias=last))
            if not last:
                dec += [nn.BatchNorm2d(ch), nn.ReLU()]
            prev = ch
        self.decoder = nn.Sequential(*dec)

    def encode(self, x):
        """Latent mean and log-variance of images ``x``."""
        hidden = self.encoder(x)
        return self.fc_mu(hidden), self.fc_logvar(hidden).clamp(-20, 20)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) \
            if self.training else mu
        x_hat = self.decoder(self.fc_dec(z).view(-1, *self.bottom))
        if x_hat.shape[-2:] != x.shape[-2:]:
            x_hat = nn.functional.interpolate(x_hat, size=x.shape[-2:],
                                              mode="bilinear",
                                              align_corners=False)
        return x_hat, z, mu, logvar
