"""Index a folder of images: find, hash, decode, resize, de-duplicate.

:func:`index_folder` walks the folder recursively, reads each image file
(:data:`aalu_sk.images.IMAGE_EXTENSIONS`, found and decoded by
:mod:`aalu_sk.images`) once, hashes its bytes (SHA-256) and decodes it into a
small fixed-size ``uint8`` array, the task model's input. Files that do
not decode are reported, never raised; byte-identical files become one
item. Nothing is written anywhere: the caller stores the result.
"""

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..images import (GRAY_MODES, IMAGE_EXTENSIONS, decode, decode_errors,
                      find_images)

__all__ = ["LABEL_IMAGE_EXTENSIONS", "FolderIndex", "index_folder",
           "decode_image"]

#: File name endings indexed (compared in lower case): the package's own.
LABEL_IMAGE_EXTENSIONS = IMAGE_EXTENSIONS


@dataclass
class FolderIndex:
    """What :func:`index_folder` found.

    Attributes
    ----------
    rows : list of dict
        One per file, the columns of the store's ``images`` table.
    items : list of str
        Ids of the distinct readable images, in path order.
    paths : list of str
        The relative path shown for each item.
    X : ndarray of uint8, shape (n_items, size, size) or (n_items, size, \
size, 3)
        The decoded, resized pixels of each item.
    seconds : float
        Wall time of the index.
    """

    rows: list = field(default_factory=list)
    items: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    X: np.ndarray = None
    seconds: float = 0.0

    @property
    def unreadable(self):
        """``(path, error)`` of each file that did not decode or was skipped."""
        return [(r["path"], r["error"]) for r in self.rows
                if r["status"] == "unreadable"]

    @property
    def duplicates(self):
        """``(path, item)`` of each file with the same bytes as another."""
        return [(r["path"], r["item"]) for r in self.rows
                if r["status"] == "duplicate"]


def decode_image(data, size, channels):
    """Decode image bytes into a ``size`` x ``size`` ``uint8`` array.

    Parameters
    ----------
    data : bytes
    size : int
        Side of the square output (the aspect ratio is not kept).
    channels : {1, 3}
        Grayscale or RGB output; see :func:`aalu_sk.images.decode`.

    Returns
    -------
    pixels : ndarray of uint8, shape (size, size) or (size, size, 3)
    mode : str
        The file's own PIL mode.
    width, height : int
        The file's own size (upright).
    """
    image, info = decode(data, size, "L" if channels == 1 else "RGB")
    return np.asarray(image, dtype=np.uint8), info["mode"], info["width"], \
        info["height"]


def index_folder(image_dir, size=32, channels=None, follow_symlinks=False):
    """Index every image below ``image_dir``.

    Parameters
    ----------
    image_dir : str or path-like
        The folder, searched recursively by
        :func:`aalu_sk.images.find_images`.
    size : int, default=32
        Side of the decoded square arrays.
    channels : {1, 3} or None, default=None
        None: 1 when every readable image is grayscale, else 3.
    follow_symlinks : bool, default=False
        Index files whose real path lies outside ``image_dir`` (symbolic
        links); by default they are listed as unreadable ("skipped").

    Returns
    -------
    index : FolderIndex
        ``index.X`` has ``channels`` channels (``X.ndim == 3`` for one).
    """
    start = time.perf_counter()
    root = Path(image_dir)
    rows, decoded, seen = [], {}, {}
    files, skipped = find_images(root, follow_symlinks=follow_symlinks)
    for rel, reason in skipped:
        rows.append({"path": rel, "sha256": None, "bytes": 0, "mtime_ns": 0,
                     "width": None, "height": None, "mode": None,
                     "status": "unreadable", "error": reason, "item": None})
    for path in files:
        rel = path.relative_to(root).as_posix()
        row = {"path": rel, "sha256": None, "bytes": 0, "mtime_ns": 0,
               "width": None, "height": None, "mode": None,
               "status": "unreadable", "error": None, "item": None}
        rows.append(row)
        try:
            stat = path.stat()
            row["bytes"], row["mtime_ns"] = stat.st_size, stat.st_mtime_ns
            data = path.read_bytes()
        except OSError as exc:
            row["error"] = f"cannot read the file: {exc.strerror or exc}"
            continue
        digest = hashlib.sha256(data).hexdigest()
        row["sha256"], row["item"] = digest, digest[:16]
        if digest in seen:
            row["status"] = "duplicate"
            first = seen[digest]
            row.update(mode=first["mode"], width=first["width"],
                       height=first["height"])
            if first["status"] == "unreadable":
                row.update(status="unreadable", item=None,
                           error=first["error"])
            continue
        seen[digest] = row
        try:
            gray, mode, width, height = decode_image(data, size, 1)
            rgb = None if mode in GRAY_MODES else \
                decode_image(data, size, 3)[0]
        except decode_errors() as exc:
            row["item"] = None
            row["error"] = (f"not a readable image: {type(exc).__name__}: "
                            f"{exc}")[:300]
            continue
        row.update(status="ok", mode=mode, width=width, height=height)
        decoded[rel] = (gray, rgb)
    ok = [r for r in rows if r["status"] == "ok"]
    if channels is None:
        channels = 3 if any(decoded[r["path"]][1] is not None
                            for r in ok) else 1
    shape = (size, size) if channels == 1 else (size, size, 3)
    X = np.empty((len(ok),) + shape, np.uint8)
    for k, r in enumerate(ok):
        gray, rgb = decoded[r["path"]]
        if channels == 1:
            X[k] = gray
        else:
            X[k] = rgb if rgb is not None else gray[..., None]
    return FolderIndex(rows=rows, items=[r["item"] for r in ok],
                       paths=[r["path"] for r in ok], X=X,
                       seconds=time.perf_counter() - start)
