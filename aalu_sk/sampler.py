"""Deprecated alias of :mod:`aalu_sk.strategies.aalu`.

Kept for one release (removed in aalu_sk 0.3.0): ``import aalu_sk.sampler``
emits a FutureWarning and gives the objects of the new module. Import
from :mod:`aalu_sk.strategies.aalu` instead.
"""

from ._deprecation import alias

alias(__name__, globals())
