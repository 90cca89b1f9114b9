"""Pure low-budget selection: TypiClust and ProbCover, arrays in, indices out.

Both read only an embedding of the whole pool (labeled and unlabeled rows
together) and which rows are labeled, so they work from zero labels. Ties
are broken by the seeded generator passed in, never by position.

- :func:`typiclust`: one typical sample from each of the largest clusters
  that hold no labeled sample (Hacohen, Dekel & Weinshall, 2022);
- :func:`probcover`: greedy maximum coverage with balls of radius
  ``delta`` (Yehuda et al., 2022), on a sparse graph
  (:func:`coverage_graph`), with ``delta`` from the purity heuristic
  (:func:`purity_delta`, checked by :func:`ball_purity`).
"""

import logging

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

from ..validation import check_number, check_samples

__all__ = ["l2_normalize", "kmeans_labels", "typicality", "typiclust",
           "coverage_graph", "ball_purity", "purity_delta", "probcover",
           "covered_fraction", "MINIBATCH_ABOVE"]

log = logging.getLogger("aalu_sk.strategies")

#: :func:`kmeans_labels` switches from Lloyd's k-means to mini-batch
#: k-means when ``n_samples * n_clusters`` exceeds this (the authors' code
#: switches above 50 clusters whatever the pool size; this rule keeps full
#: k-means wherever it takes a few seconds, e.g. 50,000 samples into 100
#: clusters, and bounds the time above).
MINIBATCH_ABOVE = 5_000_000


def _check_features(features, name="features"):
    X = check_samples(features, name)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (n_samples, "
                         f"n_features); got shape {X.shape}.")
    return X.astype(np.float64, copy=False)


def _check_labeled(labeled, n_samples):
    """The labeled rows as a boolean mask, from a mask or positions."""
    labeled = np.asarray([] if labeled is None else labeled)
    if labeled.dtype == bool:
        if labeled.shape != (n_samples,):
            raise ValueError(
                f"labeled as a mask must have shape ({n_samples},); got "
                f"{labeled.shape}.")
        return labeled.copy()
    if labeled.size and labeled.dtype.kind not in "iu":
        raise TypeError(f"labeled must be row positions (integers) or a "
                        f"boolean mask; got dtype {labeled.dtype}.")
    labeled = labeled.astype(np.int64).ravel()
    if labeled.size and (labeled.min() < 0 or labeled.max() >= n_samples):
        raise ValueError(
            f"labeled holds positions outside 0..{n_samples - 1}: "
            f"{labeled[(labeled < 0) | (labeled >= n_samples)][:5].tolist()}.")
    mask = np.zeros(n_samples, dtype=bool)
    mask[labeled] = True
    return mask


def _check_n(n, n_unlabeled):
    check_number(n, "n", integer=True, low=1)
    if n > n_unlabeled:
        raise ValueError(f"n={n} is larger than the {n_unlabeled} unlabeled "
                         f"rows.")
    return int(n)


def _check_int(value, name, low):
    return int(check_number(value, name, integer=True, low=low))


def _argmax(values, keys):
    """Position of the largest value; equal values: the smallest key."""
    best = np.flatnonzero(values == values.max())
    return int(best[np.argmin(keys[best])]) if best.size > 1 else int(best[0])


def l2_normalize(features):
    """Rows scaled to unit Euclidean norm (zero rows are left at zero).

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)

    Returns
    -------
    normalized : ndarray of shape (n_samples, n_features), dtype float64
    """
    X = _check_features(features)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def kmeans_labels(features, n_clusters, random_state=None):
    """Cluster labels from seeded k-means.

    Lloyd's k-means (k-means++ initialisation, one run) while
    ``n_samples * n_clusters <= MINIBATCH_ABOVE``; above,
    :class:`~sklearn.cluster.MiniBatchKMeans` with batches of 5000 (the
    authors' batch size) and three initialisations.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
    n_clusters : int
        At most the number of distinct rows.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int64
        In ``0..n_clusters-1``.
    """
    X = _check_features(features)
    n_clusters = _check_int(n_clusters, "n_clusters", 1)
    if n_clusters > X.shape[0]:
        raise ValueError(f"n_clusters={n_clusters} is larger than the "
                         f"{X.shape[0]} samples.")
    seed = check_random_state(random_state).randint(2**31 - 1)
    if X.shape[0] * n_clusters <= MINIBATCH_ABOVE:
        km = KMeans(n_clusters, n_init=1, random_state=seed)
    else:
        km = MiniBatchKMeans(n_clusters, batch_size=5000, n_init=3,
                             random_state=seed)
    return km.fit_predict(X).astype(np.int64)


