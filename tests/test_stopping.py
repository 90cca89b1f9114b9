"""The stopping criterion (stabilising predictions) and its runner column."""

import numpy as np
import pytest

from aalu_sk.experiment import ExperimentConfig, run_experiment
from aalu_sk.experiment.plotting import load_results
from aalu_sk.stopping import (StabilizingPredictions, prediction_agreement,
                              stop_set_indices, stopping_point)


def test_kappa_known_values():
    # observed 3/4; by chance (2*3 + 2*1) / 16 = 1/2 -> (3/4 - 1/2) / (1/2)
    assert prediction_agreement([0, 0, 1, 1], [0, 0, 1, 0]) == \
        pytest.approx(0.5)
    assert prediction_agreement([0, 0, 1, 1], [0, 1, 0, 1]) == 0.0
    assert prediction_agreement(list("abab"), list("baba")) == -1.0
    assert prediction_agreement(["x"] * 5, ["x"] * 5) == 1.0
    assert prediction_agreement(["x"] * 5, ["y"] * 5) == 0.0


def test_kappa_matches_sklearn():
    from sklearn.metrics import cohen_kappa_score
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    b[:120] = a[:120]
    assert prediction_agreement(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_kappa_refuses_bad_input():
    with pytest.raises(ValueError, match="one length"):
        prediction_agreement([0, 1], [0])
    with pytest.raises(ValueError, match="empty"):
        prediction_agreement([], [])


def test_stopping_point():
    assert stopping_point([None, 0.995, 0.999, 0.98, 0.99, 1.0, 0.995]) == 6
    assert stopping_point([None, 1.0, 1.0], window=3) is None
    assert stopping_point([None, 0.9, 0.95], threshold=0.9, window=2) == 2
    assert stopping_point([None, float("nan"), 1.0], window=2) is None
    with pytest.raises(ValueError, match="threshold"):
        stopping_point([], threshold=0)
    with pytest.raises(ValueError, match="window"):
        stopping_point([], window=0)


def test_stabilizing_predictions_follows_updates():
    monitor = StabilizingPredictions(threshold=0.99, window=2)
    assert monitor.update([0, 1, 2, 0]) is None
    assert monitor.update([0, 1, 2, 1]) < 0.99
    assert not monitor.should_stop()
    assert monitor.update([0, 1, 2, 1]) == 1.0
    assert not monitor.should_stop()
    assert monitor.update([0, 1, 2, 1]) == 1.0
    assert monitor.should_stop() and monitor.stopped_at() == 3
    assert monitor.update([1, 1, 1, 1, 1]) is None  # another stop set size
    assert not monitor.should_stop()


def test_stop_set_indices_are_fixed_by_the_seed():
    a = stop_set_indices(100, 10, 3)
    assert np.array_equal(a, stop_set_indices(100, 10, 3))
    assert not np.array_equal(a, stop_set_indices(100, 10, 4))
    assert np.all(np.diff(a) > 0) and len(a) == 10
    assert np.array_equal(stop_set_indices(5, 10, 0), np.arange(5))


def test_runner_records_stop_agreement_without_changing_results(tmp_path):
    config = dict(dataset="digits", strategies=("entropy",), seeds=(0,),
                  initial=0.10, step=0.05, final=0.20, model="small_cnn",
                  epochs=2, batch_size=64, device="cpu")
    plain = run_experiment(ExperimentConfig(**config), tmp_path / "plain",
                           progress=False)
    measured = run_experiment(ExperimentConfig(**config, stop_set=300),
                              tmp_path / "stop", progress=False)
    assert [r["accuracy"] for r in plain] == [r["accuracy"] for r in measured]
    assert all(r["stop_agreement"] is None for r in plain)
    agreements = [r["stop_agreement"] for r in measured]
    assert agreements[0] is None
    assert all(-1 <= a <= 1 for a in agreements[1:])
    rows = load_results(tmp_path / "stop")
    assert rows[0]["stop_agreement"] is None
    assert [r["stop_agreement"] for r in rows[1:]] == pytest.approx(
        agreements[1:])


def test_runner_refuses_a_negative_stop_set():
    with pytest.raises(ValueError, match="stop_set"):
        ExperimentConfig(stop_set=-1).validate()


def test_kappa_where_sklearn_is_undefined_is_one_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn: NaN, UndefinedMetricWarning
        assert prediction_agreement([2] * 6, [2] * 6) == 1.0
        assert prediction_agreement([2] * 6, [3] * 6) == 0.0


def test_kappa_compares_labels_as_numpy_does():
    # stored predictions read back as strings still match the model's
    assert prediction_agreement([0, 1, 1, 0], ["0", "1", "1", "0"]) == 1.0
