"""`SQLiteStore`: schedules in one SQLite file (stdlib ``sqlite3``, WAL mode).

Layout: ``schedules(id INTEGER PRIMARY KEY, data BLOB)`` holds one MessagePack
`StoredSchedule` per row; ``meta(key TEXT PRIMARY KEY, value INTEGER)`` holds
``schema_version`` and ``high_water_id`` (the highest id ever reserved: ids are never
reused). Every write is one transaction: a failure (disk full, read-only file) raises
`StoreError` and leaves the previous contents intact.

Durability of a committed write (``put`` has returned, a ``batch`` has ended):

* ``synchronous="NORMAL"`` (default): survives the process crashing or being killed
  (the commit is in the WAL file, in the OS's cache), not an OS crash or power loss
  until the next checkpoint (SQLite's automatic ones, ``flush()``, ``close()``).
  A commit costs tens of microseconds.
* ``synchronous="FULL"``: survives power loss too (fsync at every commit), at the
  cost of an fsync per commit: batch writes (`Store.batch`, ``put_many``).

Ownership: ``open()`` takes an exclusive ``fcntl.flock`` on the sidecar file
``<path>.lock`` (created if needed, never deleted; it holds the owner's name, pid and
host for the error message). The OS releases it when the owning process exits in any
way, SIGKILL included, so a crash never blocks a restart. Notes: the lock is advisory
(tools like the ``sqlite3`` shell can still open the file); it is per open file, so two
store objects in one process exclude each other too; a child made by a bare
``os.fork()`` shares it until it exits (``subprocess`` children do not inherit it);
keep the store on a local filesystem (flock and WAL over NFS are unreliable). POSIX only.

Thread-safety: one connection (``check_same_thread=False``) used under the store's
lock; SQLite serializes writers anyway, and the runtime's writes are short.

Security: the file holds names and plain data; loading decodes MessagePack into
msgspec Structs and never imports, unpickles or evaluates anything.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from typing import Any, BinaryIO, Final

from actors.store.base import Store
from actors.store.errors import StoreError, StoreLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

#: The table layout this code creates and reads.
SCHEMA_VERSION: Final = 1

_SYNC_MODES: Final = ("NORMAL", "FULL")


class SQLiteStore(Store):
    """A `Store` in the SQLite file at ``path`` (created on `open`, with its directory
    required to exist). See the module docstring for durability and locking.

    Args:
        path: the database file.
        synchronous: "NORMAL" (durable against process crash) or "FULL" (against
            power loss too, one fsync per commit).
        id_block: ids `next_id` reserves per durable commit (gaps after a restart).
        busy_timeout: seconds SQLite waits for another connection (e.g. a shell
            reading the file) before a write fails.
    """

    id_block = 1000

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        id_block: int = 1000,
        busy_timeout: float = 5.0,
    ) -> None:
        super().__init__()
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"SQLiteStore needs a file path (str or os.PathLike), not {type(path).__name__} ({path!r})")
        path = os.fspath(path)
        if not isinstance(path, str) or not path or path == ":memory:":
            raise ValueError(f"SQLiteStore needs a file path, got {path!r} (use MemoryStore for memory)")
        if not isinstance(synchronous, str) or synchronous.upper() not in _SYNC_MODES:
            raise ValueError(f"synchronous must be one of {_SYNC_MODES}, got {synchronous!r}")
        if isinstance(id_block, bool) or not isinstance(id_block, int) or id_block < 1:
            raise ValueError(f"id_block must be an int >= 1, got {id_block!r}")
        self.path = os.path.abspath(path)
        self.lock_path = self.path + ".lock"
        self.synchronous = synchronous.upper()
        self.id_block = id_block
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, (int, float)):
            raise TypeError(f"busy_timeout must be a number of seconds, not {type(busy_timeout).__name__} ({busy_timeout!r})")
        if not 0 <= busy_timeout < float("inf"):  # NaN fails too
            raise ValueError(f"busy_timeout must be a finite number of seconds >= 0, got {busy_timeout!r}")
        self._busy_timeout = float(busy_timeout)
        self._conn: sqlite3.Connection | None = None
        self._lock_file: BinaryIO | None = None

    @property
    def location(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"<SQLiteStore {self.path!r} synchronous={self.synchronous} owner={self._owner!r}>"

    # ----------------------------------------------------------------- errors
    def _error(self, doing: str, exc: BaseException) -> StoreError:
        text = str(exc)
        low = text.lower()
        hint = ""
        if "full" in low:
            hint = "; free some disk space (or raise the size limit), then retry"
        elif "readonly" in low or "read-only" in low or "permission" in low or "access" in low:
            hint = "; the file or its directory is not writable: check permissions and the filesystem"
        elif "not a database" in low or "malformed" in low:
            hint = "; the file is not an intact tickwork store (restore it from a backup or move it away)"
        elif "locked" in low or "busy" in low:
            hint = "; another connection (not a scheduler: e.g. a sqlite3 shell) holds a write lock"
        return StoreError(f"schedule store {self.path}: {doing} failed: {text}{hint}")

    # ----------------------------------------------------------------- hooks
    def _acquire(self, owner: str) -> int:
        if fcntl is None:  # pragma: no cover
            raise StoreError(f"schedule store {self.path}: SQLiteStore needs POSIX fcntl.flock")
        try:
            lock_file: BinaryIO = open(self.lock_path, "a+b", buffering=0)  # noqa: SIM115 - held while open
        except OSError as exc:
            raise self._error(f"creating the lock file {self.lock_path}", exc) from None
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(lock_file)
            lock_file.close()
            raise StoreLockedError(
                f"schedule store {self.path} is in use by another scheduler ({holder}). Stop that scheduler "
                f"first, or give this one a different store path. (The lock is an OS lock on {self.lock_path}; "
                "it goes away by itself when the owning process exits, even if it is killed, so its holder "
                "is alive: do not delete the file.)"
            ) from None
        except OSError as exc:
            lock_file.close()
            raise self._error(f"locking {self.lock_path}", exc) from None
        try:
            lock_file.truncate(0)
            lock_file.write(
                f"owner {owner!r}, pid {os.getpid()} on {socket.gethostname()}, "
                f"since {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n".encode()
            )
        except OSError:
            pass  # only informational
        self._lock_file = lock_file
        try:
            return self._connect()
        except BaseException:
            self._release()
            raise

    def _connect(self) -> int:
        conn = None
        try:
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
            )
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"schedule store {self.path}: SQLite could not use WAL mode (journal_mode is {mode!r}); "
                    "put the store on a local filesystem"
                )
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS schedules (id INTEGER PRIMARY KEY, data BLOB)")
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?), ('high_water_id', 0)",
                (SCHEMA_VERSION,),
            )
            conn.execute("COMMIT")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            version = meta.get("schema_version")
            if not isinstance(version, int) or version > SCHEMA_VERSION:
                raise StoreError(
                    f"schedule store {self.path} has schema version {version!r}, newer than this tickwork "
                    f"understands ({SCHEMA_VERSION}): upgrade tickwork, or use another path"
                )
            high_water = meta.get("high_water_id")
            top = conn.execute("SELECT max(id) FROM schedules").fetchone()[0]
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise self._error("opening", exc) from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        self._conn = conn
        return max(high_water if isinstance(high_water, int) else 0, top or 0)

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()  # the last connection checkpoints and removes the WAL file
            except sqlite3.Error:
                pass
        lock_file, self._lock_file = self._lock_file, None
        if lock_file is not None:
            lock_file.close()  # releases the flock

    def _rows(self) -> list[tuple[int, Any]]:
        assert self._conn is not None
        try:
            return self._conn.execute("SELECT id, data FROM schedules ORDER BY id").fetchall()
        except sqlite3.Error as exc:
            raise self._error("reading", exc) from None

    def _commit(self, puts: list[tuple[int, bytes]], deletes: list[int], high_water: int | None) -> None:
        conn = self._conn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            if puts:
                conn.executemany("INSERT OR REPLACE INTO schedules (id, data) VALUES (?, ?)", puts)
            if deletes:
                conn.executemany("DELETE FROM schedules WHERE id = ?", [(sid,) for sid in deletes])
            if high_water is not None:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'high_water_id'", (high_water,))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if isinstance(exc, sqlite3.Error):
                raise self._error(f"writing {len(puts)} record(s) and deleting {len(deletes)}", exc) from None
            raise

    def _sync(self) -> None:
        assert self._conn is not None
        try:
            self._conn.execute("PRAGMA wal_checkpoint(FULL)").fetchall()
        except sqlite3.Error as exc:
            raise self._error("checkpointing", exc) from None


def _read_holder(f: BinaryIO) -> str:
    try:
        f.seek(0)
        text = f.read(500).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return f"held by {text}" if text else "holder unknown"