def typicality(features, k=20):
    """Typicality of each row: ``1 / mean distance to its k nearest neighbours``.

    Neighbours are the other rows of ``features`` (Euclidean distance);
    with fewer than ``k + 1`` rows, ``k`` becomes ``n_samples - 1``.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
    k : int, default=20

    Returns
    -------
    typicality : ndarray of shape (n_samples,)
        Larger in denser regions; ``inf`` for a row with ``k`` exact
        duplicates, ``0`` for a lone row (nothing to be typical of).

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.strategies.coverage import typicality
    >>> typicality(np.array([[0.0], [1.0], [2.0], [10.0]]), k=2).argmax()
    np.int64(1)
    """
    X = _check_features(features)
    k = _check_int(k, "k", 1)
    if X.shape[0] == 1:
        return np.zeros(1)
    k = min(k, X.shape[0] - 1)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    # Column 0 is the row itself (distance 0) or, among duplicates, a
    # twin at distance 0: the sum over k + 1 columns divided by k is the
    # mean over the k nearest others either way.
    with np.errstate(divide="ignore"):
        return 1.0 / (dist.sum(axis=1) / k)


def typiclust(features, labeled, n, k=20, min_cluster_size=6,
              max_clusters=500, clusters=None, random_state=None):
    """TypiClust: the most typical sample of the largest uncovered clusters.

    The rows (labeled and unlabeled together) are clustered into
    ``min(n_labeled + n, max_clusters)`` clusters with
    :func:`kmeans_labels` (unless ``clusters`` is given). Clusters with
    fewer than ``min_cluster_size`` rows are set aside. The others are
    visited in this order: those with no labeled row, largest first; then
    those with labeled rows, fewest labeled first, then largest first
    (equal sizes in a seeded order). Each visit takes the most typical
    (:func:`typicality`) unlabeled row not yet picked of the cluster,
    typicality being measured among those rows. When more picks are needed
    than there are uncovered clusters, the order is cycled (the covered
    clusters' turn comes after all uncovered ones, and a cluster visited
    again gives its most typical remaining row), as in the authors' code;
    when every large enough cluster is used up, the set-aside clusters
    follow in the same order.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        The embedding of every row.
    labeled : array-like of int or bool mask of shape (n_samples,)
        Which rows are labeled (may be empty).
    n : int
        Number of rows to pick, at most the number of unlabeled rows.
    k : int, default=20
        Neighbours of the typicality (the paper's 20).
    min_cluster_size : int, default=6
        Smaller clusters (labeled rows included) are visited only after
        all others are used up. The authors' code keeps clusters of more
        than 5 rows. If no cluster is large enough, all count as large.
    max_clusters : int, default=500
        Cap on the number of clusters (the authors' 500).
    clusters : array-like of int of shape (n_samples,) or None, default=None
        Cluster labels to use instead of k-means (e.g. from SCAN).
    random_state : int, RandomState instance or None, default=None
        Seeds k-means and breaks ties.

    Returns
    -------
    indices : ndarray of shape (n,), dtype int64
        Unlabeled rows, in the order picked.
    typicality : ndarray of shape (n_samples,)
        Each unlabeled row's typicality among the unlabeled rows of its
        cluster, before any pick; NaN for labeled rows.

    References
    ----------
    G. Hacohen, A. Dekel and D. Weinshall, "Active Learning on a Budget:
    Opposite Strategies Suit High and Low Budgets", ICML 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.strategies.coverage import typiclust
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(30, 2), rng.randn(10, 2) + 20, [[0, 0]]])
    >>> typiclust(X, [], 2, random_state=0)[0].tolist()  # 40: the centre
    [40, 30]
    """
    X = _check_features(features)
    n_samples = X.shape[0]
    mask = _check_labeled(labeled, n_samples)
    n = _check_n(n, n_samples - int(mask.sum()))
    k = _check_int(k, "k", 1)
    min_cluster_size = _check_int(min_cluster_size, "min_cluster_size", 1)
    max_clusters = _check_int(max_clusters, "max_clusters", 1)
    rng = check_random_state(random_state)
    if clusters is None:
        n_distinct = np.unique(X, axis=0).shape[0]
        n_clusters = min(int(mask.sum()) + n, max_clusters, n_distinct)
        clusters = kmeans_labels(X, n_clusters, rng)
    else:
        clusters = np.asarray(clusters)
        if clusters.shape != (n_samples,) or clusters.dtype.kind not in "iu":
            raise ValueError(
                f"clusters must be integer labels of shape ({n_samples},); "
                f"got dtype {clusters.dtype} and shape {clusters.shape}.")
    ids, member_of, sizes = np.unique(clusters, return_inverse=True,
                                      return_counts=True)
    n_labeled = np.bincount(member_of[mask], minlength=ids.size)
    sample_keys = rng.permutation(n_samples)
    cluster_keys = rng.permutation(ids.size)
    order = np.lexsort((cluster_keys, -sizes, n_labeled))
    large = sizes[order] >= min_cluster_size
    if not large.any():
        large[:] = True
    available = ~mask
    scores = np.full(n_samples, np.nan)
    for c in range(ids.size):
        rows = np.flatnonzero((member_of == c) & available)
        if rows.size:
            scores[rows] = typicality(X[rows], k)
    picked = []
    for phase in (order[large], order[~large]):
        queue = list(phase)
        while queue and len(picked) < n:
            c = queue.pop(0)
            rows = np.flatnonzero((member_of == c) & available)
            if not rows.size:
                continue
            typ = typicality(X[rows], k)
            i = rows[_argmax(typ, sample_keys[rows])]
            picked.append(int(i))
            available[i] = False
            if rows.size > 1:
                queue.append(c)
    return np.asarray(picked, dtype=np.int64), scores


