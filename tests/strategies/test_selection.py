"""Pure selection functions on hand-made arrays."""

import numpy as np
import pytest
import torch

from aalu_sk.strategies.selection import (diverse_top_k, entropy,
                                          gradient_embedding_norms,
                                          k_center_greedy,
                                          kmeans_pp_gradient_embeddings,
                                          margin, nearest_distances,
                                          pick_diverse, top_k)


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


def test_margin_values():
    proba = np.array([[0.9, 0.05, 0.05], [0.4, 0.4, 0.2], [0.1, 0.3, 0.6],
                      [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(margin(proba), [0.15, 1.0, 0.7, 1.0])


def two_clusters(seed=0):
    """Cluster A (5 near-duplicates) holds the best scores, B (20) the next.

    The other 75 samples are far from both and score low.
    """
    rng = np.random.RandomState(seed)
    feats = np.concatenate([rng.randn(5, 3) * 0.01,
                            rng.randn(20, 3) * 0.01 + 10.0,
                            rng.randn(75, 3) * 0.01 - 10.0])
    scores = np.concatenate([0.9 + rng.rand(5) * 0.05,
                             0.8 + rng.rand(20) * 0.05,
                             rng.rand(75) * 0.1])
    return scores, feats


def test_diverse_top_k_picks_one_per_cluster_where_top_k_piles_up():
    scores, feats = two_clusters()
    plain = top_k(scores, 2, 0)
    assert (plain < 5).all()  # both from the near-duplicates of cluster A
    picked = diverse_top_k(scores, feats, 2, random_state=0)
    # 8 candidates: the 5 of A and the 3 best of B, one pick from each
    assert picked[0] == np.argmax(scores[:5])
    assert picked[1] == 5 + np.argmax(scores[5:25])


def test_diverse_top_k_never_reaches_below_its_candidates():
    scores, feats = two_clusters()
    # 4 x 1 = 4 candidates, all in cluster A: cluster B stays out
    picked = diverse_top_k(scores, feats, 1, candidates=4, random_state=0)
    assert picked.tolist() == [np.argmax(scores)]
    picked = diverse_top_k(scores, feats, 3, random_state=0)
    # 12 candidates: 5 of A and 7 of B; the low third cluster stays out
    assert (picked < 25).all() and len(set(picked.tolist())) == 3


def test_diverse_top_k_is_seeded_and_handles_duplicates():
    scores = np.linspace(0, 1, 30)
    feats = np.zeros((30, 2))  # one distinct point: fill by score
    picked = diverse_top_k(scores, feats, 4, random_state=0)
    assert picked.tolist() == [29, 28, 27, 26]
    rng = np.random.RandomState(5)
    scores, feats = rng.rand(200), rng.randn(200, 4)
    a = diverse_top_k(scores, feats, 10, random_state=3)
    assert a.tolist() == diverse_top_k(scores, feats, 10,
                                       random_state=3).tolist()
    assert len(set(a.tolist())) == 10
    assert np.all(np.diff(scores[a]) <= 0)


def test_diverse_top_k_with_candidates_one_is_top_k():
    rng = np.random.RandomState(1)
    scores, feats = rng.rand(50), rng.randn(50, 3)
    assert diverse_top_k(scores, feats, 7, candidates=1,
                         random_state=0).tolist() == \
        top_k(scores, 7, 0).tolist()


def explicit_embeddings(proba, feats):
    a = proba.copy()
    a[np.arange(len(a)), a.argmax(1)] -= 1
    return (a[:, :, None] * feats[:, None, :]).reshape(len(a), -1)


def test_gradient_embedding_norms_match_the_explicit_embeddings():
    rng = np.random.RandomState(0)
    proba, feats = rng.dirichlet(np.ones(4), 30), rng.randn(30, 5)
    np.testing.assert_allclose(
        gradient_embedding_norms(proba, feats),
        np.linalg.norm(explicit_embeddings(proba, feats), axis=1))


def test_kmeans_pp_matches_a_reference_on_explicit_embeddings():
    """Same draws as k-means++ on the materialised embeddings (Ash et al.)."""
    rng = np.random.RandomState(1)
    proba, feats = rng.dirichlet(np.ones(3) * 0.5, 80), rng.randn(80, 4)
    got, norms = kmeans_pp_gradient_embeddings(proba, feats, 12,
                                               random_state=7, batch_size=9)
    g = explicit_embeddings(proba, feats)
    ref_rng = np.random.RandomState(7)
    picks = [int(top_k(np.linalg.norm(g, axis=1), 1, ref_rng)[0])]
    while len(picks) < 12:
        d = ((g[:, None, :] - g[picks][None]) ** 2).sum(-1).min(1)
        d[picks] = 0
        u = ref_rng.uniform(0, d.sum())
        picks.append(int(np.searchsorted(np.cumsum(d), u, side="right")))
    assert got.tolist() == picks
    np.testing.assert_allclose(norms, np.linalg.norm(g, axis=1))


def test_kmeans_pp_starts_uncertain_and_never_picks_a_duplicate():
    # 50 confident samples share the zero gradient embedding; 3 are uncertain.
    proba = np.tile([[1.0, 0.0, 0.0]], (53, 1))
    proba[[4, 20, 41]] = [[0.4, 0.35, 0.25], [0.3, 0.4, 0.3], [0.5, 0.1, 0.4]]
    feats = np.random.RandomState(0).randn(53, 6)
    norms = gradient_embedding_norms(proba, feats)
    for seed in range(5):
        picked, _ = kmeans_pp_gradient_embeddings(proba, feats, 4,
                                                  random_state=seed)
        assert picked[0] == np.argmax(norms)
        # four distinct embeddings exist: the three uncertain ones and zero,
        # and a second zero embedding is at distance 0 from the first
        assert {4, 20, 41} < set(picked.tolist())
        assert len(set(picked.tolist())) == 4
    # more picks than distinct embeddings: the rest are distinct samples
    picked, _ = kmeans_pp_gradient_embeddings(proba, feats, 7, random_state=0)
    assert len(set(picked.tolist())) == 7


def far_region_scores(seed=0, n_far=100, n_near=900, dim=16):
    """A compact far region holding most of the top scores, beside two
    wide regions that hold the rest (the labels' side of the pool)."""
    rng = np.random.RandomState(seed)
    feats = np.concatenate([rng.randn(n_far, dim) + 12.0,
                            rng.randn(n_near // 2, dim) + 3.0,
                            rng.randn(n_near - n_near // 2, dim) - 3.0])
    scores = np.concatenate([rng.uniform(0.7, 1.0, n_far),
                             rng.uniform(0.0, 0.8, n_near)])
    return scores, feats, n_far


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_diverse_top_k_follows_the_scores_to_the_far_region(seed):
    scores, feats, n_far = far_region_scores(seed)
    n = 100
    in_top = np.mean(top_k(scores, n, 0) < n_far)
    assert in_top >= 0.6  # the shape of the pool: the scores point there
    picked = diverse_top_k(scores, feats, n, random_state=seed)
    weighted = np.mean(picked < n_far)
    # the same candidates, clustered without the scores' weights
    m = 4 * n
    top = top_k(scores, m, seed)
    unweighted = np.mean(pick_diverse(top, feats[top], n, seed) < n_far)
    # scores spread evenly: the weights move about half the batch there,
    # unweighted k-means a quarter (its share of the 4n candidates)
    assert weighted >= unweighted + 0.15, (in_top, weighted, unweighted)
    assert len(set(picked.tolist())) == n
