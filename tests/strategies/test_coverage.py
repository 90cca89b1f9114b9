"""aalu_sk.strategies.coverage: TypiClust and ProbCover as pure functions.

Known answers on hand-made pools (blobs of known sizes and centres), the
purity heuristic checked against an independent count, determinism,
edge cases, validation errors, and agreement with scikit-activeml 1.0.1
on the same embedding.
"""

import logging
import warnings

import numpy as np
import pytest

from aalu_sk.strategies.coverage import (ball_purity, coverage_graph,
                                         covered_fraction,
                                         kmeans_labels, l2_normalize,
                                         probcover, purity_delta, typicality,
                                         typiclust)


def blobs(sizes, spread=0.3, gap=10.0, seed=0, dim=2):
    """Gaussian blobs on a line, ``gap`` apart.

    Returns the points, each point's blob, and the row of each blob's
    exact centre (placed first in the blob).
    """
    rng = np.random.RandomState(seed)
    X, blob, centres = [], [], []
    for b, size in enumerate(sizes):
        centre = np.zeros(dim)
        centre[0] = gap * b
        centres.append(sum(sizes[:b]))
        X.append(np.vstack([centre, centre + spread * rng.randn(size - 1,
                                                                 dim)]))
        blob += [b] * size
    return np.vstack(X), np.array(blob), np.array(centres)


def most_typical(X, blob, b, exclude=(), k=20):
    """The row of blob ``b`` TypiClust must pick, found independently."""
    rows = np.setdiff1d(np.flatnonzero(blob == b), exclude)
    d = np.linalg.norm(X[rows, None] - X[None, rows], axis=-1)
    k = min(k, rows.size - 1)
    mean_knn = np.sort(d, axis=1)[:, 1:k + 1].mean(axis=1)
    return int(rows[np.argmin(mean_knn)])


# -- typicality ----------------------------------------------------------------
def test_typicality_is_the_inverse_mean_knn_distance():
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    # k=2: neighbours of 0 are 1, 3 (mean 2); of 1: 0, 3 (1.5);
    # of 3: 1, 0 (2.5); of 7: 3, 1 (5).
    np.testing.assert_allclose(typicality(X, k=2), [1 / 2, 1 / 1.5, 1 / 2.5,
                                                    1 / 5])
    # k beyond the rows: all the others.
    np.testing.assert_allclose(typicality(X, k=20)[0], 3 / 11)
    assert typicality(X[:1]).tolist() == [0.0]


# -- TypiClust -------------------------------------------------------------------
def test_typiclust_picks_the_centre_of_each_cluster_largest_first():
    X, blob, centres = blobs([30, 50, 40])
    picks, typ = typiclust(X, [], 3, random_state=0)
    assert picks.tolist() == [most_typical(X, blob, b) for b in (1, 2, 0)]
    assert picks[0] == np.nanargmax(typ)
    # The dense centre: within a fraction of the spread of the true one.
    assert np.linalg.norm(X[picks] - X[centres[[1, 2, 0]]], axis=1).max() \
        < 0.3


def test_typiclust_skips_covered_clusters():
    X, blob, centres = blobs([30, 50, 40, 20])
    labeled = [centres[1] + 3, centres[2] + 1]  # the two largest blobs
    picks, typ = typiclust(X, labeled, 2, random_state=0)
    assert picks.tolist() == [most_typical(X, blob, 0),
                              most_typical(X, blob, 3)]
    assert np.isnan(typ[labeled]).all() and not np.isnan(np.delete(
        typ, labeled)).any()


def test_typiclust_with_given_clusters_and_too_small_ones():
    X, blob, centres = blobs([30, 5, 40])
    # The 5-point blob is below min_cluster_size=6: used only at the end.
    first = [most_typical(X, blob, 2), most_typical(X, blob, 0)]
    picks, _ = typiclust(X, [], 3, clusters=blob, random_state=0)
    # Cycled back to the largest, not the tiny one; typicality among the
    # rows not yet picked.
    assert picks.tolist() == first + [most_typical(X, blob, 2,
                                                   exclude=first)]
    picks, _ = typiclust(X, [], 3, clusters=blob, min_cluster_size=5,
                         random_state=0)
    assert picks.tolist() == first + [most_typical(X, blob, 1)]


