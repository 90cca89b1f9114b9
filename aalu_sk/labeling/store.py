"""The labeling project's SQLite store: the one source of truth.

Everything a labeling session knows lives in one SQLite file (WAL
journal, ``synchronous=FULL``): the indexed images, every label event,
the classes, the cycles of the loop and their batches. Each write is one
short transaction, committed before the caller returns, so a label the
server acknowledged survives a ``kill -9``. The schema is versioned in
``PRAGMA user_version`` and upgraded by explicit, ordered migrations.

Tables (schema version 2)
-------------------------
``meta(key, value)``
    ``token`` (the app's access token, random per store), ``image_dir``,
    ``created``, the image geometry of the pixel cache.
``images(path, sha256, bytes, mtime_ns, width, height, mode, status,
error, item)``
    One row per file found (``path`` relative to the image folder, POSIX
    separators). ``status`` is ``ok`` (shown), ``duplicate`` (same bytes
    as an ``ok`` file: shown once, through that file), ``unreadable``
    (listed, never shown) or ``missing`` (gone since an earlier index).
    ``item`` is the id the app uses: the first 16 hex digits of the
    content's SHA-256, shared by byte-identical files.
``classes(position, name, added_at)``
    In the order they were added; classes are never removed.
``labels(seq, item, action, label, who, at, source)``
    Every event, never updated or deleted: ``action`` is ``label`` (with
    ``label`` the class name), ``skip`` or ``undo`` (back to unlabeled).
    An item's state is its latest event; the history is all of them.
``cycles(cycle, strategy, status, label_seq, n_labeled, n_classes,
train_seconds, query_seconds, created_at, message, metrics)``
    One per batch chosen. ``label_seq`` is the last label event the
    model of that cycle was trained on; ``metrics`` is JSON (stop-set
    predictions, agreement, class counts, scores, ...).
``batch_items(cycle, rank, item, prediction, score, random)``
    The items of each batch in the order shown, with the model's guess.
    ``random`` is 1 for the *audit* items: drawn uniformly at random from
    the unanswered images (not by the strategy), kept out of training,
    and read by :mod:`.estimate` for an unbiased accuracy estimate.
``stop_set(item)``
    The fixed sample the stopping criterion reads.
"""

import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path

__all__ = ["LabelStore", "SCHEMA_VERSION", "StoreError", "default_store_path"]

_SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE images (
    path TEXT PRIMARY KEY,
    sha256 TEXT,
    bytes INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    mode TEXT,
    status TEXT NOT NULL
        CHECK (status IN ('ok', 'duplicate', 'unreadable', 'missing')),
    error TEXT,
    item TEXT
);
CREATE INDEX images_item ON images (item, status);
CREATE TABLE classes (
    position INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    added_at REAL NOT NULL
);
CREATE TABLE labels (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    item TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('label', 'skip', 'undo')),
    label TEXT,
    who TEXT NOT NULL,
    at REAL NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX labels_item ON labels (item, seq);
CREATE TABLE cycles (
    cycle INTEGER PRIMARY KEY,
    strategy TEXT NOT NULL,
    status TEXT NOT NULL,
    label_seq INTEGER NOT NULL,
    n_labeled INTEGER NOT NULL,
    n_classes INTEGER NOT NULL,
    train_seconds REAL,
    query_seconds REAL,
    created_at REAL NOT NULL,
    message TEXT,
    metrics TEXT NOT NULL
);
CREATE TABLE batch_items (
    cycle INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    item TEXT NOT NULL,
    prediction TEXT,
    score REAL,
    PRIMARY KEY (cycle, item)
);
CREATE TABLE stop_set (item TEXT PRIMARY KEY);
"""

# 1 -> 2: mark the uniformly random (audit) items of each batch.
_V1_TO_V2 = """
ALTER TABLE batch_items ADD COLUMN random INTEGER NOT NULL DEFAULT 0
"""

#: Ordered migrations: ``MIGRATIONS[k]`` upgrades schema ``k`` to ``k + 1``.
_MIGRATIONS = (_SCHEMA_V1, _V1_TO_V2)
#: The schema version this release writes.
SCHEMA_VERSION = len(_MIGRATIONS)

# The latest event of each item (a window over the append-only log).
_LATEST = """
SELECT item, action, label, seq FROM (
    SELECT item, action, label, seq,
           ROW_NUMBER() OVER (PARTITION BY item ORDER BY seq DESC) AS r
    FROM labels WHERE seq <= ?)
