"""Shared fixtures: tiny data and a fitted task model, built once per session."""

import numpy as np
import pytest
import torch

from aalu_sk import ImageClassifier

# Keep the suite light on a 2-core machine.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def digits():
    """Digits as float32 (n, 1, 8, 8) images in [0, 1] and int labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X = (data.images / 16.0).astype(np.float32)[:, None]
    return X, data.target.astype(np.int64)


@pytest.fixture(scope="session")
def split(digits):
    """A labeled set of 60, a pool of 240 and the rest as test set."""
    X, y = digits
    idx = np.random.RandomState(0).permutation(len(X))
    lab, pool, test = idx[:60], idx[60:300], idx[300:600]
    return X[lab], y[lab], X[pool], y[pool], X[test], y[test]


@pytest.fixture(scope="session")
def fitted_net(split):
    X_l, y_l = split[0], split[1]
    return ImageClassifier("small_cnn", num_classes=10, max_epochs=3,
                           random_state=0).fit(X_l, y_l)


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster with 2 CPUs, started once, shut down at the end."""
    ray = pytest.importorskip("ray")
    import logging

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    yield ray
    ray.shutdown()
