"""aalu_sk.distributed on a real in-process Ray cluster (2 CPUs).

Every strategy must choose, over a pool held by Ray workers, the very ids
the local path chooses for the same data and seed. The pool (240 digits)
goes through the task model in batches aligned with the estimator's; the
outputs may still differ from the local ones in the last bits (another
process, other kernels), and so may a selector trained on them. Two rows
whose local scores are that close (a barely trained selector's come within
1e-6 of each other) may then trade places; any other difference fails.
"""

import os
import sys

import numpy as np
import pytest

from aalu_sk import EntropySampler, ImageClassifier, RandomSampler
from aalu_sk.distributed import query, shard_pool
from aalu_sk.distributed.pool import _assign
from aalu_sk.distributed.topk import merge_top_k, part_top_k
from aalu_sk.pools import top_batch
from aalu_sk.strategies import STRATEGIES, make_strategy
from aalu_sk.strategies.base import BaseQueryStrategy
from aalu_sk.strategies.selection import tie_break_keys, top_k

ray = pytest.importorskip("ray")

BATCH = 40  # the estimator's batch size; Ray batches hold 2 of them
SELECTOR = dict(selector_epochs=2, selector_max_steps=3,
                selector_batch_size=32, vaal_channels=(8, 16))


# -- pure parts, no Ray -------------------------------------------------------
@pytest.mark.parametrize("n_parts", [1, 2, 5])
def test_merged_part_top_k_is_top_k(n_parts):
    rng = np.random.RandomState(n_parts)
    scores = rng.randint(0, 6, size=101).astype(float)  # many ties
    for n in (1, 7, 101):
        expected = top_k(scores, n, np.random.RandomState(3))
        keys = tie_break_keys(101, np.random.RandomState(3))
        bounds = np.linspace(0, 101, n_parts + 1).astype(int)
        parts = [part_top_k(scores[lo:hi], keys[lo:hi], lo, n)
                 for lo, hi in zip(bounds[:-1], bounds[1:])]
        np.testing.assert_array_equal(merge_top_k(parts, n)[0], expected)


def test_part_top_k_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        part_top_k(np.array([0.5, np.nan]), np.arange(2), 0, 1)


def test_only_near_ties_may_trade_places():
    class Local:
        scores_ = np.array([0.5, 0.5 + 1e-7, 0.3, 0.9])

    pool = np.zeros((4, 1))
    assert_local_picks(np.array(["img0001", "img0000"]), Local, np.array([0, 1]),
                       pool)  # scores 1e-7 apart: a tie
    with pytest.raises(AssertionError, match="near tie is at most"):
        assert_local_picks(np.array(["img0002", "img0000"]), Local,
                           np.array([1, 0]), pool)


def test_shards_cover_the_pool_in_order():
    for counts, n in (([256], 2), ([64, 64, 64, 64], 3), ([5, 0, 7], 4),
                      ([1], 2)):
        ranges = _assign(counts, n)
        rows = [(b, r) for _, pieces in ranges for b, lo, hi in pieces
                for r in range(lo, hi)]
        assert rows == [(b, r) for b, c in enumerate(counts)
                        for r in range(c)]
        sizes = [sum(hi - lo for _, lo, hi in p) for _, p in ranges]
        assert max(sizes) - min(sizes) <= 1
        assert [o for o, _ in ranges] == list(np.cumsum([0] + sizes[:-1]))


def test_a_shard_rebuilds_its_greedy_state_by_replaying_the_picks(split):
    from aalu_sk.distributed.shards import PoolShard

    rng = np.random.RandomState(0)
    block = {"id": np.arange(50), "features": rng.rand(50, 4)
             .astype(np.float32), "proba": rng.dirichlet(np.ones(3), 50)}
    for kind, start in (("kcenter", (block["features"][:3], 16)),
                        ("kmeanspp", (16,))):
        shard = PoolShard([(block, 10, 50)], offset=10)
        shard.greedy_start(kind, start)
        steps = []
        for step, position in enumerate((12, 40, 33)):
            center = shard.kmeanspp_center(position) if kind == "kmeanspp" \
                else block["features"][position]
            shard.greedy_step(step, center, position)
            steps.append((center, position))
        restarted = PoolShard([(block, 10, 50)], offset=10)
        assert restarted.greedy_step(3, steps[0][0], 20) is None  # no state
        restarted.greedy_replay(kind, start, steps)
        np.testing.assert_array_equal(np.asarray(restarted._greedy["dist"]),
                                      np.asarray(shard._greedy["dist"]))
        assert shard.greedy_step(1, steps[0][0], 20) is None  # wrong step


