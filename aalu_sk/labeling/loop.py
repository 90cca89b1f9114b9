"""The labeling loop: a folder, a store, a model and a strategy.

:class:`LabelingProject` is what the web app drives and what a notebook
uses directly. One *cycle* trains a fresh
:class:`~aalu_sk.ImageClassifier` on every label so far and lets the
strategy choose the next batch from the images nobody answered yet (the
first cycle, with no label, picks for coverage: :mod:`.coverage`). With a
``representation`` (:mod:`.embedding`; ``"pixels"`` by default) the folder
is embedded once, without labels: the cold start covers that embedding and
the model is a linear head on it.

Timing, as the app uses it: a background thread
(:meth:`LabelingProject.request_batch`) starts choosing the next batch
when half of the current one is answered (``prefetch``), so it is usually
ready when you finish; it then waits, queued, until the current batch is
answered. Its model has the labels given up to its start; the rest of the
current batch goes into the retrain after. Answering never waits for the
thread: labels are committed to the store at once. Whatever arrives while
the model trains (more answers, an undo, a second client, an import) is
kept and used by the next retrain; items answered meanwhile are left out
of the new batch, whose order is otherwise the strategy's.
"""

import logging
import threading
import unicodedata
from pathlib import Path

import numpy as np
from .._io import atomic_write
from ..modules import TASK_MODULES
from ..stopping import stopping_point
from ..strategies.registry import check_strategy_name
from ..validation import check_positive_ints
from . import exchange, monitor
from .coverage import coarse_features
from .cycle import run_cycle
from .embedding import (DEFAULT_REPRESENTATION, check_representation,
                        check_weights, embedding_path, fit_embedding,
                        load_embedding, make_representation,
                        representation_name)
from .estimate import MIN_AUDIT_LABELS
from .images import index_folder
from .store import LabelStore, StoreError, default_store_path

__all__ = ["LabelingProject", "default_store_path", "check_class_names"]

logger = logging.getLogger("aalu_sk.labeling")


def check_class_names(names, name="classes"):
    """Stripped class names; ValueError for empty, repeated or control chars."""
    if isinstance(names, str):
        names = [names]
    out = []
    for value in names:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name}: every class name must be non-empty "
                             f"text; got {value!r}.")
        value = value.strip()
        if len(value) > 100 or any(unicodedata.category(c)[0] == "C"
                                   for c in value):
            raise ValueError(f"{name}: {value!r} is not allowed; use at "
                             f"most 100 printable characters.")
        if value in out:
            raise ValueError(f"{name}: {value!r} is given twice.")
        out.append(value)
    return out


