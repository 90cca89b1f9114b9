"""How aalu_sk reports progress: bars on a terminal, log lines elsewhere.

One place decides it, so the experiment runner, the selectors and the
``aalu-sk`` command agree:

- :func:`use_bars` answers "draw progress bars?": ``progress=True`` always,
  ``False`` never, ``None`` (the default everywhere) only when standard
  error, where bars are drawn, is a terminal. Redirected output (CI logs,
  ``nohup``, a notebook writing to a file, ``make demo > log.txt 2>&1``)
  gets no escape codes and no redraw lines.
- :func:`progress_bar` gives a tqdm bar, or a silent stand-in with the same
  methods, so callers never branch.
- Everything worth keeping goes through :mod:`logging`, to loggers under
  ``aalu_sk`` (``aalu_sk.experiment.runner``: one line per cycle and stage,
  with timings; ``aalu_sk.strategies``: one line per query, at DEBUG).
  The library adds no handler: an application chooses what to show, e.g.
  ``logging.basicConfig(level=logging.INFO)``.
- :func:`configure_cli_logging` is the ``aalu-sk`` command's choice: INFO
  lines (DEBUG with ``-v``, none with ``--quiet``) on standard output,
  warnings on standard error, printed through ``tqdm.write`` so that they
  never break a bar.
"""

import logging
import sys

from tqdm.auto import tqdm

__all__ = ["use_bars", "progress_bar", "configure_cli_logging"]

logging.getLogger("aalu_sk").addHandler(logging.NullHandler())


def _is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def use_bars(progress=None, stream=None):
    """Whether to draw progress bars.

    Parameters
    ----------
    progress : bool or None, default=None
        True: always; False: never; None: when ``stream`` is a terminal.
    stream : file-like or None, default=None
        Where bars would go; ``sys.stderr`` (looked up at call time).

    Returns
    -------
    bars : bool
    """
    if progress is None:
        return _is_terminal(sys.stderr if stream is None else stream)
    return bool(progress)


class _NoBar:
    """What a tqdm bar offers the code here, doing nothing."""

    def __init__(self, iterable=None, total=None, initial=0):
        self.iterable, self.total, self.n = iterable, total, initial

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.n += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def update(self, n=1):
        self.n += n

    def set_description(self, desc=None, refresh=True):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


def progress_bar(iterable=None, *, total=None, initial=0, desc=None,
                 unit="it", leave=True, progress=None):
    """A tqdm bar on standard error, or a silent stand-in.

    Parameters
    ----------
    iterable : iterable or None, default=None
    total, initial, desc, unit, leave
        As for :class:`tqdm.tqdm`.
    progress : bool or None, default=None
        See :func:`use_bars`.

    Returns
    -------
    bar : tqdm.tqdm or a stand-in with ``update``, ``set_description``,
        ``set_postfix``, ``close`` and iteration.
    """
    if not use_bars(progress):
        return _NoBar(iterable, total, initial)
    return tqdm(iterable, total=total, initial=initial, desc=desc, unit=unit,
                leave=leave, file=sys.stderr, dynamic_ncols=True)


class _Formatter(logging.Formatter):
    """``HH:MM:SS message``; the level name only when it is not INFO."""

    def format(self, record):
        text = super().format(record)
        if record.levelno != logging.INFO:
            stamp, _, message = text.partition("  ")
            text = f"{stamp}  {record.levelname}: {message}"
        return text


class _TqdmHandler(logging.Handler):
    """Below WARNING to standard output, the rest to standard error.

    Streams are looked up at each record (so redirections made later hold),
    and written with ``tqdm.write``, which lifts any bar out of the way.
    """

    def emit(self, record):
        try:
            stream = sys.stdout if record.levelno < logging.WARNING \
                else sys.stderr
            tqdm.write(self.format(record), file=stream)
            stream.flush()
        except Exception:  # noqa: BLE001  (logging's own convention)
            self.handleError(record)


def configure_cli_logging(verbosity=0, quiet=False):
    """Show aalu_sk's log records as the ``aalu-sk`` command does.

    Parameters
    ----------
    verbosity : int, default=0
        0: INFO (a line per cycle and stage); 1 or more: DEBUG (also each
        task-model epoch and each query's details).
    quiet : bool, default=False
        Only warnings and errors.

    Returns
    -------
    level : int
        The level set on the ``aalu_sk`` logger.
    """
    logger = logging.getLogger("aalu_sk")
    for handler in list(logger.handlers):    # from an earlier call
        if isinstance(handler, _TqdmHandler):
            logger.removeHandler(handler)
    handler = _TqdmHandler()
    handler.setFormatter(_Formatter("%(asctime)s  %(message)s",
                                    datefmt="%H:%M:%S"))
    level = logging.WARNING if quiet else \
        logging.DEBUG if verbosity > 0 else logging.INFO
    logger.setLevel(level)
    logger.addHandler(handler)
    return level