# -- on Ray -------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(split):
    X_l, y_l, X_pool = split[0], split[1], split[2]
    net = ImageClassifier("small_cnn", num_classes=10, max_epochs=3,
                          batch_size=BATCH, random_state=0).fit(X_l, y_l)
    return X_l, y_l, X_pool, net


def _dataset(X_pool, blocks=3):
    return ray.data.from_items(
        [{"id": f"img{i:04d}", "image": X_pool[i]}
         for i in range(len(X_pool))], override_num_blocks=blocks)


def _ids(X_pool):
    return np.array([f"img{i:04d}" for i in range(len(X_pool))])


#: Local scores closer than this (relative to their scale) are a tie that
#: the last bits of another process's outputs may break the other way.
TIE_RTOL = 1e-5


def assert_local_picks(ids, local, picked, X_pool):
    """``ids`` are the local query's ``picked`` rows, but for near ties.

    Where the two differ, the rows at that place of the batch must have
    local scores (``local.scores_``) within ``TIE_RTOL`` of each other.
    """
    expected = _ids(X_pool)[picked]
    if np.array_equal(ids, expected):
        return
    assert len(ids) == len(expected), (ids, expected)
    assert local.scores_ is not None, f"{ids} != {expected} (no scores)"
    rows = np.array([int(i[3:]) for i in ids])
    differ = rows != picked
    scores = np.asarray(local.scores_, dtype=np.float64)
    gaps = np.abs(scores[rows[differ]] - scores[picked[differ]])
    tolerance = TIE_RTOL * np.abs(scores).max()
    assert (gaps <= tolerance).all(), (
        f"the distributed picks {ids} differ from the local {expected} at "
        f"places {np.flatnonzero(differ)}, where the local scores differ by "
        f"{gaps} (a near tie is at most {tolerance:.3g})")


