"""Pure selection functions: arrays in, indices out.

No models here, so each function is easy to test on hand-made arrays.
Ties are broken by the seeded generator passed in, never by position.
"""

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

__all__ = ["top_k", "tie_break_keys", "entropy", "margin", "diverse_top_k",
           "diversity_candidates", "pick_diverse", "nearest_distances",
           "k_center_greedy", "update_min_sq_distances",
           "gradient_embedding_norms", "gradient_embedding_parts",
           "lower_embedding_distances", "kmeans_pp_gradient_embeddings",
           "DIVERSITY"]

#: Batch-selection rules a score-based strategy can use: ``None`` is plain
#: top-k; ``"kmeans"`` is :func:`diverse_top_k`.
DIVERSITY = (None, "kmeans")


def top_k(scores, n, random_state=None):
    """Indices of the ``n`` largest scores, largest first.

    Equal scores are ordered by a random permutation drawn from
    ``random_state``, so ties do not favour the start of the pool.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
    n : int
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    indices : ndarray of shape (n,), dtype int64
    """
    scores = np.asarray(scores, dtype=np.float64)
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN; cannot rank them.")
    tiebreak = tie_break_keys(scores.shape[0], random_state)
    # lexsort sorts by the last key first: score descending, then tiebreak.
    order = np.lexsort((tiebreak, -scores))
    return order[:n].astype(np.int64)


def tie_break_keys(n_samples, random_state=None):
    """The keys :func:`top_k` orders equal scores by, one per position.

    A seeded permutation of ``range(n_samples)``: among equal scores the
    smaller key comes first. A pool split over several machines ranks
    exactly as :func:`top_k` does when each part orders its rows by
    ``(-score, key)`` with the keys of its rows' global positions, and
    the parts' best rows are merged the same way
    (:mod:`aalu_sk.distributed`).

    Parameters
    ----------
    n_samples : int
    random_state : int, RandomState instance or None, default=None
        Advanced as :func:`top_k` advances it.

    Returns
    -------
    keys : ndarray of shape (n_samples,), dtype int64
    """
    return check_random_state(random_state).permutation(n_samples)