def coverage_graph(features, delta):
    """Which rows lie within ``delta`` of each row, as a sparse matrix.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
    delta : float
        Ball radius; a ball holds the rows at distance ``<= delta``,
        its centre included.

    Returns
    -------
    graph : scipy.sparse.csr_matrix of shape (n_samples, n_samples), bool
        Symmetric; memory grows with the number of pairs within
        ``delta``, never with ``n_samples ** 2`` unless every ball holds
        the whole pool.
    """
    X = _check_features(features)
    delta = _check_delta(delta)
    graph = NearestNeighbors(radius=delta).fit(X).radius_neighbors_graph(
        X, mode="connectivity")
    return graph.astype(bool).tocsr()


def _check_delta(delta):
    return float(check_number(delta, "delta", low=0, finite=True))


def covered_fraction(features, centers, delta):
    """Fraction of rows within ``delta`` of at least one of ``centers``.

    ProbCover's objective: after a query, ``centers`` are the labeled rows
    and the picks. A low value says the radius is too small for the
    budget (every label covers little beyond itself).

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
    centers : array-like of int
        Row indices (may be empty: 0.0).
    delta : float

    Returns
    -------
    fraction : float
        In [0, 1]; a ball holds the rows at distance ``<= delta``.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.strategies.coverage import covered_fraction
    >>> X = np.array([[0.0], [0.5], [1.0], [5.0]])
    >>> covered_fraction(X, [0], delta=0.6)
    0.5
    """
    X = _check_features(features)
    delta = _check_delta(delta)
    centers = np.asarray(centers, dtype=np.int64).reshape(-1)
    if centers.size and (centers.min() < 0 or centers.max() >= X.shape[0]):
        raise ValueError(f"centers must be row indices in [0, "
                         f"{X.shape[0]}); got {centers.min()} to "
                         f"{centers.max()}.")
    if not centers.size:
        return 0.0
    balls = NearestNeighbors(radius=delta).fit(X).radius_neighbors(
        X[centers], return_distance=False)
    covered = np.zeros(X.shape[0], dtype=bool)
    for ball in balls:
        covered[ball] = True
    return float(covered.mean())


def ball_purity(features, pseudo_labels, delta):
    """Fraction of balls of radius ``delta`` whose rows share one label.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
    pseudo_labels : array-like of shape (n_samples,)
    delta : float

    Returns
    -------
    purity : float
        In [0, 1]; a ball holds the rows at distance ``<= delta``.
    """
    graph = coverage_graph(features, delta).tocoo()
    labels = np.asarray(pseudo_labels)
    impure = np.zeros(graph.shape[0], dtype=bool)
    impure[graph.row[labels[graph.row] != labels[graph.col]]] = True
    return 1.0 - impure.mean()