def test_typiclust_more_picks_than_clusters_cycles_and_stays_distinct():
    X, blob, centres = blobs([12, 8])
    picks, _ = typiclust(X, [], 19, clusters=blob, random_state=0)
    assert len(set(picks.tolist())) == 19
    assert blob[picks[:4]].tolist() == [0, 1, 0, 1]  # round robin
    picks, _ = typiclust(X, list(range(12)), 8, clusters=blob,
                         random_state=0)
    assert sorted(picks.tolist()) == list(range(12, 20))


def test_typiclust_k_means_finds_the_blobs():
    X, blob, centres = blobs([40, 30, 20], seed=3)
    labels = kmeans_labels(X, 3, random_state=0)
    assert len({(a, b) for a, b in zip(labels, blob)}) == 3
    picks, _ = typiclust(X, [centres[0]], 2, random_state=1)
    # 3 clusters (1 labeled + 2); the labeled blob's is covered.
    assert picks.tolist() == [most_typical(X, blob, 1),
                              most_typical(X, blob, 2)]


def test_typiclust_is_seeded():
    X = np.random.RandomState(0).rand(200, 5)
    a = typiclust(X, [3, 4], 10, random_state=7)[0]
    assert a.tolist() == typiclust(X, [3, 4], 10, random_state=7)[0].tolist()
    assert a.tolist() != typiclust(X, [3, 4], 10, random_state=8)[0].tolist()
    # Equal sizes and typicalities: the seed orders them, not the position.
    tied = np.repeat(np.eye(4) * 10, 6, axis=0)
    firsts = {int(typiclust(tied, [], 1, clusters=np.repeat(np.arange(4), 6),
                            random_state=s)[0][0]) // 6 for s in range(12)}
    assert len(firsts) > 1


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0), ValueError, "n must be a positive"),
    (dict(n=10), ValueError, "larger than the 9 unlabeled"),
    (dict(k=0), ValueError, "k must be a positive integer; got 0"),
    (dict(min_cluster_size=0), ValueError, "min_cluster_size"),
    (dict(max_clusters=1.5), ValueError, "max_clusters"),
    (dict(labeled=[10]), ValueError, "outside 0..9"),
    (dict(labeled=[0.5]), TypeError, "row positions"),
    (dict(labeled=np.ones(3, bool)), ValueError, r"shape \(10,\)"),
    (dict(clusters=np.zeros(9, int)), ValueError, "clusters must be"),
    (dict(features=np.full((10, 2), np.nan)), ValueError, "NaN"),
    (dict(features=np.zeros(10)), ValueError, "2 dimensions"),
    (dict(features=np.zeros((10, 2, 2))), ValueError, "2-d array"),
])
def test_typiclust_errors(kwargs, error, match):
    args = {**dict(features=np.random.RandomState(0).rand(10, 2),
                   labeled=[0], n=2), **kwargs}
    with pytest.raises(error, match=match):
        typiclust(**args)


# -- ProbCover ---------------------------------------------------------------------
def test_coverage_graph_holds_the_closed_balls():
    X = np.array([[0.0], [1.0], [2.5]])
    graph = coverage_graph(X, 1.0).toarray()
    assert graph.tolist() == [[True, True, False], [True, True, False],
                              [False, False, True]]


def test_probcover_picks_the_densest_ball_and_never_a_covered_region():
    # Blob sizes 10, 25, 15; blob 1 is labeled: its region is covered.
    X, blob, centres = blobs([10, 25, 15], spread=0.2)
    labeled = [centres[1]]
    picks, degrees = probcover(X, labeled, 2, delta=3.0, random_state=0)
    assert blob[picks].tolist() == [2, 0]
    assert degrees[blob == 1].max() == 0
    assert degrees[picks[0]] == 15
    # Without labels the largest blob comes first.
    picks, _ = probcover(X, [], 3, delta=3.0, random_state=0)
    assert blob[picks].tolist() == [1, 2, 0]


