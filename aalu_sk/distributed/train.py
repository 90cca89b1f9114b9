"""Training an ImageClassifier on several workers (data-parallel PyTorch).

:func:`fit_distributed` runs Ray Train's ``TorchTrainer``: every worker
builds the same network (DistributedDataParallel broadcasts rank 0's
initial weights and averages the gradients), trains on its share of the
labeled set with skorch's own loop, and rank 0 hands back the weights.
The result is the estimator you passed, fitted as by its own ``fit``: an
ordinary :class:`~aalu_sk.ImageClassifier` that every strategy accepts.

Each worker's batch is ``ceil(batch_size / num_workers)`` samples, so one
step still sees about ``batch_size`` samples and an epoch is still one
pass over the labeled set.
"""

import io
import math
import shutil
import tempfile

import numpy as np
import torch
from sklearn.base import clone

from .._runtime import seeded
from ..classifier import ImageClassifier
from ..validation import (array_fingerprint, check_images, check_labels,
                          check_positive_ints)
from ._ray import import_ray
from .shipping import dumps_for_workers, loads_on_worker

__all__ = ["fit_distributed", "worker_rows"]


def worker_rows(n_samples, rank, world_size, random_state=0):
    """The rows of the labeled set that worker ``rank`` trains on.

    A seeded permutation, padded by repeating its start to a multiple of
    ``world_size`` (as :class:`torch.utils.data.DistributedSampler`
    does), split round-robin: every worker gets the same number of rows,
    so all of them take the same number of steps per epoch, which
    DistributedDataParallel requires.

    Parameters
    ----------
    n_samples : int
    rank : int
    world_size : int
    random_state : int, default=0

    Returns
    -------
    rows : ndarray of shape (ceil(n_samples / world_size),), dtype int64
    """
    order = np.random.RandomState(random_state).permutation(n_samples)
    padded = math.ceil(n_samples / world_size) * world_size
    order = np.concatenate([order, order[:padded - n_samples]])
    return order[rank::world_size].astype(np.int64)


class _DataParallelClassifier(ImageClassifier):
    """ImageClassifier whose module is wrapped in DistributedDataParallel."""

    def initialize_module(self):
        super().initialize_module()
        from ray.train.torch import prepare_model

        self.module_ = prepare_model(self.module_)
        return self


def _train_worker(config):
    """Ray Train's per-worker loop: fit on this worker's rows, report."""
    import os

    import ray
    import ray.train
    import torch.distributed as dist
    from ray.train.torch import get_device

    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    X, y = ray.get(config["data"])
    rows = worker_rows(len(y), rank, world, config["seed"])
    params = loads_on_worker(config["params"])
    params.update(device=str(get_device()),
                  batch_size=math.ceil(params["batch_size"] / world),
                  num_classes=config["n_classes"])
    net = _DataParallelClassifier(**params)
    net.fit(X[rows], y[rows])
    losses = getattr(net, "training_losses_", None)
    gathered = [None] * world
    dist.all_gather_object(gathered, (rows, losses))
    checkpoint = None
    if rank == 0:
        module = net.module_.module  # unwrap DistributedDataParallel
        state = {k: v.cpu() for k, v in module.state_dict().items()}
        per_sample = None
        if losses is not None:
            per_sample = np.zeros(len(y), np.float32)
            for r, part in gathered:
                per_sample[r] = part
        directory = tempfile.mkdtemp()
        buffer = io.BytesIO()
        torch.save({"state": state, "losses": per_sample,
                    "history": net.history.to_list()}, buffer)
        with open(os.path.join(directory, "model.pt"), "wb") as f:
            f.write(buffer.getvalue())
        checkpoint = ray.train.Checkpoint.from_directory(directory)
    ray.train.report({"rank": rank}, checkpoint=checkpoint)


