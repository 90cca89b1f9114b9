"""Query strategies: AALU and the baselines it is compared with.

One family per module:

- :mod:`~aalu_sk.strategies.base`: the shared shell and the modAL adapter;
- :mod:`~aalu_sk.strategies.selection`: pure functions, scores in, indices out;
- :mod:`~aalu_sk.strategies.aalu` (with :mod:`~aalu_sk.strategies.losses`):
  :class:`AdversarialUncertaintySampler`;
- :mod:`~aalu_sk.strategies.vaal`: :class:`VAALSampler`;
- :mod:`~aalu_sk.strategies.uncertainty`: :class:`EntropySampler`,
  :class:`MarginSampler`;
- :mod:`~aalu_sk.strategies.geometry`: :class:`CoreSetSampler`,
  :class:`BADGESampler`;
- :mod:`~aalu_sk.strategies.lowbudget` (with
  :mod:`~aalu_sk.strategies.coverage`): :class:`TypiClustSampler`,
  :class:`ProbCoverSampler`, label-free, for very low budgets;
- :mod:`~aalu_sk.strategies.random`: :class:`RandomSampler`;
- :mod:`~aalu_sk.strategies.registry`: every strategy by name.
"""

from .aalu import ABLATIONS, PRESETS, AdversarialUncertaintySampler
from .base import BaseQueryStrategy, DegenerateScoresWarning
from .geometry import BADGESampler, CoreSetSampler
from .lowbudget import ProbCoverSampler, TypiClustSampler
from .random import RandomSampler
from .registry import STRATEGIES, make_strategy
from .uncertainty import EntropySampler, MarginSampler
from .vaal import VAALSampler

__all__ = ["AdversarialUncertaintySampler", "ABLATIONS", "PRESETS",
           "BaseQueryStrategy", "BADGESampler", "DegenerateScoresWarning", "CoreSetSampler",
           "EntropySampler", "MarginSampler", "ProbCoverSampler", "RandomSampler",
           "TypiClustSampler", "VAALSampler",
           "STRATEGIES", "make_strategy"]
