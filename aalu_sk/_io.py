"""Writing files so that a reader never sees a partial one.

:func:`atomic_write` lives here, below every other module, so that the
experiment checkpoints and the representation checkpoints
(:mod:`aalu_sk.representation`) share it without a layer pointing upwards;
:mod:`aalu_sk.experiment.checkpoint` re-exports it.
"""

import contextlib
import os
import tempfile

__all__ = ["atomic_write"]


def atomic_write(path, data):
    """Replace ``path`` with new content, never leaving a partial file.

    Writes to a temporary file in the same folder, flushes and fsyncs it,
    then renames it over ``path`` (:func:`os.replace`). If anything fails,
    the old file is untouched and the temporary file removed.

    Parameters
    ----------
    path : str or path-like
    data : str, bytes or callable
        The content, or ``data(file)`` writing to a binary file object.

    Notes
    -----
    A process killed with SIGKILL between creating and renaming the
    temporary file leaves it behind (``.NAME.XXXX.tmp``, removed by
    :func:`remove_partial_writes`); ``path`` itself is always either the
    old or the new content.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp",
                               prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "wb") as file:
            if callable(data):
                data(file)
            else:
                file.write(data.encode() if isinstance(data, str) else data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