def entropy(proba):
    """Predictive entropy ``-sum_k p_k log p_k`` of each row, in nats.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)

    Returns
    -------
    entropy : ndarray of shape (n_samples,)
    """
    proba = np.asarray(proba, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.where(proba > 0, np.log(proba), 0.0)
    return -np.sum(proba * logp, axis=1)


def margin(proba):
    """Margin uncertainty ``1 - (p_(1) - p_(2))`` of each row.

    ``p_(1)`` and ``p_(2)`` are the two largest probabilities, so the score
    is 1 where the model cannot tell its two best classes apart and 0
    where it is certain; larger means more worth labeling.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)

    Returns
    -------
    margin : ndarray of shape (n_samples,)
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape[1] < 2:
        return np.ones(proba.shape[0])
    top2 = -np.partition(-proba, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def diverse_top_k(scores, features, n, candidates=4, random_state=None):
    """A batch that is both high-scoring and spread out in feature space.

    Takes the ``candidates * n`` best-scoring samples, groups their
    features into ``n`` clusters with k-means weighted by score, and keeps
    the best-scoring sample of each cluster. A plain top-k batch piles up
    near-duplicates and samples of the two or three classes the model
    confuses most; one pick per cluster spreads the batch while every pick
    is still among the highest scores. The weights keep the score's
    signal: k-means places its centres where the score mass is, so a
    region holding most of the top scores gets most of the batch, while
    near-duplicates (which a second centre would not separate) still get
    one pick (see :func:`pick_diverse`).

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Larger means more worth labeling.
    features : array-like of shape (n_samples, n_features)
        Where distances are measured (e.g. the task model's penultimate
        features). Standardised per dimension over the candidates.
    n : int
        Batch size.
    candidates : float, default=4
        How many times ``n`` top-scoring samples are clustered (at least
        ``n``, at most the pool). ``candidates=1`` is plain top-k.
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means initialisation and breaks score ties.

    Returns
    -------
    indices : ndarray of shape (n,), dtype int64
        Sorted by score, largest first.
    """
    scores = np.asarray(scores, dtype=np.float64)
    rng = check_random_state(random_state)
    m = diversity_candidates(n, scores.shape[0], candidates)
    top = top_k(scores, m, rng)
    if m == n:
        return top
    return pick_diverse(top, np.asarray(features)[top], n, rng,
                        candidate_scores=scores[top])


def diversity_candidates(n, n_samples, candidates=4):
    """How many top-scoring samples :func:`diverse_top_k` clusters.

    Parameters
    ----------
    n : int
        Batch size.
    n_samples : int
        Pool size.
    candidates : float, default=4

    Returns
    -------
    m : int
        ``ceil(candidates * n)``, at least ``n``, at most ``n_samples``.
    """
    return int(min(n_samples, max(n, np.ceil(candidates * n))))


def pick_diverse(top, candidate_features, n, random_state=None,
                 candidate_scores=None):
    """The batch of :func:`diverse_top_k` from its ranked candidates.

    The second half of :func:`diverse_top_k`, for callers that found the
    best candidates themselves (a pool spread over several machines):
    k-means on the candidates' features, each candidate weighted by its
    score, then the best of each cluster.

    The weight of a candidate is its score rescaled to [0, 1] over the
    candidates (the best 1, the last 0). Weighted k-means puts its centres
    where the weight is, so the batch goes where the scores point: on a
    pool whose top scores sit in one unlabeled region, most of the batch
    goes there, where unweighted k-means over the ``4n`` candidates gave
    every candidate region an equal share. Near-duplicates still get one
    pick: a second centre among them would not lower the weighted
    distortion.

    Parameters
    ----------
    top : array-like of shape (m,)
        Pool positions of the ``m`` best scores, best first
        (``top_k(scores, m, rng)``).
    candidate_features : array-like of shape (m, n_features)
        Their features, in the same order.
    n : int
        Batch size, at most ``m``.
    random_state : int, RandomState instance or None, default=None
        Seeds k-means; pass the generator that ranked ``top``.
    candidate_scores : array-like of shape (m,) or None, default=None
        The candidates' scores, in the same order (larger: query). None
        weights every candidate equally (unweighted k-means, the rule
        before score weighting).

    Returns
    -------
    indices : ndarray of shape (n,), dtype int64
        Sorted by score, largest first.
    """
    top = np.asarray(top, dtype=np.int64)
    m = top.shape[0]
    if m == n:
        return top
    rng = check_random_state(random_state)
    feats = np.asarray(candidate_features, dtype=np.float64).reshape(m, -1)
    std = feats.std(axis=0)
    feats = (feats - feats.mean(axis=0)) / np.where(std > 1e-12, std, 1.0)
    n_distinct = np.unique(feats, axis=0).shape[0]
    k = min(n, n_distinct)
    weight = None
    if candidate_scores is not None:
        weight = np.asarray(candidate_scores, dtype=np.float64).reshape(m)
        span = weight.max() - weight.min()
        # Equal scores: no preference, every candidate weighs the same.
        weight = (weight - weight.min()) / span if span > 0 else None
    labels = _kmeans(feats, k, rng, sample_weight=weight)
    # ``top`` is sorted by score, so the first member of each cluster in
    # that order is the cluster's best.
    _, first = np.unique(labels, return_index=True)
    chosen = np.zeros(m, dtype=bool)
    chosen[first] = True
    # Fewer distinct points than n: fill up with the next best scores.
    chosen[np.flatnonzero(~chosen)[:n - chosen.sum()]] = True
    return top[np.flatnonzero(chosen)].astype(np.int64)


#: From this many clusters on, :func:`_kmeans` uses faiss when installed.
FAST_KMEANS_MIN_K = 256


def _kmeans(X, k, random_state, method="auto", sample_weight=None):
    """Cluster labels of ``X`` into ``k`` groups (one seed drawn from the RNG).

    ``"exact"``: scikit-learn's :class:`~sklearn.cluster.KMeans` (greedy
    k-means++ seeding, Lloyd until convergence), whose seeding alone
    costs ``O(m k d log k)`` and dominates a large batch.
    ``"faiss"``: plain k-means++ seeding (one trial per center, ``O(m k
    d)``) and 10 Lloyd iterations of ``faiss.Kmeans`` in float32 (the
    ``fast`` extra), several times faster from a few hundred clusters on. ``"auto"``: faiss from :data:`FAST_KMEANS_MIN_K` clusters
    on when it is installed, else exact.

    Parameters
    ----------
    X : ndarray of shape (m, n_features)
    k : int
        At most the number of distinct rows.
    random_state : RandomState instance
        Advanced by one draw, whichever method runs.
    method : {"auto", "exact", "faiss"}, default="auto"
    sample_weight : ndarray of shape (m,) or None, default=None
        Weights of the rows in the distortion (and in the seeding's
        ``D^2`` sampling); None weighs every row the same.

    Returns
    -------
    labels : ndarray of shape (m,)
    """
    seed = random_state.randint(2**31 - 1)
    if method == "auto":
        method = "exact"
        if k >= FAST_KMEANS_MIN_K:
            try:
                import faiss  # noqa: F401  (optional: the "fast" extra)
                method = "faiss"
            except ImportError:
                pass
    if method == "exact":
        return KMeans(k, n_init=1, random_state=seed).fit(
            X, sample_weight=sample_weight).labels_
    import faiss

    X32 = np.ascontiguousarray(X, dtype=np.float32)
    w32 = None if sample_weight is None else \
        np.ascontiguousarray(sample_weight, dtype=np.float32)
    km = faiss.Kmeans(X32.shape[1], k, niter=10, seed=int(seed),
                      min_points_per_centroid=1,
                      max_points_per_centroid=X32.shape[0])
    # Plain k-means++ seeds: random ones would leave well-separated groups
    # without a center.
    km.train(X32, weights=w32, init_centroids=_kmeans_pp_seeds(
        X32, k, np.random.RandomState(seed), w32))
    return km.index.search(X32, 1)[1].ravel()


def _kmeans_pp_seeds(X, k, rng, weight=None):
    """``k`` rows of ``X`` by plain k-means++ (``w D^2`` sampling, one trial
    each; ``weight`` None weighs every row the same)."""
    sq = np.einsum("ij,ij->i", X, X)
    picked = [rng.randint(X.shape[0])]
    dist = np.maximum(sq - 2 * X @ X[picked[0]] + sq[picked[0]], 0)
    for _ in range(k - 1):
        cum = np.cumsum(dist if weight is None else dist * weight)
        i = X.shape[0] - 1 if cum[-1] <= 0 else min(X.shape[0] - 1, int(
            np.searchsorted(cum, rng.uniform(0, cum[-1]), side="right")))
        picked.append(i)
        np.minimum(dist, np.maximum(sq - 2 * X @ X[i] + sq[i], 0), out=dist)
    return np.ascontiguousarray(X[picked])


def nearest_distances(points, centers, batch_size=4096):
    """Euclidean distance from each point to its nearest center, batched.

    Parameters
    ----------
    points : Tensor of shape (n_points, n_features)
    centers : Tensor of shape (n_centers, n_features)
    batch_size : int, default=4096
        Rows of ``points`` and of ``centers`` per block, so memory stays at
        one ``batch_size x batch_size`` block of distances.

    Returns
    -------
    distances : Tensor of shape (n_points,)
        ``inf`` everywhere when there are no centers.
    """
    out = torch.full((points.shape[0],), float("inf"), dtype=points.dtype,
                     device=points.device)
    for start in range(0, points.shape[0], batch_size):
        block = points[start:start + batch_size]
        for c0 in range(0, centers.shape[0], batch_size):
            d = torch.cdist(block, centers[c0:c0 + batch_size]).min(dim=1).values
            out[start:start + batch_size] = torch.minimum(
                out[start:start + batch_size], d)
    return out


def k_center_greedy(pool_features, labeled_features, n, random_state=None,
                    batch_size=4096):
    """Core-set selection by k-center greedy (Sener & Savarese, 2018).

    Repeatedly picks the pool sample farthest from every center so far; the
    labeled samples are the initial centers (with none, the first pick is
    random). Memory is ``O(n_pool)`` plus one ``batch_size`` block of
    distances: no ``n x n`` matrix is built.

    Parameters
    ----------
    pool_features : Tensor or ndarray of shape (n_pool, n_features)
    labeled_features : Tensor or ndarray of shape (n_labeled, n_features)
    n : int
        Number of samples to pick.
    random_state : int, RandomState instance or None, default=None
        Breaks ties between equally far samples.
    batch_size : int, default=4096

    Returns
    -------
    indices : ndarray of shape (n,), dtype int64
        In the order they were picked.
    initial_distances : ndarray of shape (n_pool,)
        Distance of each pool sample to its nearest labeled sample before
        any pick (``inf`` without labeled samples).
    """
    pool = torch.as_tensor(pool_features)
    labeled = torch.as_tensor(labeled_features, device=pool.device,
                              dtype=pool.dtype)
    rng = check_random_state(random_state)
    initial = nearest_distances(pool, labeled, batch_size)
    dist = initial.pow(2)
    picked = []
    for _ in range(n):
        ties = torch.nonzero(dist == dist.max()).flatten()
        i = int(ties[rng.randint(ties.shape[0])]) if ties.shape[0] > 1 \
            else int(ties[0])
        picked.append(i)
        update_min_sq_distances(dist, pool, pool[i], batch_size)
        dist[i] = -1.0  # never pick the same sample twice
    return np.asarray(picked, dtype=np.int64), initial.cpu().numpy()


def update_min_sq_distances(dist, points, center, batch_size=4096):
    """Lower ``dist`` in place to each point's squared distance to ``center``.

    The step of :func:`k_center_greedy` after each pick, in blocks of
    ``batch_size`` rows; each row's value does not depend on the
    blocking, so a pool split over machines gets the same numbers.

    Parameters
    ----------
    dist : Tensor of shape (n_points,)
        Squared distances to the nearest center so far; updated in place.
    points : Tensor of shape (n_points, n_features)
    center : Tensor of shape (n_features,)
    batch_size : int, default=4096
    """
    for start in range(0, points.shape[0], batch_size):
        block = dist[start:start + batch_size]  # a view: updated in place
        torch.minimum(block, (points[start:start + batch_size] - center)
                      .pow(2).sum(dim=1), out=block)


def gradient_embedding_norms(proba, features):
    """Norms of BADGE's gradient embeddings, without building them.

    The gradient of the cross-entropy at the predicted label with respect
    to the last linear layer is ``g = (p - e_{argmax p}) h^T``; its
    Frobenius norm is ``||p - e_{argmax p}|| * ||h||``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
    features : array-like of shape (n_samples, n_features)
        The last layer's input ``h``.

    Returns
    -------
    norms : ndarray of shape (n_samples,)
    """
    a = _prediction_residual(np.asarray(proba, dtype=np.float64))
    h = np.asarray(features, dtype=np.float64)
    return np.linalg.norm(a, axis=1) * np.linalg.norm(h, axis=1)


def _prediction_residual(proba):
    a = proba.copy()
    a[np.arange(a.shape[0]), a.argmax(axis=1)] -= 1.0
    return a


def gradient_embedding_parts(proba, features):
    """``a``, ``h`` and the squared norms of BADGE's embeddings, in float64."""
    a = _prediction_residual(np.asarray(proba, dtype=np.float64))
    h = np.asarray(features, dtype=np.float64).reshape(a.shape[0], -1)
    return a, h, np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", h, h)


