"""Active learning on pools beyond one machine, with Ray.

- :func:`query`: one query of any strategy (written against the pool
  protocol, :mod:`aalu_sk.pools`) over a pool
  given as a ``ray.data.Dataset`` (columns ``id`` and ``image``); returns
  the chosen ids, the same as the local path for the same data and seed;
- :func:`shard_pool`: the task model's pass over such a pool, kept by shard
  actors (a :class:`ShardedPool`) so that several queries share it;
- :func:`fit_distributed`: train an :class:`~aalu_sk.ImageClassifier` on
  several workers (data-parallel PyTorch through Ray Train); the result is
  an ordinary fitted classifier.

Ray is optional (``pip install "aalu_sk[ray]"``) and imported only when
one of these runs.
"""

from .pool import ShardedPool, TaskModelPass, pool_dataset, shard_pool
from .query import query, ray_query
from .train import fit_distributed, worker_rows

__all__ = ["query", "shard_pool", "ShardedPool", "TaskModelPass",
           "pool_dataset", "ray_query", "fit_distributed", "worker_rows"]