WHERE r = 1
"""


def default_store_path(image_dir):
    """Where ``aalu-sk label IMAGE_DIR`` keeps its store by default.

    ``$XDG_DATA_HOME/aalu_sk/labeling/<folder name>-<hash>.sqlite``
    (``XDG_DATA_HOME`` defaults to ``~/.local/share``), the hash being of
    the folder's absolute path: one store per folder, never inside it.
    """
    folder = Path(image_dir).resolve()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    return Path(base) / "aalu_sk" / "labeling" / \
        f"{folder.name or 'root'}-{digest}.sqlite"


class StoreError(RuntimeError):
    """The store file cannot be used (newer schema, other folder, ...)."""


class LabelStore:
    """A labeling project's SQLite file, safe to share between threads.

    Each thread gets its own connection; writes are single ``BEGIN
    IMMEDIATE`` transactions committed before the method returns.

    Parameters
    ----------
    path : str or path-like
        The database file; created (with its folder) when missing.

    Examples
    --------
    >>> import tempfile, os
    >>> from aalu_sk.labeling.store import LabelStore
    >>> store = LabelStore(os.path.join(tempfile.mkdtemp(), "labels.sqlite"))
    >>> store.add_class("cat")
    ['cat']
    >>> len(store.token) >= 32
    True
    """

    def __init__(self, path):
        self.path = Path(path)
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of {self.path} "
                             f"({exc.strerror or exc}); pass another "
                             f"--store.") from None
        self._migrate()
        if self.get_meta("token") is None:
            self.set_meta("token", secrets.token_urlsafe(24), overwrite=False)

    # -- connections and transactions -------------------------------------
    def connection(self):
        """This thread's connection (autocommit; see :meth:`transaction`)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30,
                                   isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def transaction(self):
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error)."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self):
        """Close this thread's connection (others close when collected)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _migrate(self):
        try:
            with self.transaction() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path} has schema version {version}, newer "
                        f"than this aalu_sk's {SCHEMA_VERSION}; upgrade "
                        f"aalu_sk to open it.")
                for step in range(version, SCHEMA_VERSION):
                    for statement in _MIGRATIONS[step].split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {step + 1}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable SQLite labeling "
                             f"store ({exc}); pass another --store.") from None

    @property
    def schema_version(self):
        """``PRAGMA user_version`` of the file."""
        return self.connection().execute("PRAGMA user_version").fetchone()[0]

    # -- meta ------------------------------------------------------------------
    def get_meta(self, key, default=None):
        row = self.connection().execute(
            "SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key, value, overwrite=True):
        verb = "INSERT OR REPLACE" if overwrite else "INSERT OR IGNORE"
        with self.transaction() as conn:
            conn.execute(f"{verb} INTO meta (key, value) VALUES (?, ?)",
                         (key, str(value)))

    @property
    def token(self):
        """The app's access token (random, made once per store)."""
        return self.get_meta("token")

    # -- images ----------------------------------------------------------------
    def images(self, status=None):
        """Rows of ``images`` as dicts, by path; optionally of one status."""
        sql = "SELECT * FROM images"
        args = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        return self._dicts(sql + " ORDER BY path", args)

    def replace_images(self, rows):
        """Write the result of an index in one transaction.

        Parameters
        ----------
        rows : list of dict
            Every file found, with the columns of ``images``. Known paths
            not in ``rows`` are marked ``missing`` (their labels stay).
        """
        columns = ("path", "sha256", "bytes", "mtime_ns", "width", "height",
                   "mode", "status", "error", "item")
        with self.transaction() as conn:
            conn.execute("UPDATE images SET status = 'missing'")
            conn.executemany(
                f"INSERT OR REPLACE INTO images ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                [tuple(row.get(c) for c in columns) for row in rows])

    def item_path(self, item):
        """Relative path of the file shown for ``item``, or None."""
        row = self.connection().execute(
            "SELECT path FROM images WHERE item = ? AND status = 'ok'",
            (item,)).fetchone()
        return None if row is None else row[0]

    # -- classes ---------------------------------------------------------------
    def classes(self):
        """Class names in the order they were added."""
        return [r[0] for r in self.connection().execute(
            "SELECT name FROM classes ORDER BY position")]

    def add_class(self, *names):
        """Append classes not yet known; return all class names."""
        with self.transaction() as conn:
            known = {r[0] for r in conn.execute("SELECT name FROM classes")}
            position = conn.execute(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM classes"
            ).fetchone()[0]
            for name in names:
                if name not in known:
                    conn.execute("INSERT INTO classes VALUES (?, ?, ?)",
                                 (position, name, time.time()))
                    known.add(name)
                    position += 1
        return self.classes()

    # -- label events ------------------------------------------------------------
    def add_event(self, item, action, label=None, who="", source="api"):
        """Append one label event; return its ``seq`` once committed."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO labels (item, action, label, who, at, source) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (item, action, label, who, time.time(), source))
            return cursor.lastrowid

    def add_events(self, events, source="import"):
        """Append many ``(item, action, label, who)`` events in one go."""
        now = time.time()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO labels (item, action, label, who, at, source) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(i, a, v, w, now, source) for i, a, v, w in events])

    def last_seq(self):
        """``seq`` of the latest label event (0 when there is none)."""
        return self.connection().execute(
            "SELECT COALESCE(MAX(seq), 0) FROM labels").fetchone()[0]

    def states(self, upto_seq=None):
        """Latest event of each item: ``{item: (action, label)}``."""
        upto = self.last_seq() if upto_seq is None else upto_seq
        return {r[0]: (r[1], r[2])
                for r in self.connection().execute(_LATEST, (upto,))}

    def labels(self, upto_seq=None):
        """Current label of each labeled item: ``{item: class name}``."""
        return {item: label for item, (action, label)
                in self.states(upto_seq).items() if action == "label"}

    def history(self, item):
        """Every event of ``item``, oldest first, as dicts."""
        return self._dicts("SELECT * FROM labels WHERE item = ? ORDER BY seq",
                           (item,))

    # -- cycles and batches ----------------------------------------------------
    def add_cycle(self, cycle, batch, drop_labeled_after=None):
        """Record a cycle and its batch in one transaction.

        Parameters
        ----------
        cycle : dict
            Columns of ``cycles`` (``metrics`` as a dict). ``cycle["cycle"]``
            must be the next number, else :class:`StoreError`.
        batch : list of dict
            ``item``, ``prediction``, ``score`` and ``random`` (bool,
            default False: an audit item), in the order shown.
        drop_labeled_after : int or None, default=None
            Leave out items with a ``label`` or ``skip`` event after this
            ``seq`` (they were answered while the batch was being chosen);
            the others keep their order.

        Returns
        -------
        items : list of str
            The items written.
        """
        with self.transaction() as conn:
            expected = conn.execute(
                "SELECT COALESCE(MAX(cycle) + 1, 0) FROM cycles").fetchone()[0]
            if cycle["cycle"] != expected:
                raise StoreError(f"cycle {cycle['cycle']} is not the next "
                                 f"one ({expected}); another worker wrote "
                                 f"it first.")
            answered = set()
            if drop_labeled_after is not None:
                answered = {r[0] for r in conn.execute(
                    _LATEST, (2 ** 62,)) if r[1] != "undo"
                    and r[3] > drop_labeled_after}
            row = dict(cycle, metrics=json.dumps(cycle.get("metrics", {})),
                       created_at=time.time())
            columns = ("cycle", "strategy", "status", "label_seq",
                       "n_labeled", "n_classes", "train_seconds",
                       "query_seconds", "created_at", "message", "metrics")
            conn.execute(f"INSERT INTO cycles ({', '.join(columns)}) VALUES "
                         f"({', '.join('?' * len(columns))})",
                         tuple(row.get(c) for c in columns))
            kept = [b for b in batch if b["item"] not in answered]
            conn.executemany(
                "INSERT INTO batch_items (cycle, rank, item, prediction, "
                "score, random) VALUES (?, ?, ?, ?, ?, ?)",
                [(cycle["cycle"], rank, b["item"], b.get("prediction"),
                  b.get("score"), int(bool(b.get("random"))))
                 for rank, b in enumerate(kept)])
        return [b["item"] for b in kept]

    def cycles(self):
        """Every cycle as a dict (``metrics`` parsed), oldest first."""
        rows = self._dicts("SELECT * FROM cycles ORDER BY cycle")
        for row in rows:
            row["metrics"] = json.loads(row["metrics"])
        return rows

    def batch_items(self, cycle=None):
        """Batch rows (all cycles, or one), by cycle then rank."""
        if cycle is None:
            return self._dicts("SELECT * FROM batch_items ORDER BY cycle, rank")
        return self._dicts("SELECT * FROM batch_items WHERE cycle = ? "
                           "ORDER BY rank", (cycle,))

    def audit_items(self):
        """Items drawn at random for the accuracy estimate (any cycle)."""
        return {r[0] for r in self.connection().execute(
            "SELECT item FROM batch_items WHERE random = 1")}

    def stop_set(self):
        """The stop set's items (sorted), empty until chosen."""
        return [r[0] for r in self.connection().execute(
            "SELECT item FROM stop_set ORDER BY item")]

    def set_stop_set(self, items):
        """Choose the stop set once; later calls leave it as it is."""
        with self.transaction() as conn:
            if conn.execute("SELECT COUNT(*) FROM stop_set").fetchone()[0]:
                return
            conn.executemany("INSERT INTO stop_set VALUES (?)",
                             [(i,) for i in items])

    # -- helpers ---------------------------------------------------------------
    def _dicts(self, sql, args=()):
        cursor = self.connection().execute(sql, args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor]