def fit_distributed(estimator, X, y, *, num_workers=2, use_gpu=False,
                    backend=None, storage_path=None):
    """Train an :class:`~aalu_sk.ImageClassifier` on several Ray workers.

    Parameters
    ----------
    estimator : ImageClassifier
        Its parameters define the training (``max_epochs``, ``lr``,
        ``batch_size`` is the total over the workers...); it is fitted in
        place, from scratch, as by ``estimator.fit(X, y)``.
    X : array-like of images
    y : array-like of shape (n_samples,)
    num_workers : int, default=2
        Training processes (one per GPU with ``use_gpu=True``).
    use_gpu : bool, default=False
    backend : {"gloo", "nccl"} or None, default=None
        torch.distributed backend; None: NCCL with GPUs, else gloo.
    storage_path : str or None, default=None
        Where Ray Train stores the run (a folder every node can reach, or
        cloud storage, on a multi-node cluster). None: a temporary folder
        on this machine, removed afterwards.

    Returns
    -------
    estimator : ImageClassifier
        Fitted: ``module_`` holds the trained weights (on the CPU, or on
        ``estimator.device`` where that is CUDA), ``history`` rank 0's
        skorch history, and with ``record_losses=True`` the
        ``training_losses_`` of every labeled sample.

    Examples
    --------
    .. code-block:: python

        import ray
        from aalu_sk import ImageClassifier
        from aalu_sk.distributed import fit_distributed

        ray.init()
        net = fit_distributed(ImageClassifier("small_cnn", num_classes=10,
                                              random_state=0),
                              X_labeled, y_labeled, num_workers=2)
    """
    if not isinstance(estimator, ImageClassifier):
        raise TypeError(f"estimator must be an ImageClassifier; got a "
                        f"{type(estimator).__name__}.")
    check_positive_ints(type("Args", (), {"num_workers": num_workers})(),
                        ("num_workers",))
    if backend not in (None, "gloo", "nccl"):
        raise ValueError(f"backend={backend!r}; use 'gloo', 'nccl' or None.")
    if backend == "nccl" and not use_gpu:
        raise ValueError("backend='nccl' needs use_gpu=True; use 'gloo' on "
                         "CPUs.")
    X = check_images(X)
    y = check_labels(y, X.shape[0], n_classes=estimator.num_classes)
    if X.shape[0] < num_workers:
        raise ValueError(f"X has {X.shape[0]} samples for num_workers="
                         f"{num_workers}; each worker needs one at least.")
    ray = import_ray()
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    n_classes = estimator.num_classes or int(y.max()) + 1
    params = {k: v for k, v in clone(estimator).get_params(deep=False).items()}
    seed = 0 if estimator.random_state is None else \
        int(np.random.RandomState(estimator.random_state).randint(2**31 - 1))
    own_storage = storage_path is None
    storage = tempfile.mkdtemp(prefix="aalu_sk_train_") if own_storage \
        else storage_path
    try:
        trainer = TorchTrainer(
            _train_worker,
            train_loop_config={"data": ray.put((X, y)),
                               "params": dumps_for_workers(params),
                               "n_classes": n_classes, "seed": seed},
            scaling_config=ScalingConfig(num_workers=num_workers,
                                         use_gpu=use_gpu),
            torch_config=TorchConfig(backend=backend or
                                     ("nccl" if use_gpu else "gloo")),
            run_config=RunConfig(storage_path=storage))
        result = trainer.fit()
        with result.checkpoint.as_directory() as directory:
            with open(f"{directory}/model.pt", "rb") as f:
                saved = torch.load(io.BytesIO(f.read()), weights_only=False)
    finally:
        if own_storage:
            shutil.rmtree(storage, ignore_errors=True)
    return _load(estimator, X, y, n_classes, saved)


def _load(estimator, X, y, n_classes, saved):
    """Make ``estimator`` the fitted classifier the workers trained."""
    from skorch.history import History

    from ..validation import image_shape

    for name in ("training_losses_", "training_fingerprint_"):
        estimator.__dict__.pop(name, None)
    estimator.input_shape_ = image_shape(X)
    estimator.n_classes_ = n_classes
    with seeded(0):  # the weights are replaced; keep torch's RNG untouched
        estimator.initialize()
    estimator.module_.load_state_dict(saved["state"])
    estimator.history = History(saved["history"])
    if estimator.record_losses and saved["losses"] is not None:
        estimator.training_losses_ = saved["losses"]
        estimator.training_fingerprint_ = array_fingerprint(X, y)
    return estimator
