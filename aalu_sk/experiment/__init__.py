"""Simulated active-learning experiments: the paper's protocol end to end.

- :mod:`~aalu_sk.experiment.runner`: :class:`ExperimentConfig` and
  :func:`run_experiment`, the loop over strategies, seeds and cycles;
- :mod:`~aalu_sk.experiment.checkpoint`: resumable state, atomic writes;
- :mod:`~aalu_sk.experiment.datasets`: digits, MNIST-5k, CIFAR, SVHN,
  image folders;
- :mod:`~aalu_sk.experiment.plotting`: tables and learning curves.
"""

from ..strategies.registry import STRATEGIES
from .checkpoint import (RESULT_FIELDS, ConfigMismatchError, atomic_write,
                         check_split, dataset_fingerprint, derive_seed)
from .datasets import ImageDataset, load_dataset, load_image_folder
from .plotting import load_results, write_report
from .runner import ExperimentConfig, run_experiment

__all__ = ["ExperimentConfig", "run_experiment", "STRATEGIES",
           "ConfigMismatchError", "RESULT_FIELDS", "atomic_write",
           "check_split", "dataset_fingerprint", "derive_seed",
           "ImageDataset", "load_dataset", "load_image_folder",
           "load_results", "write_report"]
