"""Replayed picks: VAAL on a ``+ssl`` protocol picks what it picked without.

VAAL (``vaal``, ``vaal+div``) trains its own VAE and discriminator on the
raw images and never reads the task model, and the experiment runner seeds
each query from ``(seed, "query", cycle)`` alone
(:func:`aalu_sk._runtime.derive_seed`). A ``+ssl`` protocol changes only
the task model (a head on a self-supervised representation), so VAAL picks
there exactly what it picks on the protocol's from-scratch twin. Measured
on digits-vlow and digits-vlow+ssl, both run in full: the same 200 picks,
in the same order, on each of the 5 seeds.

On MNIST one VAAL query costs 10 to 18 minutes of one CPU core, so the
protocols in :data:`REPLAY` take their VAAL picks from the twin's
checkpointed run instead of retraining VAAL: the task model is still
trained and evaluated every cycle, every pick is checked to be a pool
image of this run, and the query seconds recorded are the twin's (what
making the picks cost). The twin's run must be complete.
"""

import json
from pathlib import Path

import numpy as np

#: Strategies whose picks read neither the task model nor a representation.
REPLAYABLE = ("vaal", "vaal+div")
#: Protocols whose REPLAYABLE runs replay their twin's picks: ``{protocol:
#: twin}``. digits-vlow+ssl is not here: it was run in full, the check.
REPLAY = {"mnist5k-vlow+ssl": "mnist5k-vlow"}
#: Configuration keys that must agree with the twin's (the rest describe
#: the task model, which VAAL does not read; the twin may have more seeds).
SAME_AS_TWIN = ("dataset", "initial", "step", "final",
                "selector_epochs", "selector_batch_size",
                "selector_max_steps", "vaal_channels", "strategies")


def _checkpoint(folder):
    path = Path(folder) / "checkpoint.json"
    if not path.is_file():
        raise RuntimeError(f"{folder} holds no run to replay; run its "
                           f"strategy on the twin protocol first.")
    return json.loads(path.read_text())


class ReplayPicks:
    """A ``query`` hook for :func:`aalu_sk.experiment.run_experiment`.

    Gives, for the query of seed ``s`` and cycle ``c``, the picks the twin
    run made at that seed and cycle, as positions in this cycle's pool.

    Parameters
    ----------
    twin_folder : path-like
        The twin's run folder (one strategy, its ``checkpoint.json``).
    config : ExperimentConfig
        This run's configuration.
    dataset : ImageDataset
    """

    def __init__(self, twin_folder, config, dataset):
        from aalu_sk._runtime import derive_seed

        state = _checkpoint(twin_folder)
        mine = config.to_dict()
        differ = [k for k in SAME_AS_TWIN if state["config"].get(k) !=
                  mine.get(k)]
        if differ:
            raise RuntimeError(f"{twin_folder} was run with other {differ} "
                               f"than this run; its picks are not this "
                               f"run's.")
        if state["dataset"]["n_train"] != len(dataset.y_train):
            raise RuntimeError(f"{twin_folder} was run on another split.")
        sizes = state["schedule"]["n_labeled"]
        self.X = dataset.X_train
        self.sizes = sizes
        self.order, self.seconds, self.key = {}, {}, {}
        for run in state["runs"].values():
            seed = int(run["seed"])
            if len(run["rows"]) != len(sizes):
                raise RuntimeError(f"{twin_folder}: seed {seed} has "
                                   f"{len(run['rows'])} of {len(sizes)} "
                                   f"cycles; finish the twin run first.")
            self.order[seed] = np.asarray(run["labeled"], dtype=np.int64)
            self.seconds[seed] = [r["query_seconds"] for r in run["rows"]]
            for cycle in range(len(sizes) - 1):
                self.key[derive_seed(seed, "query", cycle)] = (seed, cycle)
        missing = sorted(set(config.seeds) - set(self.order))
        if missing:
            raise RuntimeError(f"{twin_folder} has no run of seeds "
                               f"{missing}; run them first.")

    def __call__(self, strategy, estimator, X_labeled, y_labeled, X_pool, n):
        from aalu_sk.experiment import check_split

        seed, cycle = self.key[strategy.random_state]
        order, k = self.order[seed], len(X_labeled)
        if k != self.sizes[cycle] or k + n != self.sizes[cycle + 1] or \
                not np.array_equal(self.X[order[:k]], X_labeled):
            raise RuntimeError(f"seed {seed} cycle {cycle}: this run's "
                               f"labeled set is not the twin's.")
        picks = order[k:k + n]
        pool = check_split(order[:k], len(self.X))
        positions = np.searchsorted(pool, picks)
        if not np.array_equal(X_pool[positions], self.X[picks]):
            raise RuntimeError(f"seed {seed} cycle {cycle}: the twin's "
                               f"picks are not in this run's pool.")
        return positions

    def query_seconds(self, seed, cycle):
        """What the twin's query of that seed and cycle took."""
        return self.seconds[int(seed)][int(cycle)]
