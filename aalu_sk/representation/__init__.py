"""Label-free image embeddings, as scikit-learn transformers.

- :class:`SelfSupervisedEmbedding`: an encoder trained on the unlabeled
  pool itself (SimCLR, with lightly: ``pip install aalu_sk[ssl]``).
- :class:`PretrainedEmbedding`: a torchvision or timm backbone with weights
  from the local cache or a file (``pip install aalu_sk[pretrained]`` for
  timm); nothing is downloaded.

Each has ``fit(X_unlabeled)`` and ``transform(X)`` (float32 ``(n, d)``)
and keeps its torch encoder in ``encoder_``;
:class:`aalu_sk.ImageClassifier` takes one as ``representation=`` and
trains a small head on the embedding (or fine-tunes the encoder).
"""

from .base import EmbeddingCache, encode, fitted_representation
from .pretrained import PRETRAINED_SOURCES, PretrainedEmbedding
from .ssl import SSL_BACKBONES, SSL_METHODS, SelfSupervisedEmbedding

__all__ = ["SelfSupervisedEmbedding", "PretrainedEmbedding", "EmbeddingCache",
           "encode", "fitted_representation", "SSL_METHODS", "SSL_BACKBONES",
           "PRETRAINED_SOURCES"]

try:  # written on another branch; this package works without it
    from .pixels import PixelPCA  # noqa: F401
except ImportError:
    pass
else:
    __all__.append("PixelPCA")