class LabelingProject:
    """Label a folder of images with a model choosing what to label next.

    Opening a project indexes the folder (recursively: PNG, JPEG, BMP,
    WebP) and opens or creates its store; reopening the same store resumes
    exactly where it stopped. Unreadable files are listed
    (:attr:`unreadable`), byte-identical files are one item.

    Parameters
    ----------
    image_dir : str or path-like
        The folder of images. Nothing is written into it.
    classes : sequence of str, default=()
        Class names; new ones are appended to those in the store.
    store : str, path-like or None, default=None
        The SQLite file; None uses :func:`default_store_path`.
    strategy : str, default="aalu"
        A name for :func:`aalu_sk.strategies.registry.make_strategy` (a
        key of its ``STRATEGIES``, optionally with ``+div`` or ``+topk``).
    batch_size : int, default=20
        Images per batch.
    prefetch : float, default=0.5
        The app starts choosing the next batch when this share of the
        current one is answered, so that it is ready when you finish; the
        rest of the current batch's labels go into the retrain after. 1
        waits for the whole batch (each batch then comes from a model that
        saw every earlier label, at the price of a wait).
    representation : str or transformer, default="pixels"
        The label-free embedding of the folder (:mod:`.embedding`):
        ``"none"``, ``"pixels"`` (PCA of the standardised pixels, well
        under a second), ``"ssl"`` (SimCLR on the folder: minutes on a
        CPU, once), ``"pretrained:SOURCE:MODEL"`` (local weights only) or
        an unfitted scikit-learn transformer. Fitted on the whole folder
        at the first cycle and cached beside the store
        (:attr:`embedding_path`, keyed on the folder's images); the
        cold-start batch covers it and the model is a linear head on it
        (``model`` is then not used). ``"none"`` covers 8x8 thumbnails and
        trains ``model`` from scratch.
    model : str, default="small_cnn"
        Task module (:data:`aalu_sk.modules.TASK_MODULES`) with
        ``representation="none"``; the small CNN retrains in seconds on a
        CPU for a few hundred labels.
    image_size : int, default=32
        Images are resized to ``image_size`` x ``image_size`` for the model.
    epochs : int or None, default=None
        Task-model epochs per cycle. None gives about 150 optimiser steps
        (batches of 32), between 10 and 100 epochs: small labeled sets
        need many epochs to be fitted at all, large ones fewer. With a
        representation, None gives the head 100 full-batch steps.
    selector_epochs : int, default=20
        Training epochs of the AALU and VAAL selectors.
    stop_set_size : int, default=500
        Images in the stopping criterion's fixed stop set.
    stop_threshold : float, default=0.99
    stop_window : int, default=3
        Stop when the last ``stop_window`` agreements (Cohen's kappa of
        consecutive models on the stop set) reach ``stop_threshold``.
    device : str, default="auto"
    random_state : int, default=0
        Seeds the cold start, the stop set, the models and the strategy.
    follow_symlinks : bool, default=False
        Index (and let the app serve) files whose real path is outside
        ``image_dir``; by default such symbolic links are listed in
        :attr:`unreadable` as skipped.
    random_share : float, default=0.1
        Share of each batch drawn uniformly at random (the *audit*
        images): shown like the others, never trained on, they give an
        unbiased accuracy estimate (:mod:`aalu_sk.labeling.estimate`).
        0 turns it off (then the stopping signal does not wait for it).

    Attributes
    ----------
    items : list of str
        Ids of the readable, distinct images.
    paths : list of str
        Their paths relative to ``image_dir``.
    unreadable : list of (str, str)
        Path and reason of each file that did not decode.
    index_seconds : float
        Time the index took.
    model_ : ImageClassifier
        The model of the latest cycle run in this process (absent before);
        :meth:`predict` reads it.
    representation_info : dict
        ``name``, ``state`` (``"not fitted"`` until the first cycle, then
        ``"fitted"`` or ``"loaded"`` from the cache), ``seconds`` (of the
        fit), ``dim`` and ``path`` (the cache file; None for ``"none"``).

    Examples
    --------
    Not run by the doctests: it needs a folder of photos.

    >>> from aalu_sk.labeling import LabelingProject
    >>> project = LabelingProject("photos", ["cat", "dog"],
    ...                           store="photos.sqlite")  # doctest: +SKIP
    >>> for item in project.next_batch():  # doctest: +SKIP
    ...     project.label(item["id"], "cat")
    >>> project.export("labels.csv")  # doctest: +SKIP
    """

    def __init__(self, image_dir, classes=(), store=None, *, strategy="aalu",
                 batch_size=20, prefetch=0.5,
                 representation=DEFAULT_REPRESENTATION, model="small_cnn",
                 image_size=32, epochs=None, selector_epochs=20,
                 stop_set_size=500, stop_threshold=0.99, stop_window=3,
                 device="auto", random_state=0, follow_symlinks=False,
                 random_share=0.1):
        self.image_dir = Path(image_dir)
        if not self.image_dir.is_dir():
            raise ValueError(f"image_dir={str(image_dir)!r} is not a folder.")
        try:
            check_strategy_name(strategy)
        except ValueError as exc:
            raise ValueError(f"strategy={strategy!r}: {exc}") from None
        self.representation = check_representation(representation)
        check_weights(make_representation(self.representation,
                                          device=device))
        if model not in TASK_MODULES:
            raise ValueError(f"model={model!r} is unknown; choose from "
                             f"{sorted(TASK_MODULES)}.")
        if not 0 < prefetch <= 1:
            raise ValueError(f"prefetch={prefetch!r}: must be in (0, 1].")
        if isinstance(random_share, bool) or not isinstance(
                random_share, (int, float)) or not 0 <= random_share < 1:
            raise ValueError(f"random_share={random_share!r}: must be a "
                             f"number in [0, 1).")
        self.random_share = float(random_share)
        self.strategy, self.model, self.device = strategy, model, device
        self.prefetch = prefetch
        self.batch_size, self.image_size, self.epochs = \
            batch_size, image_size, epochs
        self.selector_epochs, self.stop_set_size = \
            selector_epochs, stop_set_size
        self.stop_threshold, self.stop_window = stop_threshold, stop_window
        self.random_state = random_state
        check_positive_ints(self, ("batch_size", "image_size",
                                   "selector_epochs", "stop_set_size",
                                   "stop_window"))
        if epochs is not None:
            check_positive_ints(self, ("epochs",))
        stopping_point([], stop_threshold, stop_window)  # checks both
        self.follow_symlinks = bool(follow_symlinks)
        classes = check_class_names(classes)   # all checked before writing
        self.store = LabelStore(store or default_store_path(image_dir))
        folder = str(self.image_dir.resolve())
        saved = self.store.get_meta("image_dir")
        if saved is not None and saved != folder:
            raise StoreError(
                f"The store {self.store.path} belongs to the folder {saved}, "
                f"not {folder}; pass that folder, or another store.")
        self.store.set_meta("image_dir", folder)
        self.store.add_class(*classes)
        self._cycle_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._embedding_lock = threading.Lock()
        self._worker = None
        self.progress = {"running": False, "stage": "idle", "epoch": 0,
                         "epochs": 0, "error": None}
        self._index()

    # -- the folder ------------------------------------------------------------
    def _index(self):
        index = index_folder(self.image_dir, size=self.image_size,
                             follow_symlinks=self.follow_symlinks)
        self.store.replace_images(index.rows)
        self.items, self.paths, self.X_ = index.items, index.paths, index.X
        self._coarse = None
        self._embedding = None
        self.representation_info = {
            "name": representation_name(self.representation),
            "state": "none" if self.representation == "none"
            else "not fitted", "seconds": None, "dim": None,
            "path": None if self.embedding_path is None
            else str(self.embedding_path)}
        self._position = {item: k for k, item in enumerate(self.items)}
        self.unreadable = index.unreadable
        self.duplicates = index.duplicates
        self.index_seconds = index.seconds
        logger.info("indexed %d images (%d unreadable, %d duplicates) in "
                    "%.2fs", len(self.items), len(self.unreadable),
                    len(self.duplicates), index.seconds)

    # -- the representation ------------------------------------------------------
    @property
    def embedding_path(self):
        """The cache file of the representation (None for ``"none"``).

        ``<store>.embedding-<name>.npz`` beside the store; see
        :func:`.embedding.embedding_path`.
        """
        if self.representation == "none":
            return None
        return embedding_path(self.store.path, self.representation)

    def folder_embedding(self):
        """The folder's fitted embedding (None with ``"none"``).

        Loaded from :attr:`embedding_path` when it was fitted on the same
        images with the same parameters, else fitted on every image of
        the folder (no label is used) and written there atomically. Kept
        in memory after the first call.

        Returns
        -------
        embedding : :class:`~aalu_sk.labeling.embedding.FolderEmbedding` \
or None
        """
        if self.representation == "none":
            return None
        with self._embedding_lock:
            if self._embedding is not None:
                return self._embedding
            rep = make_representation(self.representation,
                                      self.random_state, self.device)
            info, name = self.representation_info, self.representation_info[
                "name"]
            path = self.embedding_path
            embedding = load_embedding(path, self.X_, rep) \
                if len(self.items) else None
            if embedding is not None:
                info["state"] = "loaded"
                logger.info("representation %s: loaded from %s (fitted on "
                            "%d images in %.1fs)", name, path,
                            len(embedding.keys_), embedding.fit_seconds_)
            elif len(self.items):
                self._report(stage=f"fitting the {name} representation on "
                                   f"{len(self.items)} images (once per "
                                   f"folder; no label is used)",
                             epoch=0, epochs=0)
                logger.info("representation %s: fitting on %d images%s", name,
                            len(self.items),
                            " (minutes on a CPU; the epochs are logged)"
                            if self.representation == "ssl" else "")
                embedding = fit_embedding(path, self.X_, rep)
                info["state"] = "fitted"
                logger.info("representation %s: fitted in %.1fs, %d "
                            "dimensions; cached in %s", name,
                            embedding.fit_seconds_,
                            embedding.embedding_.shape[1], path)
            else:
                return None
            info.update(seconds=embedding.fit_seconds_,
                        dim=int(embedding.embedding_.shape[1]))
            self._embedding = embedding
            return embedding

    @property
    def classes(self):
        """Class names, in the order they were added."""
        return self.store.classes()

    def add_class(self, name):
        """Add a class (the next retrain has one more output)."""
        return self.store.add_class(*check_class_names(name, "name"))

    # -- answers ---------------------------------------------------------------
    def _check_item(self, item):
        if not isinstance(item, str) or item not in self._position:
            raise ValueError(f"unknown id {item!r}: not an image of this "
                             f"project (the ids are those of the batches).")

    def label(self, item, value, who="", source="python"):
        """Store ``value`` as the label of ``item``; return the event's seq.

        Raises
        ------
        ValueError
            Naming the id or class that is unknown.
        """
        self._check_item(item)
        classes = self.classes
        if value not in classes:
            raise ValueError(f"unknown class {value!r}; the classes are "
                             f"{classes} (add the class first).")
        return self.store.add_event(item, "label", value, who, source)

    def skip(self, item, who="", source="python"):
        """Leave ``item`` out of this and later batches (undo re-opens it)."""
        self._check_item(item)
        return self.store.add_event(item, "skip", None, who, source)

    def undo(self, item, who="", source="python"):
        """Make ``item`` unlabeled again (its history keeps every event)."""
        self._check_item(item)
        return self.store.add_event(item, "undo", None, who, source)

    def history(self, item):
        """Every event of ``item``, oldest first."""
        self._check_item(item)
        return self.store.history(item)

    # -- batches ---------------------------------------------------------------
    def _open(self, states):
        """Batch rows whose item is unanswered, by cycle, then rank."""
        rows = {}
        for row in self.store.batch_items():
            if row["item"] in self._position and \
                    states.get(row["item"], ("undo",))[0] == "undo":
                rows[row["item"]] = row          # the latest batch wins
        return sorted(rows.values(), key=lambda r: (r["cycle"], r["rank"]))

    def current_batch(self):
        """The unanswered items of the current batch (no side effect).

        The current batch is the oldest one with an unanswered item: a
        batch chosen ahead (see ``prefetch``) waits until the one before it
        is answered, and an undo brings its item back first.

        Returns
        -------
        items : list of dict
            ``id``, ``path``, ``prediction`` (the class the model of that
            cycle guessed, None in the cold start) and ``cycle``.
        """
        rows = self._open(self.store.states())
        return [{"id": r["item"], "path": self.paths[self._position[r["item"]]],
                 "prediction": r["prediction"], "cycle": r["cycle"]}
                for r in rows if r["cycle"] == rows[0]["cycle"]]

    def next_batch(self):
        """The current batch; when it is all answered, run a cycle first.

        Returns an empty list when every image is answered.
        """
        batch = self.current_batch()
        if not batch:
            self.retrain()
            batch = self.current_batch()
        return batch

    def _pool(self, states):
        open_items = {r["item"] for r in self._open(states)}
        return np.asarray([k for k, item in enumerate(self.items)
                           if states.get(item, ("undo",))[0] == "undo"
                           and item not in open_items], dtype=np.int64)

    def _due(self, states):
        """Whether the next batch should be chosen now."""
        if not self._pool(states).size:
            return False
        cycles = self.store.cycles()
        if not cycles:
            return True
        latest = self.store.batch_items(cycles[-1]["cycle"])
        still_open = sum(states.get(r["item"], ("undo",))[0] == "undo"
                         for r in latest)
        if not still_open:
            return True
        answered = 1 - still_open / len(latest)
        return self.prefetch < 1 and answered >= self.prefetch and any(
            action == "label" for action, _ in states.values())

    def request_batch(self):
        """Start choosing the next batch in the background if it is due.

        It is due when the latest batch is all answered, or (``prefetch``)
        when that share of it is answered and a label exists. Returns at
        once; one cycle runs at a time.

        Returns
        -------
        started : bool
        """
        with self._state_lock:
            if self._worker is not None and self._worker.is_alive():
                return False
            if not self._due(self.store.states()):
                return False
            self._worker = threading.Thread(target=self._work, daemon=True,
                                            name="aalu-sk-labeling-cycle")
            self.progress.update(running=True, stage="starting", error=None)
            self._worker.start()
            return True

    def _work(self):
        try:
            # again if everything chosen was answered while it was chosen
            while self.retrain() is not None and \
                    not self._open(self.store.states()):
                pass
        except Exception as exc:  # shown on the page; the app keeps serving
            logger.exception("the labeling cycle failed")
            self.progress.update(error=f"{type(exc).__name__}: {exc}")
        finally:
            self.progress.update(running=False, stage="idle")

    def _report(self, **fields):
        self.progress.update(**fields)

    # -- one cycle -------------------------------------------------------------
    def retrain(self):
        """Train on every label, choose the next batch, record the cycle.

        Returns
        -------
        cycle : dict or None
            The cycle recorded (None when no image is left to ask about).
        """
        with self._cycle_lock:
            return run_cycle(self)

    # -- what the page shows -----------------------------------------------------
    def learning_curve(self):
        """Each model's accuracy on its own batch; see :func:`.monitor.learning_curve`."""
        return monitor.learning_curve(self.store)

    def stopping(self):
        """The stopping signal; see :func:`.monitor.stopping_signal`."""
        return monitor.stopping_signal(
            self.store, self.stop_threshold, self.stop_window,
            min_audit=MIN_AUDIT_LABELS if self.random_share else 0)

    def accuracy(self):
        """The audit accuracy estimate; see :func:`.monitor.accuracy_estimate`."""
        return monitor.accuracy_estimate(self.store)

    def review(self, limit=50):
        """The labels most likely wrong; see :func:`.review.review`."""
        from .review import review

        return review(self, limit)

    def predict(self):
        """The latest model's guess for every image, as class names.

        Returns
        -------
        classes : list of str or None
            One per image, in the order of :attr:`items`; None before the
            first model (the model of a cycle is kept in ``model_``, in
            this process only).
        """
        net = getattr(self, "model_", None)
        if net is None:
            return None
        names = np.asarray(self.classes[:net.n_classes_], dtype=object)
        return names[net.predict(self.X_)].tolist() if len(self.items) \
            else []

    def coarse_features_(self):
        """Label-free 8 x 8 thumbnails of every item (cached)."""
        if getattr(self, "_coarse", None) is None:
            self._coarse = coarse_features(self.X_)
        return self._coarse

    def status(self):
        """Counts, progress, curve and stopping signal (:func:`.monitor.status`)."""
        return monitor.status(self)

    # -- exchange ----------------------------------------------------------------
    def export(self, path=None, format="csv"):
        """Write (or return) the labels as CSV or Label Studio JSON.

        Parameters
        ----------
        path : str, path-like or None, default=None
            Written atomically; None returns the text instead.
        format : {"csv", "labelstudio"}, default="csv"
            See :mod:`aalu_sk.labeling.exchange`.

        Returns
        -------
        text_or_path : str or pathlib.Path
        """
        text = exchange.export_text(self.store, set(self._position), format)
        if path is None:
            return text
        atomic_write(path, text)
        return Path(path)

    def import_labels(self, csv_path, who="import", add_classes=False,
                      missing="error"):
        """Load ``path,label`` rows (e.g. an earlier export) as labels.

        Parameters
        ----------
        csv_path : str or path-like
        who : str, default="import"
        add_classes : bool, default=False
            Add unknown classes instead of refusing them.
        missing : {"error", "skip"}, default="error"
            What to do with paths that are not readable images of the
            folder.

        Returns
        -------
        summary : dict
            ``imported`` (new label events), ``unchanged`` and ``missing``
            (the paths skipped).
        """
        if missing not in ("error", "skip"):
            raise ValueError(f"missing={missing!r}: use 'error' or 'skip'.")
        pairs = exchange.read_label_csv(csv_path)
        by_path = {r["path"]: r["item"] for r in self.store.images()
                   if r["item"] in self._position}
        unknown = [p for p, _ in pairs if p not in by_path]
        if unknown and missing == "error":
            raise ValueError(
                f"{csv_path}: {len(unknown)} paths are not readable images "
                f"of {self.image_dir}, e.g. {unknown[:3]}; pass "
                f"missing='skip' to ignore them.")
        wanted = {by_path[p]: v for p, v in pairs if p in by_path}
        new = sorted(set(wanted.values()) - set(self.classes))
        if new and not add_classes:
            raise ValueError(f"{csv_path}: unknown classes {new}; the "
                             f"classes are {self.classes} (pass "
                             f"add_classes=True to add them).")
        if new:
            self.store.add_class(*check_class_names(new, "labels"))
        current = self.store.labels()
        events = [(i, "label", v, who) for i, v in wanted.items()
                  if current.get(i) != v]
        self.store.add_events(events, source="import")
        return {"imported": len(events),
                "unchanged": len(wanted) - len(events), "missing": unknown}
