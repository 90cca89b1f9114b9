"""Label-free embeddings for strategies that read no task model.

- :mod:`~aalu_sk.representation.pixels`: :class:`PixelPCA`, standardised
  pixels projected by PCA (the fallback of the low-budget strategies).
"""

from .pixels import PixelPCA

__all__ = ["PixelPCA"]
