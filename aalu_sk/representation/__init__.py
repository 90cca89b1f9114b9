"""Label-free image embeddings, as scikit-learn transformers.

- :class:`PixelPCA`: standardised pixels projected by PCA; no training,
  the view the low-budget strategies build from the pool when nothing
  better is given.
- :class:`SelfSupervisedEmbedding`: an encoder trained on the unlabeled
  pool itself (SimCLR, with lightly: ``pip install aalu_sk[ssl]``).
- :class:`PretrainedEmbedding`: a torchvision or timm backbone with weights
  from the local cache or a file (``pip install aalu_sk[pretrained]`` for
  timm); nothing is downloaded.

Each has ``fit(X_unlabeled)`` and ``transform(X)`` (float32 ``(n, d)``);
the trained ones keep their torch encoder in ``encoder_``.
:class:`aalu_sk.ImageClassifier` takes one as ``representation=`` and
trains a small head on the embedding (or fine-tunes the encoder).
"""

from .base import EmbeddingCache, encode, fitted_representation
from .pixels import PixelPCA
from .pretrained import PRETRAINED_SOURCES, PretrainedEmbedding
from .ssl import SSL_BACKBONES, SSL_METHODS, SelfSupervisedEmbedding

__all__ = ["PixelPCA", "SelfSupervisedEmbedding", "PretrainedEmbedding",
           "EmbeddingCache", "encode", "fitted_representation",
           "SSL_METHODS", "SSL_BACKBONES", "PRETRAINED_SOURCES"]