def purity_delta(features, n_classes, alpha=0.95, random_state=None):
    """ProbCover's radius: the largest ``delta`` with ``alpha`` of balls pure.

    Pseudo-labels come from k-means with ``n_classes`` clusters
    (:func:`kmeans_labels`). The ball around a row is pure when no row of
    another pseudo-label lies within ``delta``, that is when ``delta`` is
    below the row's distance to the nearest row of another label; so the
    purity of every ``delta`` follows from those ``n_samples`` distances,
    found with one nearest-neighbour search per label (no grid of
    candidate radii, no ``n x n`` matrix). The returned radius lies
    halfway between the distance at which purity would drop below
    ``alpha`` and the next smaller one, so rounding cannot tip it over.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
    n_classes : int
        Number of k-means pseudo-classes (the number of classes), >= 2.
    alpha : float, default=0.95
        Required fraction of pure balls, in (0, 1).
    random_state : int, RandomState instance or None, default=None
        Seeds k-means.

    Returns
    -------
    delta : float

    Notes
    -----
    Yehuda et al. choose ``delta`` this way; MaxHerding (Bae et al.,
    2024) shows that it can pick a poor radius, so
    :class:`~aalu_sk.strategies.lowbudget.ProbCoverSampler` also takes
    ``delta`` directly.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.strategies.coverage import purity_delta
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    >>> purity_delta(X, n_classes=2, alpha=0.5, random_state=0)
    8.5
    """
    X = _check_features(features)
    n_classes = _check_int(n_classes, "n_classes", 2)
    check_number(alpha, "alpha", low=0, high=1, include_boundaries="neither")
    n_distinct = np.unique(X, axis=0).shape[0]
    if n_classes > n_distinct:
        raise ValueError(f"n_classes={n_classes} is larger than the "
                         f"{n_distinct} distinct samples.")
    labels = kmeans_labels(X, n_classes, random_state)
    other = np.empty(X.shape[0])
    for c in np.unique(labels):
        inside = labels == c
        nn = NearestNeighbors(n_neighbors=1).fit(X[~inside])
        other[inside] = nn.kneighbors(X[inside])[0][:, 0]
    # Purity(delta) = mean(other > delta) >= alpha allows at most m
    # distances <= delta: any delta below the (m+1)-th smallest works.
    m = int(np.floor(X.shape[0] * (1.0 - alpha) + 1e-9))
    s = np.sort(other)
    below = s[s < s[m]]
    lower = below[-1] if below.size else 0.0
    return float((lower + s[m]) / 2.0)


def probcover(features, labeled, n, delta, random_state=None,
              return_coverage=False):
    """ProbCover: greedy coverage with balls of radius ``delta``.

    Rows within ``delta`` of a labeled row start covered. Each pick is the
    unlabeled row whose ball covers the most rows not yet covered (equal
    counts in a seeded order); the rows it covers then stop counting for
    every ball. Once everything is covered, every count is 0 and the
    remaining picks are a seeded random sample of the unlabeled rows not
    yet picked (the greedy rule has nothing left to prefer).

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        The embedding of every row (the paper L2-normalises it).
    labeled : array-like of int or bool mask of shape (n_samples,)
        Which rows are labeled (may be empty).
    n : int
        Number of rows to pick, at most the number of unlabeled rows.
    delta : float
        Ball radius (e.g. from :func:`purity_delta`); a ball holds the rows
        at distance ``<= delta`` (the authors' code: ``< delta``).
    random_state : int, RandomState instance or None, default=None
        Breaks ties.
    return_coverage : bool, default=False
        Also return the fraction of rows the labeled rows and the picks
        cover (:func:`covered_fraction`'s value, without a second
        neighbour search).

    Returns
    -------
    indices : ndarray of shape (n,), dtype int64
        Unlabeled rows, in the order picked.
    degrees : ndarray of shape (n_samples,), dtype int64
        How many uncovered rows each row's ball held before any pick.
    coverage : float
        Only with ``return_coverage=True``.

    References
    ----------
    O. Yehuda, A. Dekel, G. Hacohen and D. Weinshall, "Active Learning
    Through a Covering Lens", NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from aalu_sk.strategies.coverage import probcover
    >>> X = np.array([[0.0], [0.5], [1.0], [5.0], [9.0], [9.5]])
    >>> probcover(X, [0], 2, delta=0.6, random_state=0)[0].tolist()
    [4, 2]
    """
    X = _check_features(features)
    mask = _check_labeled(labeled, X.shape[0])
    n = _check_n(n, X.shape[0] - int(mask.sum()))
    graph = coverage_graph(X, delta)
    keys = check_random_state(random_state).permutation(X.shape[0])
    uncovered = np.ones(X.shape[0], dtype=bool)
    uncovered[graph[np.flatnonzero(mask)].indices] = False
    degrees = (graph @ uncovered.astype(np.int64)).astype(np.int64)
    initial = degrees.copy()
    degrees[mask] = -1  # never pick a labeled row
    picked, n_random = [], 0
    for _ in range(n):
        i = _argmax(degrees, keys)
        n_random += int(degrees[i] == 0)
        picked.append(i)
        ball = graph.indices[graph.indptr[i]:graph.indptr[i + 1]]
        new = ball[uncovered[ball]]
        uncovered[new] = False
        # Each newly covered row leaves the ball of every row near it.
        degrees -= np.bincount(graph[new].indices, minlength=X.shape[0])
        degrees[picked] = -1
        degrees[mask] = -1
    if n_random:
        log.info("probcover: everything was covered after %d of %d picks; "
                 "the other %d are a seeded random sample (a smaller delta "
                 "keeps the greedy rule choosing).", n - n_random, n, n_random)
    picked = np.asarray(picked, dtype=np.int64)
    if return_coverage:
        return picked, initial, float((~uncovered).mean())
    return picked, initial
