"""One place that finds and decodes image files, for the whole package.

``aalu-sk label`` (:mod:`aalu_sk.labeling`), ``aalu-sk query``
(:mod:`aalu_sk.cli.query`) and
:func:`aalu_sk.experiment.load_image_folder` all see the same files in a
folder and turn them into the same pixels:

* :data:`IMAGE_EXTENSIONS` says which file names are images (case does not
  matter); :func:`find_images` walks a folder and lists them, in sorted
  order, with the files it skipped and why: a name that is not valid
  UTF-8, or a symbolic link whose target lies outside the folder (unless
  ``follow_symlinks``);
* :func:`decode` opens one image with PIL, applies its EXIF orientation
  (:func:`PIL.ImageOps.exif_transpose`), puts transparent pixels on white,
  scales 16-bit and float images to 8 bits, converts to ``"L"`` or
  ``"RGB"`` and resizes to a square; :func:`read_image` does it for a
  file and returns a ``uint8`` array.
"""

import io
import os
from pathlib import Path

import numpy as np

__all__ = ["IMAGE_EXTENSIONS", "GRAY_MODES", "is_image_name", "find_images",
           "decode", "read_image", "decode_errors"]

#: File name endings read as images (compared in lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff",
                    ".webp")
#: PIL modes that hold no colour.
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L",
                        "F"})
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "F")


def decode_errors():
    """The exceptions that mean "not a decodable image" (PIL imported late)."""
    from PIL import Image, UnidentifiedImageError

    return (OSError, ValueError, SyntaxError, UnidentifiedImageError,
            Image.DecompressionBombError)


def is_image_name(name):
    """Whether the file name ``name`` ends in one of :data:`IMAGE_EXTENSIONS`."""
    return str(name).lower().endswith(IMAGE_EXTENSIONS)


def _inside(path, root_real):
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real.rstrip(os.sep) +
                                                os.sep)


def find_images(root, recursive=True, follow_symlinks=False):
    """The image files below ``root`` and the ones skipped.

    Parameters
    ----------
    root : str or path-like
        The folder.
    recursive : bool, default=True
        Walk sub-folders too (hidden or not; symbolic links to folders
        only with ``follow_symlinks``).
    follow_symlinks : bool, default=False
        Also take files (and folders) that are symbolic links pointing
        outside ``root``. By default they are skipped, so that a link
        cannot expose a file from elsewhere on the disk.

    Returns
    -------
    files : list of pathlib.Path
        Sorted by relative path.
    skipped : list of (str, str)
        The relative path (undecodable bytes written as ``\\xNN``) and the
        reason of each image file left out.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from aalu_sk.images import find_images
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("b.PNG", "a.jpg", "notes.txt"):
    ...     _ = (root / name).write_bytes(b"")
    >>> [f.name for f in find_images(root)[0]]
    ['a.jpg', 'b.PNG']
    """
    root = Path(root)
    root_real = os.path.realpath(root)
    files, skipped, seen = [], [], set()
    for folder, dirs, names in os.walk(root, followlinks=follow_symlinks):
        real = os.path.realpath(folder)
        if real in seen:                 # a link loop
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        if not recursive:
            dirs[:] = []
        for name in sorted(names):
            if not is_image_name(name):
                continue
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                shown = os.fsencode(rel).decode("utf-8", "backslashreplace")
                skipped.append((shown, "skipped: the file name is not valid "
                                       "UTF-8; rename the file to read it"))
                continue
            if not follow_symlinks and not _inside(path, root_real):
                skipped.append((rel, "skipped: a symbolic link to a file "
                                     "outside the folder (allow it with "
                                     "--follow-symlinks)"))
                continue
            files.append(path)
    files.sort(key=lambda p: p.relative_to(root).as_posix())
    return files, skipped


def _to_mode(image, mode):
    from PIL import Image

    if image.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
            image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode in _WIDE_MODES:
        values = np.asarray(image, dtype=np.float64)
        values = values - min(values.min(), 0.0)
        top = values.max() or 1.0
        image = Image.fromarray((values / top * 255).astype(np.uint8))
    return image.convert(mode)


def decode(source, size=None, mode="RGB"):
    """Open one image and bring it to ``mode`` and ``size``.

    Parameters
    ----------
    source : bytes, str or path-like
        The file's bytes, or its path.
    size : int or None, default=None
        Side of the square output (the aspect ratio is not kept); None
        keeps the image's own size.
    mode : {"RGB", "L"}, default="RGB"

    Returns
    -------
    image : PIL.Image.Image
        Upright (EXIF orientation applied), alpha composited over white.
    info : dict
        ``mode`` (the file's own PIL mode), ``width`` and ``height`` (its
        own size, after the EXIF rotation).

    Raises
    ------
    OSError, ValueError, SyntaxError, PIL.Image.DecompressionBombError
        When the source is not a decodable image (see
        :func:`decode_errors`).
    """
    from PIL import Image, ImageOps

    if mode not in ("RGB", "L"):
        raise ValueError(f"mode={mode!r}: use 'RGB' or 'L'.")
    opened = Image.open(io.BytesIO(source) if isinstance(
        source, (bytes, bytearray)) else source)
    with opened as image:
        image.load()
        own = image.mode
        upright = ImageOps.exif_transpose(image)
        info = {"mode": own, "width": upright.size[0],
                "height": upright.size[1]}
        out = _to_mode(upright, mode)
        if size is not None:
            out = out.resize((size, size), Image.Resampling.BILINEAR)
        return out, info


def read_image(path, size, mode="RGB"):
    """The ``uint8`` pixels of one file: ``(size, size)`` or ``(size, size, 3)``.

    Raises
    ------
    ValueError
        Naming the file, when it is not a decodable image.
    """
    try:
        image, _ = decode(Path(path), size, mode)
    except decode_errors() as exc:
        raise ValueError(f"Cannot read image file {str(path)!r}: "
                         f"{exc}") from exc
    return np.asarray(image, dtype=np.uint8)