def test_blocks_keep_the_dataset_order_even_when_done_out_of_order(
        ray_cluster):
    """A Dataset keeps the DataContext of its creation: row order must be
    switched on for the user's dataset, not only for the current context
    (the blocks below finish last-first)."""
    from aalu_sk.distributed._ray import ordered_execution

    def slow_first(batch):  # defined here: pickled by value for workers
        import time

        time.sleep(0.4 * (3 - batch["id"][0] // 4))  # block 0: slowest
        return batch

    ray = ray_cluster
    dataset = ray.data.from_items([{"id": i} for i in range(16)],
                                  override_num_blocks=4)
    with ordered_execution(ray, dataset):
        refs = dataset.map_batches(slow_first, concurrency=4, num_cpus=0,
                                   batch_size=None).to_numpy_refs()
    ids = np.concatenate([block["id"] for block in ray.get(refs)])
    np.testing.assert_array_equal(ids, np.arange(16))
    assert not dataset.context.execution_options.preserve_order  # restored


@pytest.fixture(scope="module")
def sharded(ray_cluster, data):
    X_l, y_l, X_pool, net = data
    columns = sorted({c for name in NAMES
                      for c in make_strategy(name).pool_columns()})
    with shard_pool(_dataset(X_pool), net, tuple(columns),
                    num_workers=2, batch_size=2 * BATCH) as pool:
        yield pool


def test_the_pool_is_split_over_two_shards(sharded, data):
    assert sharded.n_pool == len(data[2])
    assert list(sharded.counts) == [120, 120]
    np.testing.assert_array_equal(sharded.ids(np.arange(240)),
                                  _ids(data[2]))
    features = sharded.gather(np.array([239, 0, 130]), ["features"])
    expected = data[3].forward_pass(data[2]).features[[239, 0, 130]]
    # Equal up to the last bits: a worker process may run other kernels.
    np.testing.assert_allclose(features["features"], expected, rtol=1e-5,
                               atol=1e-6)


#: Every registered strategy, and the batch-rule variants of the ones
#: that rank by a score.
NAMES = sorted(STRATEGIES) + ["entropy+div", "margin+div", "aalu+topk",
                              "vaal+div"]


@pytest.mark.parametrize("name", NAMES)
def test_distributed_ids_equal_local_ids(sharded, data, name):
    X_l, y_l, X_pool, net = data
    local = make_strategy(name, random_state=7, **SELECTOR)
    picked = local.query(X_l, y_l, X_pool, net, 12)
    strategy = make_strategy(name, random_state=7, **SELECTOR)
    ids = query(strategy, net, X_l, y_l, sharded, 12)
    assert_local_picks(ids, local, picked, X_pool)
    assert strategy.query_time_ > 0


@pytest.mark.parametrize("name", ["coreset", "badge", "random", "typiclust",
                                  "probcover"])
def test_distributed_ids_equal_local_ids_without_labeled_samples(
        sharded, data, name):
    X_l, y_l, X_pool, net = data
    local = make_strategy(name, random_state=3)
    picked = local.query(X_l[:0], y_l[:0], X_pool, net, 30)
    ids = query(make_strategy(name, random_state=3), net, X_l[:0], y_l[:0],
                sharded, 30)
    assert_local_picks(ids, local, picked, X_pool)


def test_a_restarted_shard_actor_gives_the_same_answer(sharded, data):
    X_l, y_l, X_pool, net = data
    local = make_strategy("coreset", random_state=4)
    picked = local.query(X_l, y_l, X_pool, net, 6)
    before = ray.get(sharded.shards[1].info.remote())
    ray.kill(sharded.shards[1], no_restart=False)  # Ray restarts it
    ids = query(make_strategy("coreset", random_state=4), net, X_l, y_l,
                sharded, 6)
    assert_local_picks(ids, local, picked, X_pool)
    after = ray.get(sharded.shards[1].info.remote())
    assert after["n_rows"] == before["n_rows"] == 120


def test_selector_trained_in_a_ray_task_gives_the_same_ids(sharded, data):
    X_l, y_l, X_pool, net = data
    # AALU's own phase (few labels would make the default's a TypiClust)
    local = make_strategy("aalu", random_state=2, **SELECTOR).set_params(
        cold_start=None)
    picked = local.query(X_l, y_l, X_pool, net, 8)
    strategy = make_strategy("aalu", random_state=2, **SELECTOR).set_params(
        cold_start=None)
    ids = query(strategy, net, X_l, y_l, sharded, 8,
                selector_resources={"num_cpus": 0})
    assert_local_picks(ids, local, picked, X_pool)
    assert strategy.assistant_ is not None  # fitted attributes came back
    assert strategy.config_ == local.config_


class FarFromLabeled:
    """A user scorer: distance to a fixed point in feature space."""

    def __init__(self, center):
        self.center = center

    def __call__(self, columns):
        return np.linalg.norm(columns["features"] - self.center, axis=1)


class FarthestFromMean(BaseQueryStrategy):
    """A strategy of one's own, written against the pool protocol only:
    half the batch is the rows farthest from the labeled set's mean
    feature vector, the rest k-center greedy around the labeled set and
    those rows."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def pool_columns(self):
        return ("features",)

    def _select_from_pool(self, pool, labeled, n_instances, rng):
        features = labeled.outputs().features
        far, _ = top_batch(pool, FarFromLabeled(features.mean(axis=0)),
                           n_instances // 2, rng)
        centers = np.concatenate([features,
                                  pool.gather(far, ["features"])["features"]])
        rest, _ = pool.k_center_greedy(centers, n_instances - len(far), rng)
        return np.concatenate([far, rest]), None


def test_a_strategy_of_your_own_gives_the_local_ids_on_ray(sharded, data):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    X_l, y_l, X_pool, net = data
    local = FarthestFromMean(random_state=3)
    picked = local.query(X_l, y_l, X_pool, net, 9)
    assert len(set(picked.tolist())) == 9 and local.scores_ is None
    ids = query(FarthestFromMean(random_state=3), net, X_l, y_l, sharded, 9)
    np.testing.assert_array_equal(ids, _ids(X_pool)[picked])


def test_a_strategy_overriding_select_is_refused_on_ray(sharded, data):
    class ArraysOnly(RandomSampler):
        def _select(self, X_labeled, y_labeled, X_pool, estimator, n, rng):
            return np.arange(n), np.zeros(len(X_pool))

    X_l, y_l, X_pool, net = data
    assert ArraysOnly().query(X_l, y_l, X_pool, net, 3).tolist() == [0, 1, 2]
    with pytest.raises(TypeError, match="overrides _select.*only locally"):
        query(ArraysOnly(), net, X_l, y_l, sharded, 3)


def test_the_whole_pool_can_be_queried(sharded, data):
    X_l, y_l, X_pool, net = data
    ids = query(make_strategy("coreset", random_state=0), net, X_l, y_l,
                sharded, len(X_pool))
    assert sorted(ids) == sorted(_ids(X_pool))


def test_from_a_ray_dataset(ray_cluster, data):
    X_l, y_l, X_pool, net = data
    local = EntropySampler(diversity="kmeans", random_state=5)
    picked = local.query(X_l, y_l, X_pool, net, 10)
    ids = query(EntropySampler(diversity="kmeans", random_state=5), net,
                X_l, y_l, _dataset(X_pool), 10, num_workers=2,
                batch_size=2 * BATCH)
    assert_local_picks(ids, local, picked, X_pool)


class DiesOnce:
    """A task model whose first forward pass kills its worker process.

    The marker file makes it die once: Ray Data restarts the actor and
    retries the batch, which then goes through.
    """

    def __init__(self, net, marker):
        self.net, self.marker = net, marker
        self.input_shape_ = net.input_shape_

    def forward_pass(self, X, y=None):
        if not os.path.exists(self.marker):
            with open(self.marker, "w") as f:
                f.write(str(os.getpid()))
            os._exit(1)
        return self.net.forward_pass(X, y)


def test_a_killed_worker_is_retried_and_the_answer_is_unchanged(
        ray_cluster, data, tmp_path):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    X_l, y_l, X_pool, net = data
    marker = tmp_path / "died"
    local = EntropySampler(random_state=1)
    picked = local.query(X_l, y_l, X_pool, net, 10)
    ids = query(EntropySampler(random_state=1), DiesOnce(net, str(marker)),
                X_l, y_l, _dataset(X_pool), 10, num_workers=2,
                batch_size=2 * BATCH)
    assert marker.exists()  # a worker really died
    assert int(marker.read_text()) != os.getpid()
    assert_local_picks(ids, local, picked, X_pool)


# -- the local path's errors ---------------------------------------------------
def test_empty_pool(ray_cluster, data):
    X_l, y_l, X_pool, net = data
    with pytest.raises(ValueError, match="pool is empty"):
        query(EntropySampler(), net, X_l, y_l, _dataset(X_pool[:0], 1), 1)


def test_tiny_pool_and_too_many_instances(ray_cluster, data):
    X_l, y_l, X_pool, net = data
    tiny = _dataset(X_pool[:1], 1)
    assert query(RandomSampler(random_state=0), net, X_l, y_l, tiny,
                 1).tolist() == ["img0000"]
    with pytest.raises(ValueError, match="n_instances=2 is larger than the "
                                         "pool, which holds 1 samples"):
        query(RandomSampler(random_state=0), net, X_l, y_l, tiny, 2)


@pytest.mark.parametrize("n, error, match", [
    (0, ValueError, "n_instances must be at least 1"),
    (1.5, TypeError, "n_instances must be a positive integer")])
def test_bad_n_instances(sharded, data, n, error, match):
    X_l, y_l, _, net = data
    with pytest.raises(error, match=match):
        query(EntropySampler(), net, X_l, y_l, sharded, n)


def test_bad_pools_and_strategies(ray_cluster, sharded, data):
    X_l, y_l, X_pool, net = data
    with pytest.raises(TypeError, match="pool must be a ray.data.Dataset"):
        query(EntropySampler(), net, X_l, y_l, X_pool, 1)
    no_image = ray.data.from_items([{"id": 0, "x": 1}])
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['image'\]"):
        query(EntropySampler(), net, X_l, y_l, no_image, 1)
    with pytest.raises(TypeError, match="strategy must be one of"):
        query(object(), net, X_l, y_l, sharded, 1)
    with pytest.raises(ValueError, match="reads the task model"):
        query(EntropySampler(), None, X_l, y_l, sharded, 1)
    with pytest.raises(ValueError, match="contains NaN"):
        query(make_strategy("coreset"), net, X_l * np.nan, y_l, sharded, 1)


def test_a_sharded_pool_must_hold_what_the_strategy_reads(ray_cluster, data):
    X_l, y_l, X_pool, net = data
    with shard_pool(_dataset(X_pool[:20], 1), net, ()) as ids_only:
        with pytest.raises(ValueError, match=r"holds \['id'\]"):
            query(EntropySampler(), net, X_l, y_l, ids_only, 1)
        assert query(RandomSampler(random_state=0), None, None, None,
                     ids_only, 2).shape == (2,)
    with pytest.raises(ValueError, match="outputs="):
        shard_pool(_dataset(X_pool[:20], 1), net, ("logits",))
