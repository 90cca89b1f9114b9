"""Deprecated alias of :mod:`aalu_sk.experiment.plotting`.

Kept for one release (removed in aalu_sk 0.3.0): ``import aalu_sk.plotting``
emits a FutureWarning and gives the objects of the new module. Import
from :mod:`aalu_sk.experiment.plotting` instead.
"""

from ._deprecation import alias

alias(__name__, globals())
