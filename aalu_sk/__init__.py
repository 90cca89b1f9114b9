"""aalu_sk: deep adversarial active learning with model uncertainty.

A scikit-learn/skorch/modAL toolkit implementing AALU (Zhu & Wang, ICIP 2020)
and the baselines it is compared with.
"""

from . import _compat
from .classifier import ImageClassifier, LossRecorder, TaskOutputs
from .strategies import (AdversarialUncertaintySampler, BADGESampler,
                         CoreSetSampler, EntropySampler, MarginSampler,
                         ProbCoverSampler, RandomSampler, TypiClustSampler,
                         VAALSampler)

__version__ = "0.1.0"

# modAL on scikit-learn >= 1.8 and pandas >= 2: rebinds modAL's own names
# only where they are broken (see aalu_sk._compat).
_compat.apply()

__all__ = [
    "ImageClassifier",
    "TaskOutputs",
    "LossRecorder",
    "AdversarialUncertaintySampler",
    "RandomSampler",
    "EntropySampler",
    "MarginSampler",
    "CoreSetSampler",
    "BADGESampler",
    "VAALSampler",
    "TypiClustSampler",
    "ProbCoverSampler",
    "__version__",
]