def lower_embedding_distances(dist, a, h, sq, center, batch_size):
    """Lower ``dist`` to the squared embedding distance to ``center``.

    ``center`` is ``(a_c, h_c, sq_c)``; blocks of ``batch_size`` rows.
    """
    a_c, h_c, sq_c = center
    for s in range(0, a.shape[0], batch_size):
        block = slice(s, s + batch_size)
        d = sq[block] + sq_c - 2.0 * (a[block] @ a_c) * (h[block] @ h_c)
        np.minimum(dist[block], np.maximum(d, 0.0), out=dist[block])


def kmeans_pp_gradient_embeddings(proba, features, n, random_state=None,
                                  batch_size=65536, first=None):
    """BADGE: k-means++ seeding on gradient embeddings (Ash et al., 2020).

    The embedding of sample ``i`` is ``g_i = a_i h_i^T`` with
    ``a_i = p_i - e_{argmax p_i}``; it is never built. Squared distances
    use ``||g_i - g_j||^2 = ||a_i||^2 ||h_i||^2 + ||a_j||^2 ||h_j||^2
    - 2 (a_i . a_j)(h_i . h_j)``, so memory stays ``O(n_samples)`` and each
    pick costs one pass over ``proba`` and ``features``. The first pick is
    the largest norm; each further pick is drawn with probability
    proportional to the squared distance to the nearest pick so far.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
    features : array-like of shape (n_samples, n_features)
    n : int
    random_state : int, RandomState instance or None, default=None
    batch_size : int, default=65536
        Rows per block of distance computations.
    first : int or None, default=None
        The first pick, if the caller chose it already (as
        ``top_k(norms, 1, random_state)[0]``, which None draws here).

    Returns
    -------
    indices : ndarray of shape (n,), dtype int64
        In the order they were picked.
    norms : ndarray of shape (n_samples,)
        Gradient-embedding norms (BADGE's uncertainty).

    References
    ----------
    J. T. Ash, C. Zhang, A. Krishnamurthy, J. Langford and A. Agarwal,
    "Deep Batch Active Learning by Diverse, Uncertain Gradient Lower
    Bounds", ICLR 2020.
    """
    rng = check_random_state(random_state)
    a, h, sq = gradient_embedding_parts(proba, features)
    norms = np.sqrt(sq)
    if first is None:
        first = top_k(norms, 1, rng)[0]
    picked = [int(first)]
    dist = np.full(a.shape[0], np.inf)
    for _ in range(n - 1):
        c = picked[-1]
        lower_embedding_distances(dist, a, h, sq, (a[c], h[c], sq[c]),
                                   batch_size)
        dist[picked] = 0.0
        # The total is the running sum's last value (not dist.sum(), whose
        # pairwise rounding may exceed it): the draw then always lands on
        # a sample with a positive distance, and a pool split over
        # machines reproduces the running sum exactly.
        cum = np.cumsum(dist)
        total = cum[-1]
        if total <= 0:  # every sample coincides with a pick: take any other
            rest = np.setdiff1d(np.arange(a.shape[0]), picked)
            picked.append(int(rest[rng.randint(rest.size)]))
            continue
        i = int(np.searchsorted(cum, rng.uniform(0.0, total), side="right"))
        picked.append(min(i, a.shape[0] - 1))
    return np.asarray(picked, dtype=np.int64), norms
