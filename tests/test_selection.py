"""Pure selection functions on hand-made arrays."""

import numpy as np
import pytest
import torch

from aalu_sk.strategies.selection import entropy, k_center_greedy, nearest_distances, top_k


def test_top_k_returns_largest_first():
    assert top_k([0.1, 0.9, 0.5, 0.7], 3, 0).tolist() == [1, 3, 2]


def test_top_k_ties_are_broken_by_the_seed_not_position():
    scores = np.zeros(50)
    picks = {tuple(top_k(scores, 5, seed)) for seed in range(10)}
    assert len(picks) > 1
    assert top_k(scores, 5, 3).tolist() == top_k(scores, 5, 3).tolist()
    assert sorted(top_k(scores, 5, 3).tolist()) != [0, 1, 2, 3, 4]


def test_top_k_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        top_k([0.1, np.nan], 1)


def test_entropy_values():
    proba = np.array([[1.0, 0.0], [0.5, 0.5], [0.25, 0.75]])
    expected = [0.0, np.log(2), -(0.25 * np.log(0.25) + 0.75 * np.log(0.75))]
    np.testing.assert_allclose(entropy(proba), expected)


def test_k_center_greedy_picks_far_points_in_order():
    labeled = np.array([[0.0, 0.0]])
    pool = np.array([[0.1, 0.0], [10.0, 0.0], [10.1, 0.0], [0.0, 5.0],
                     [-7.0, 0.0]], dtype=np.float64)
    idx, dist0 = k_center_greedy(pool, labeled, 3, random_state=0)
    # farthest from origin (10.1), then (-7, 0) is 7 from origin and 17 from
    # (10.1, 0); (0, 5) is 5 away; (10, 0) is 0.1 from a center.
    assert idx.tolist() == [2, 4, 3]
    np.testing.assert_allclose(dist0, np.linalg.norm(pool, axis=1))


def test_k_center_greedy_without_labeled_starts_at_random():
    pool = np.random.RandomState(0).randn(30, 3)
    firsts = {int(k_center_greedy(pool, pool[:0], 1, random_state=s)[0][0])
              for s in range(8)}
    assert len(firsts) > 1


def test_k_center_greedy_blocks_do_not_change_the_answer():
    rng = np.random.RandomState(1)
    pool, lab = torch.tensor(rng.randn(200, 5)), torch.tensor(rng.randn(20, 5))
    a = k_center_greedy(pool, lab, 10, random_state=0, batch_size=7)
    b = k_center_greedy(pool, lab, 10, random_state=0, batch_size=4096)
    assert a[0].tolist() == b[0].tolist()
    np.testing.assert_allclose(a[1], b[1])


def test_nearest_distances_matches_brute_force():
    rng = np.random.RandomState(2)
    p, c = rng.randn(50, 4), rng.randn(9, 4)
    brute = np.sqrt(((p[:, None] - c[None]) ** 2).sum(-1)).min(1)
    got = nearest_distances(torch.tensor(p), torch.tensor(c), batch_size=4)
    np.testing.assert_allclose(got.numpy(), brute, rtol=1e-6)


def test_k_center_greedy_never_repeats():
    pool = np.zeros((5, 2))  # all identical: every pick is a tie
    idx, _ = k_center_greedy(pool, pool[:0], 5, random_state=0)
    assert sorted(idx.tolist()) == [0, 1, 2, 3, 4]