def test_probcover_greedy_counts_only_new_coverage():
    # Balls of radius 1: row 2 covers {1, 2, 3}, rows 5/6 cover {5, 6}
    # once row 2 is picked, though row 3 alone covers {2, 3, 4} (3 rows).
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [8.0], [9.0]])
    picks, degrees = probcover(X, [], 3, delta=1.0, random_state=0)
    assert degrees.tolist() == [2, 3, 3, 3, 2, 2, 2]
    assert picks[0] in (1, 2, 3)
    if picks[0] == 2:  # covers 1..3; then 0 or 4 (new: 1 or 1) vs 5/6 (2)
        assert picks[1] in (5, 6)


def test_probcover_falls_back_to_random_when_all_is_covered(caplog):
    X, blob, _ = blobs([10, 10], spread=0.1)
    with caplog.at_level(logging.INFO, logger="aalu_sk.strategies"):
        picks, _ = probcover(X, [], 6, delta=1.0, random_state=0)
    assert sorted(blob[picks[:2]].tolist()) == [0, 1]
    assert len(set(picks.tolist())) == 6
    assert "after 2 of 6 picks" in caplog.text
    other, _ = probcover(X, [], 6, delta=1.0, random_state=1)
    assert picks[2:].tolist() != other[2:].tolist()


def test_probcover_returns_the_coverage_of_labeled_and_picked_rows():
    X = np.random.RandomState(1).rand(200, 2)
    labeled = np.arange(0, 200, 25)
    for n in (1, 10, 60):
        picks, degrees, coverage = probcover(X, labeled, n, delta=0.08,
                                             random_state=0,
                                             return_coverage=True)
        assert coverage == covered_fraction(
            X, np.concatenate([labeled, picks]), 0.08)
        np.testing.assert_array_equal(
            picks, probcover(X, labeled, n, 0.08, random_state=0)[0])
    assert 0 < covered_fraction(X, labeled, 0.08) < coverage <= 1


def test_probcover_is_seeded_and_skips_labeled_rows():
    X = np.random.RandomState(0).rand(150, 3)
    a, _ = probcover(X, np.arange(0, 150, 3), 20, delta=0.2, random_state=4)
    b, _ = probcover(X, np.arange(0, 150, 3), 20, delta=0.2, random_state=4)
    assert a.tolist() == b.tolist() and not set(a.tolist()) & set(
        range(0, 150, 3))
    ties = np.eye(5)  # every ball holds only its centre
    firsts = {int(probcover(ties, [], 1, 0.5, random_state=s)[0][0])
              for s in range(10)}
    assert len(firsts) > 1


def test_covered_fraction_counts_each_row_once_within_delta():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [8.0], [9.0]])
    assert covered_fraction(X, [], 1.0) == 0.0
    assert covered_fraction(X, [2], 1.0) == 3 / 7       # {1, 2, 3}
    assert covered_fraction(X, [2, 3], 1.0) == 4 / 7    # overlap once
    assert covered_fraction(X, [2, 5], 1.0) == 5 / 7
    assert covered_fraction(X, [2], 0.99) == 1 / 7      # closed balls
    # the greedy picks of probcover cover what its degrees promised
    picks, degrees = probcover(X, [], 1, delta=1.0, random_state=0)
    assert covered_fraction(X, picks, 1.0) == degrees[picks[0]] / 7
    with pytest.raises(ValueError, match="centers must be row indices"):
        covered_fraction(X, [7], 1.0)


@pytest.mark.parametrize("delta", [-1.0, np.inf, "0.5", None])
def test_probcover_refuses_bad_delta(delta):
    with pytest.raises(ValueError, match="delta must be a finite number"):
        probcover(np.eye(3), [], 1, delta)


