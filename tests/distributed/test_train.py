"""Training an ImageClassifier on 2 CPU workers (gloo) with Ray Train."""

import numpy as np
import pytest

from aalu_sk import EntropySampler, ImageClassifier
from aalu_sk.distributed import fit_distributed, worker_rows

PARAMS = dict(module="small_cnn", num_classes=10, max_epochs=8,
              batch_size=64, random_state=0)


@pytest.mark.parametrize("n, world", [(10, 2), (11, 2), (7, 3), (5, 1)])
def test_worker_rows_cover_every_sample_in_equal_shares(n, world):
    parts = [worker_rows(n, r, world, 0) for r in range(world)]
    assert len({len(p) for p in parts}) == 1
    assert set(np.concatenate(parts)) == set(range(n))
    assert sum(len(p) for p in parts) - n < world  # padding only


def test_bad_arguments_are_refused(digits):
    X, y = digits
    with pytest.raises(TypeError, match="must be an ImageClassifier"):
        fit_distributed(object(), X, y)
    with pytest.raises(ValueError, match="num_workers must be a positive"):
        fit_distributed(ImageClassifier(), X, y, num_workers=0)
    with pytest.raises(ValueError, match="backend='nccl' needs use_gpu"):
        fit_distributed(ImageClassifier(), X, y, backend="nccl")
    with pytest.raises(ValueError, match="each worker needs one"):
        fit_distributed(ImageClassifier(), X[:1], y[:1], num_workers=2)


@pytest.mark.slow
def test_two_gloo_workers_match_single_process_training(ray_cluster, digits):
    X, y = digits
    idx = np.random.RandomState(1).permutation(len(X))
    train, test = idx[:1000], idx[1000:]
    single = ImageClassifier(**PARAMS).fit(X[train], y[train])
    net = ImageClassifier(**PARAMS, record_losses=True)
    assert fit_distributed(net, X[train], y[train], num_workers=2) is net
    accuracy = [float(np.mean(m.predict(X[test]) == y[test]))
                for m in (single, net)]
    assert accuracy[0] > 0.9
    assert abs(accuracy[0] - accuracy[1]) < 0.04, accuracy
    # An ordinary fitted classifier: history, recorded losses, strategies.
    assert len(net.history) == PARAMS["max_epochs"]
    assert net.training_losses_.shape == (1000,)
    assert np.all(net.training_losses_ > 0)
    picked = EntropySampler(random_state=0).query(
        X[train[:50]], y[train[:50]], X[test], net, 5)
    assert len(set(picked.tolist())) == 5
