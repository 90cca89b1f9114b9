"""``aalu-sk query``: the next images to label, from files, here or on Ray.

The labeled set is a folder with one sub-folder per class (or a CSV /
Parquet file with ``path`` and ``label`` columns); the pool is a folder of
images (searched recursively; ids are the paths relative to it) or a CSV /
Parquet file with a ``path`` column (and an optional ``id`` column). The
task model is trained on the labeled set (or loaded with ``--estimator``;
with ``--representation``, a linear head on a label-free embedding fitted
on the labeled and pool images), the strategy picks ``--n`` pool images,
and their ids go to ``--out``, one per line. With ``--ray-address`` the
pool is read and scored on a Ray cluster
(:func:`aalu_sk.distributed.query`); the ids are the same.

The embedding of ``--representation`` is the labeling app's
(:class:`~aalu_sk.labeling.embedding.FolderEmbedding`, the head
:func:`~aalu_sk.labeling.cycle.head_classifier`): it depends on the set of
labeled and pool images only, and it is cached in a file
(``--representation-cache``, by default beside ``--out``), so the next
round, where images have only moved from the pool to the labeled set,
loads it instead of fitting again (SimCLR takes minutes on a CPU).
"""

import csv
import logging
import pickle
import re
import sys
from pathlib import Path

import numpy as np

from . import _options
from ._options import fail, representation_with_weights, start_ray

__all__ = ["add_query_parser", "run_query", "read_table", "list_pool"]

log = logging.getLogger("aalu_sk.cli")


