"""Paired differences over seeds: scipy's percentile bootstrap, and its edges."""

import warnings

import numpy as np
import pytest

from aalu_sk.experiment.stats import paired_difference


def _resampled_means_interval(diff, confidence, n_boot, seed):
    # The percentile interval as written out before scipy.stats.bootstrap
    # drew the resamples: same RandomState stream, same linear percentiles.
    rng = np.random.RandomState(seed)
    means = diff[rng.randint(diff.size, size=(n_boot, diff.size))].mean(1)
    tail = 100 * (1 - confidence) / 2
    return np.percentile(means, [tail, 100 - tail])


@pytest.mark.parametrize("n", [2, 3, 5, 12])
def test_interval_is_the_percentile_bootstrap_of_the_mean(n):
    rng = np.random.default_rng(n)
    a, b = rng.random(n), rng.random(n)
    d = paired_difference(a, b, confidence=0.9, n_boot=2000, random_state=7)
    low, high = _resampled_means_interval(a - b, 0.9, 2000, 7)
    assert d["low"] == pytest.approx(low, abs=1e-12)
    assert d["high"] == pytest.approx(high, abs=1e-12)
    assert d["low"] <= d["mean"] <= d["high"]
    assert d["mean"] == pytest.approx(np.mean(a - b))
    assert (d["wins"], d["worst"], d["n"]) == (
        int(np.sum(a > b)), pytest.approx(np.min(a - b)), n)


def test_same_random_state_same_interval():
    a, b = [0.91, 0.93, 0.90, 0.95], [0.90, 0.90, 0.89, 0.97]
    assert paired_difference(a, b, random_state=3) == \
        paired_difference(a, b, random_state=np.random.RandomState(3))
    assert paired_difference(a, b) == paired_difference(a, b)


@pytest.mark.parametrize("a, b", [
    ([0.8, 0.7, 0.9], [0.8, 0.7, 0.9]),      # a == b
    ([0.5, 0.25, 0.75], [0.25, 0.0, 0.5]),   # one difference on every seed
    ([0.9], [0.8]),                          # one seed
])
def test_differences_that_do_not_vary_give_a_point_interval(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DegenerateDataWarning, no NaN
        d = paired_difference(a, b)
    assert d["low"] == d["mean"] == d["high"] == float(a[0] - b[0])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same length"):
        paired_difference([1, 2], [1])
    with pytest.raises(ValueError, match="same length"):
        paired_difference([], [])
    with pytest.raises(ValueError, match=r"confidence must be a number in "
                                         r"\(0, 1\); got 1"):
        paired_difference([1, 2], [0, 1], confidence=1)
    with pytest.raises(ValueError, match="n_boot must be a positive integer"):
        paired_difference([1, 2], [0, 1], n_boot=0)
