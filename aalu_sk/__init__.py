"""aalu_sk: deep adversarial active learning with model uncertainty.

A scikit-learn/skorch/modAL toolkit implementing AALU (Zhu & Wang, ICIP 2020)
and the baselines it is compared with.
"""

from .classifier import ImageClassifier, TaskOutputs
from .strategies import (AdversarialUncertaintySampler, BADGESampler,
                         CoreSetSampler, EntropySampler, MarginSampler,
                         RandomSampler, VAALSampler)

__version__ = "0.1.0"

__all__ = [
    "ImageClassifier",
    "TaskOutputs",
    "AdversarialUncertaintySampler",
    "RandomSampler",
    "EntropySampler",
    "MarginSampler",
    "CoreSetSampler",
    "BADGESampler",
    "VAALSampler",
    "__version__",
]