def add_query_parser(commands, strategy_type=None, device_type=None,
                     positive_int=None):
    """Add the ``query`` subcommand to ``aalu-sk``'s subparsers.

    The ``type=`` of ``--strategy``, ``--device`` and the counts are those
    of the other subcommands unless given.
    """
    from ..modules import TASK_MODULES

    strategy_type = strategy_type or _options.strategy_name
    device_type = device_type or _options.device
    positive_int = positive_int or _options.positive_int

    p = commands.add_parser(
        "query", help="pick the next images to label (here or on Ray)",
        description="Train the task model on a labeled set, let a strategy "
                    "pick --n images of a pool, write their ids to --out.")
    p.add_argument("--labeled", required=True, metavar="PATH",
                   help="folder with one sub-folder per class, or a CSV / "
                        "Parquet file with columns path,label")
    p.add_argument("--pool", required=True, metavar="PATH",
                   help="folder of images (recursive), or a CSV / Parquet "
                        "file with a path column (and optionally id)")
    p.add_argument("--n", type=positive_int, required=True,
                   help="how many images to pick")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="file receiving the chosen ids, one per line")
    p.add_argument("--strategy", type=strategy_type, default="aalu",
                   help="a strategy name of aalu-sk run (default: aalu)")
    p.add_argument("--seed", type=int, default=0,
                   help="random_state of model and strategy (default: 0)")
    p.add_argument("--image-size", type=positive_int, default=32,
                   help="images are resized to this square (default: 32)")
    p.add_argument("--grayscale", action="store_true",
                   help="read images as one channel")
    p.add_argument("--model", choices=sorted(TASK_MODULES),
                   default="small_cnn",
                   help="task model trained on the labeled set (default: "
                        "%(default)s)")
    p.add_argument("--representation", type=_options.representation_name,
                   default="none", metavar="NAME",
                   help="none: train --model from scratch on the labeled "
                        "images; pixels (PCA of the pixels, seconds), ssl "
                        "(SimCLR, the ssl extra; minutes on a CPU) or "
                        "pretrained:SOURCE:MODEL (local weights, see "
                        "--representation-weights): fit without labels on "
                        "the labeled and pool images (once: see "
                        "--representation-cache), and train a linear head "
                        "on it, the better model when labels are few. Not "
                        "with --ray-address (default: %(default)s)")
    p.add_argument("--representation-weights", default=None, metavar="FILE",
                   help="state-dict file (.pth, .pt, .safetensors) for "
                        "--representation pretrained:SOURCE:MODEL")
    p.add_argument("--representation-cache", default=None, metavar="FILE",
                   help="file keeping the fitted --representation; a later "
                        "call on the same labeled and pool images (in any "
                        "split) loads it instead of fitting again (default: "
                        "aalu-sk-query.embedding-NAME.npz beside --out)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="task-model epochs (default: 20; 100 for the head "
                        "on a --representation)")
    p.add_argument("--estimator", metavar="PICKLE",
                   help="a fitted task model (pickled) instead of training")
    p.add_argument("--device", type=device_type, default="auto",
                   help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--ray-address", metavar="ADDRESS",
                   help="score the pool on this Ray cluster ('auto', "
                        "'ray://host:10001', or 'local' to start one here)")
    p.add_argument("--num-workers", type=positive_int,
                   help="Ray workers of the pool pass (default: one per CPU)")
    _options.add_output_options(p)
    p.set_defaults(func=run_query)
    return p


def read_table(path):
    """Rows of a CSV or Parquet file as a dict of column -> list."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError("reading Parquet needs pyarrow (pip install "
                             "pyarrow)") from None
        return pq.read_table(path).to_pydict()
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} has no rows")
    return {k: [r[k] for r in rows] for k in rows[0]}


def _resolve(base, paths):
    return [str(p if Path(p).is_absolute() else base / p) for p in paths]


def list_pool(path):
    """``(ids, paths)`` of a pool folder or table, in pool order."""
    from ..images import find_images

    path = Path(path)
    if path.is_dir():
        files = find_images(path)[0]
        return [f.relative_to(path).as_posix() for f in files], \
            [str(f) for f in files]
    if not path.is_file():
        raise ValueError(f"{path} is neither a folder nor a file")
    table = read_table(path)
    if "path" not in table:
        raise ValueError(f"{path} has no 'path' column; its columns are "
                         f"{sorted(table)}")
    paths = _resolve(path.parent, table["path"])
    return [str(i) for i in table.get("id", table["path"])], paths


def _read_images(paths, size, mode):
    from ..images import read_image

    return np.stack([read_image(Path(p), size, mode) for p in paths]) \
        if paths else np.zeros((0, size, size), np.uint8)


def _read_labeled(path, size, grayscale):
    from ..experiment.datasets import load_image_folder

    path = Path(path)
    if path.is_dir():
        data = load_image_folder(path, image_size=size, test_per_class=0,
                                 grayscale=grayscale)
        return data.X_train, data.y_train, len(data.classes)
    table = read_table(path)
    missing = [c for c in ("path", "label") if c not in table]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing}")
    names = sorted(set(map(str, table["label"])))
    y = np.array([names.index(str(v)) for v in table["label"]])
    return _read_images(_resolve(path.parent, table["path"]), size,
                        "L" if grayscale else "RGB"), y, len(names)


class _LoadImages:
    """Ray Data function: read each row's image file."""

    def __init__(self, size, mode):
        self.size, self.mode = size, mode

    def __call__(self, batch):
        return {"id": batch["id"],
                "image": _read_images(list(batch["path"]), self.size,
                                      self.mode)}


def _unreadable_image(exc):
    """:func:`~aalu_sk.images.read_image`'s refusal inside a Ray error.

    Ray Data hands the driver the worker's traceback as text, not the
    exception; this finds the message naming the file, or returns None.
    """
    found = re.findall(r"Cannot read image file '[^\n]*", str(exc))
    return found[-1] if found else None


def _read_pool(paths, args, mode):
    try:
        return _read_images(paths, args.image_size, mode)
    except (OSError, ValueError) as exc:
        raise fail("query", "--pool", exc) from None


def _representation(args):
    """The unfitted representation of ``--representation``, or None."""
    from ..labeling.embedding import check_weights, make_representation

    name = args.representation
    representation = representation_with_weights(
        "query", name, args.representation_weights, args.device)
    if name == "none":
        if args.representation_cache is not None:
            raise fail("query", "--representation-cache",
                       "only with a --representation (pixels, ssl or "
                       "pretrained:SOURCE:MODEL), not 'none'")
        return None
    if args.ray_address:
        raise fail("query", "--representation",
                   f"{name} is fitted here on the pool's images, and "
                   f"--ray-address reads them on the cluster; use one or "
                   f"the other")
    if args.estimator:
        raise fail("query", "--representation",
                   f"{name} is for a head trained here, and --estimator "
                   f"brings a fitted model; use one or the other")
    representation = make_representation(representation, args.seed,
                                          args.device)
    try:
        check_weights(representation)
    except ValueError as exc:
        raise fail("query", "--representation", exc) from None
    return representation


def _cache_path(args, out):
    """The file of ``--representation-cache`` (default: beside ``--out``)."""
    from ..labeling.embedding import embedding_path

    if args.representation_cache is None:
        return embedding_path(out.parent / "aalu-sk-query",
                              args.representation)
    path = Path(args.representation_cache)
    if path.is_dir():
        raise fail("query", "--representation-cache",
                   f"{path} is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail("query", "--representation-cache", exc) from None
    return path


def _embedding(representation, X, path, name):
    """The folder embedding of images ``X``: loaded from ``path`` if it was
    fitted on the same images with the same parameters, else fitted and
    written there."""
    from ..labeling.embedding import FolderEmbedding, embedding_fingerprint

    fingerprint = embedding_fingerprint(X, representation)
    embedding = FolderEmbedding.load(path, fingerprint, representation)
    if embedding is not None:
        log.info("representation %s: loaded from %s", name, path)
        return embedding
    log.info("representation %s: fitting on the %d labeled and pool images "
             "without labels%s", name, len(X),
             " (minutes on a CPU)" if name == "ssl" else "")
    try:
        embedding = FolderEmbedding(representation).fit(X)
    except (OSError, ValueError, ImportError) as exc:
        raise fail("query", "--representation", exc) from None
    try:
        embedding.save(path, fingerprint)
    except OSError as exc:
        log.warning("representation %s: fitted in %.1fs but not cached "
                    "(--representation-cache %s: %s); the next call fits "
                    "it again", name, embedding.fit_seconds_, path, exc)
        return embedding
    log.info("representation %s: fitted in %.1fs; cached in %s", name,
             embedding.fit_seconds_, path)
    return embedding


def _head(representation, X_l, y_l, X_pool, n_classes, args, strategy,
          cache):
    """A linear head (:func:`~aalu_sk.labeling.cycle.head_classifier`) on
    the embedding of the labeled and pool images, fitted on the labeled."""
    from ..labeling.cycle import head_classifier

    embedding = _embedding(representation, np.concatenate([X_l, X_pool]),
                           cache, args.representation)
    net = head_classifier(embedding, n_classes, args.epochs,
                          device=args.device, random_state=args.seed,
                          record_losses=strategy.reads_training_losses())
    return net.fit(X_l, y_l)


def _load_estimator(path):
    """The pickled, fitted task model of ``--estimator``."""
    try:
        with open(path, "rb") as f:
            net = pickle.load(f)
    except OSError as exc:
        raise fail("query", "--estimator", exc) from None
    except Exception as exc:  # unpickling foreign bytes raises anything
        raise fail("query", "--estimator",
                   f"{path} is not a pickled task model "
                   f"({type(exc).__name__}: {exc})") from None
    if not hasattr(net, "predict_proba"):
        raise fail("query", "--estimator",
                   f"{path} holds a {type(net).__name__}, not a fitted "
                   f"classifier with predict_proba (an ImageClassifier, "
                   f"for example)")
    return net


def run_query(args):
    """Run ``aalu-sk query`` with parsed ``args``; return the exit status."""
    from ..classifier import ImageClassifier
    from ..strategies.registry import make_strategy

    mode = "L" if args.grayscale else "RGB"
    try:
        X_l, y_l, n_classes = _read_labeled(args.labeled, args.image_size,
                                            args.grayscale)
    except (OSError, ValueError) as exc:
        raise fail("query", "--labeled", exc) from None
    try:
        ids, paths = list_pool(args.pool)
    except (OSError, ValueError) as exc:
        raise fail("query", "--pool", exc) from None
    if args.n > len(ids):
        raise fail("query", "--n", f"{args.n} is more than the pool's "
                                   f"{len(ids)} images")
    out = Path(args.out)
    if out.is_dir():
        raise fail("query", "--out", f"{out} is a folder; give a file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail("query", "--out", exc) from None
    strategy = make_strategy(args.strategy, random_state=args.seed,
                             device=args.device)
    representation = _representation(args)
    cache = None if representation is None else _cache_path(args, out)
    ray = start_ray("query", args.ray_address, args.quiet) \
        if args.ray_address else None
    X_pool = None if ray is not None else _read_pool(paths, args, mode)
    if args.estimator:
        net = _load_estimator(args.estimator)
    elif representation is None:
        net = ImageClassifier(args.model, num_classes=n_classes,
                              max_epochs=args.epochs or 20,
                              device=args.device, random_state=args.seed,
                              record_losses=strategy.reads_training_losses())
        net.fit(X_l, y_l)
    else:
        net = _head(representation, X_l, y_l, X_pool, n_classes, args,
                    strategy, cache)
    if ray is not None:
        from ..distributed.query import query

        pool = ray.data.from_items(
            [{"id": i, "path": p} for i, p in zip(ids, paths)]).map_batches(
            _LoadImages(args.image_size, mode), batch_size=256)
        try:
            chosen = query(strategy, net, X_l, y_l, pool, args.n,
                           num_workers=args.num_workers)
        except ray.exceptions.RayError as exc:
            unreadable = _unreadable_image(exc)
            if unreadable is None:
                raise
            raise fail("query", "--pool", unreadable) from None
    else:
        chosen = np.asarray(ids)[strategy.query(X_l, y_l, X_pool, net,
                                                args.n)]
    try:
        out.write_text("".join(f"{i}\n" for i in chosen))
    except OSError as exc:
        raise fail("query", "--out", exc) from None
    if not args.quiet:
        print(f"{len(chosen)} ids of {len(ids)} pool images -> {out}",
              file=sys.stderr)
    return 0
