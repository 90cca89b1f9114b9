"""Index a folder of images: find, hash, decode, resize, de-duplicate.

:func:`index_folder` walks the folder recursively, reads each PNG, JPEG,
BMP or WebP file once, hashes its bytes (SHA-256) and decodes it into a
small fixed-size ``uint8`` array, the task model's input. Files that do
not decode are reported, never raised; byte-identical files become one
item. Nothing is written anywhere: the caller stores the result.
"""

import hashlib
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["LABEL_IMAGE_EXTENSIONS", "FolderIndex", "index_folder",
           "decode_image"]

#: File name endings indexed (compared in lower case).
LABEL_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")

# PIL modes that hold no colour.
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


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
        """``(path, error)`` of each file that did not decode."""
        return [(r["path"], r["error"]) for r in self.rows
                if r["status"] == "unreadable"]

    @property
    def duplicates(self):
        """``(path, item)`` of each file with the same bytes as another."""
        return [(r["path"], r["item"]) for r in self.rows
                if r["status"] == "duplicate"]


def _to_mode(image, channels):
    """``image`` as ``L`` (1 channel) or ``RGB`` (3); alpha over white."""
    if image.mode in ("RGBA", "LA", "PA") or (
            image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = values.max() or 1.0
        image = Image.fromarray((values / top * 255).astype(np.uint8))
    return image.convert("L" if channels == 1 else "RGB")


def decode_image(data, size, channels):
    """Decode image bytes into a ``size`` x ``size`` ``uint8`` array.

    Parameters
    ----------
    data : bytes
    size : int
        Side of the square output (the aspect ratio is not kept).
    channels : {1, 3}
        Grayscale or RGB output; transparent pixels are put on white.

    Returns
    -------
    pixels : ndarray of uint8, shape (size, size) or (size, size, 3)
    mode : str
        The file's own PIL mode.
    width, height : int
        The file's own size.

    Raises
    ------
    OSError, ValueError, Image.DecompressionBombError
        When the bytes are not a decodable image.
    """
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        mode, (width, height) = image.mode, image.size
        out = _to_mode(image, channels).resize((size, size),
                                               Image.Resampling.BILINEAR)
        return np.asarray(out, dtype=np.uint8), mode, width, height


def _files(root):
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if name.lower().endswith(LABEL_IMAGE_EXTENSIONS):
                yield Path(folder) / name


def index_folder(image_dir, size=32, channels=None):
    """Index every image below ``image_dir``.

    Parameters
    ----------
    image_dir : str or path-like
        The folder (searched recursively; symbolic links to folders are
        not followed).
    size : int, default=32
        Side of the decoded square arrays.
    channels : {1, 3} or None, default=None
        None: 1 when every readable image is grayscale, else 3.

    Returns
    -------
    index : FolderIndex
        ``index.X`` has ``channels`` channels (``X.ndim == 3`` for one).
    """
    start = time.perf_counter()
    root = Path(image_dir)
    rows, decoded, seen = [], {}, {}
    for path in _files(root):
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
            rgb = None if mode in _GRAY_MODES else \
                decode_image(data, size, 3)[0]
        except (OSError, ValueError, SyntaxError,
                UnidentifiedImageError, Image.DecompressionBombError) as exc:
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