# -- the purity heuristic ----------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.8, 0.95])
def test_purity_delta_is_the_largest_pure_radius(alpha):
    X, _, _ = blobs([60, 40, 50], spread=1.0, gap=6.0, seed=1)
    X = l2_normalize(X + [0.0, 30.0])
    delta = purity_delta(X, 3, alpha=alpha, random_state=0)
    labels = kmeans_labels(X, 3, random_state=0)
    # Checked by an independent count on the graph.
    assert ball_purity(X, labels, delta) >= alpha
    assert ball_purity(X, labels, delta * 1.05) < alpha or \
        ball_purity(X, labels, delta * 1.5) < alpha
    assert purity_delta(X, 3, alpha=0.5, random_state=0) >= delta


def test_purity_delta_on_separated_blobs_keeps_balls_inside_blobs():
    X, blob, _ = blobs([30, 30, 30], spread=0.3, gap=10.0)
    delta = purity_delta(X, 3, random_state=0)
    assert ball_purity(X, blob, delta) >= 0.95
    assert 1.0 < delta < 10.0  # spans a blob, not the gap


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_classes=1), "n_classes must be an integer >= 2"),
    (dict(n_classes=50), "larger than the 20 distinct"),
    (dict(alpha=1.0), r"alpha must be a number in \(0, 1\)"),
    (dict(alpha=0), "alpha"),
])
def test_purity_delta_errors(kwargs, match):
    args = {**dict(features=np.random.RandomState(0).rand(20, 2),
                   n_classes=2), **kwargs}
    with pytest.raises(ValueError, match=match):
        purity_delta(**args)


# -- scikit-activeml 1.0.1 on the same embedding -----------------------------------------
def _skactiveml_y(n, labeled):
    y = np.full(n, np.nan)
    y[labeled] = 0.0
    return y


@pytest.mark.parametrize("labeled", [[], [5, 100]])
def test_probcover_matches_scikit_activeml(labeled):
    """Same embedding, same delta: the same greedy rule.

    Equal out-degrees are broken by different generators, and a different
    tie choice changes what later picks can gain, so the check replays
    scikit-activeml's picks: after each of its first ``t`` picks, ours
    chooses a sample that covers exactly as many new samples as its
    pick ``t + 1``, and the first picks, where no tie was hit, agree.
    """
    pool = pytest.importorskip("skactiveml.pool")
    X = l2_normalize(np.random.RandomState(0).randn(160, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one delta: it warns it can't tune
        theirs = pool.ProbCover(deltas=[0.6], random_state=0).query(
            X, _skactiveml_y(160, labeled), batch_size=8)
    ours, degrees = probcover(X, labeled, 8, delta=0.6, random_state=0)
    graph = coverage_graph(X, 0.6).toarray()
    for t in range(8):
        done = list(labeled) + theirs[:t].tolist()
        covered = graph[done].any(axis=0)
        nxt = probcover(X, done, 1, delta=0.6, random_state=t)[0][0]
        assert (graph[nxt] & ~covered).sum() == \
            (graph[theirs[t]] & ~covered).sum(), t
    assert ours[0] == theirs[0] or degrees[ours[0]] == degrees[theirs[0]]


@pytest.mark.parametrize("labeled", [[], [0]])
def test_typiclust_matches_scikit_activeml_on_the_same_clusters(labeled):
    """With scikit-activeml's clusters and k, and min_cluster_size=1 (it
    keeps every cluster), the same samples in the same order.

    scikit-activeml's TypiClust clusters with ``KMeans(n_labeled +
    batch_size, random_state=seed)``; the clusters are passed to ours. Its
    picks differ from ours by design only in what ours adds (a minimum
    cluster size, L2 normalisation, k=20, cycling when clusters run out).
    """
    pool = pytest.importorskip("skactiveml.pool")
    from sklearn.cluster import KMeans

    X, _, _ = blobs([40, 30, 25, 12], spread=1.5, gap=6.0, seed=2)
    n = 3
    clusters = KMeans(len(labeled) + n, random_state=0).fit_predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pool.TypiClust(random_state=0, k=5).query(
            X, _skactiveml_y(len(X), labeled), batch_size=n)
    ours, _ = typiclust(X, labeled, n, k=5, min_cluster_size=1,
                        clusters=clusters, random_state=0)
    assert ours.tolist() == theirs.tolist()
