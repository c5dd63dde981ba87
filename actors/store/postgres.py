"""`PostgresStore`: schedules in a PostgreSQL database shared by several processes.

Needs psycopg 3 (``pip install tickwork[postgres]``). One database holds any number of
*groups*; every row is keyed by its group, so schedulers on the same ``dsn`` and
``group`` share one set of schedules, and other groups are invisible to them.

Tables (created on first `open`, under an advisory lock so concurrent first opens do
not race): ``tickwork_meta(grp, schema_version, high_water)`` (the highest id ever
reserved in the group: ids are never reused, across processes too) and
``tickwork_schedules(grp, id, data)``: one MessagePack `StoredSchedule` per row.

Differences from the single-process stores (see `actors.store.base`):

* **Ownership.** ``open(owner)`` is exclusive per store *object* only: several
  processes (or objects) may open the same group at once; that is the point.
* **Ids.** `next_id` reserves ``id_block`` ids at a time with one atomic
  ``UPDATE ... RETURNING`` on the group's high-water mark, so two processes never get
  the same id; an id a caller chooses (``put``) raises the mark too.
* **Durability.** A write has committed on the server when it returns (durable as the
  server's ``synchronous_commit`` says; the default survives a server crash).

Thread-safety: one connection, used under the store's lock (as `SQLiteStore`).
Security: as for every store, rows are decoded with msgspec into plain Structs; nothing
stored is imported, unpickled or evaluated.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from actors.store.base import Store
from actors.store.errors import StoreError

try:
    import psycopg
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "PostgresStore needs psycopg 3: pip install 'tickwork[postgres]' (or pip install 'psycopg[binary]>=3.1')"
    ) from _exc

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["POSTGRES_SCHEMA_VERSION", "PostgresStore"]

#: The table layout this code creates and reads.
POSTGRES_SCHEMA_VERSION: Final = 1

#: The advisory lock key held while creating the tables (any constant; "tick" in ASCII).
_DDL_LOCK: Final = 0x7469636B

_DDL: Final = """
CREATE TABLE IF NOT EXISTS tickwork_meta (
    grp text PRIMARY KEY,
    schema_version integer NOT NULL,
    high_water bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS tickwork_schedules (
    grp text NOT NULL,
    id bigint NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (grp, id)
);
"""

_GROUP_RE: Final = re.compile(r"^[\w.:-]{1,100}$")


class PostgresStore(Store):
    """A `Store` in the PostgreSQL database at ``dsn``, shared by every scheduler on
    the same ``dsn`` and ``group`` (see the module docstring).

    Args:
        dsn: a libpq connection string or URI (``postgresql://user@host/db``).
        group: which set of schedules (letters, digits, ``_ . : -``; at most 100).
        lease_ttl: seconds a process may go silent before others take its schedules
            over (kept for the multi-process coordinator; must be > 0).
        id_block: ids `next_id` reserves per round trip.
        connect_timeout: seconds to wait for the server when opening.
    """

    id_block = 1000

    def __init__(
        self,
        dsn: str,
        *,
        group: str = "default",
        lease_ttl: float = 10.0,
        id_block: int = 1000,
        connect_timeout: float = 10.0,
    ) -> None:
        super().__init__()
        if not isinstance(dsn, str) or not dsn.strip():
            raise ValueError(f"dsn must be a non-empty PostgreSQL connection string, got {dsn!r}")
        if not isinstance(group, str) or not _GROUP_RE.match(group):
            raise ValueError(
                f"group must be 1-100 letters, digits or '_ . : -', got {group!r} (it names the shared schedules)"
            )
        if isinstance(lease_ttl, bool) or not isinstance(lease_ttl, (int, float)) or not lease_ttl > 0:
            raise ValueError(f"lease_ttl must be a number of seconds > 0, got {lease_ttl!r}")
        if isinstance(id_block, bool) or not isinstance(id_block, int) or id_block < 1:
            raise ValueError(f"id_block must be an int >= 1, got {id_block!r}")
        if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, (int, float)) or connect_timeout <= 0:
            raise ValueError(f"connect_timeout must be a number of seconds > 0, got {connect_timeout!r}")
        self.dsn = dsn
        self.group = group
        self.lease_ttl = float(lease_ttl)
        self.id_block = id_block
        self._connect_timeout = connect_timeout
        self._conn: Connection[Any] | None = None
        self._blk_next = 1  # the next id of the reserved block
        self._blk_end = 0  # its last id (0: none reserved yet)

    @property
    def location(self) -> str:
        return f"PostgreSQL {_redact(self.dsn)} group {self.group!r}"

    def __repr__(self) -> str:
        return f"<PostgresStore {_redact(self.dsn)!r} group={self.group!r} owner={self._owner!r}>"

    # ----------------------------------------------------------------- errors
    def _error(self, doing: str, exc: BaseException) -> StoreError:
        text = str(exc).strip()
        low = text.lower()
        hint = ""
        if "connection" in low or "server" in low or "timeout" in low or "socket" in low:
            hint = "; check that the PostgreSQL server is running and reachable at this dsn"
        elif "permission denied" in low or "authentication" in low or "password" in low:
            hint = "; the database user lacks rights: it needs CREATE on first use, then SELECT/INSERT/UPDATE/DELETE"
        elif "read-only" in low or "read only" in low:
            hint = "; the server is a read-only standby: point the dsn at the primary"
        return StoreError(f"schedule store {self.location}: {doing} failed: {text}{hint}")

    # ----------------------------------------------------------------- hooks
    def _connect(self) -> Connection[Any]:
        try:
            return psycopg.connect(self.dsn, autocommit=True, connect_timeout=max(1, round(self._connect_timeout)))
        except psycopg.Error as exc:
            raise self._error("connecting", exc) from None

    def _acquire(self, owner: str) -> int:
        conn = self._connect()
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
                conn.execute(_DDL)
                conn.execute(
                    "INSERT INTO tickwork_meta (grp, schema_version, high_water) VALUES (%s, %s, 0) "
                    "ON CONFLICT (grp) DO NOTHING",
                    (self.group, POSTGRES_SCHEMA_VERSION),
                )
            row = conn.execute(
                "SELECT schema_version, high_water, "
                "(SELECT coalesce(max(id), 0) FROM tickwork_schedules WHERE grp = %s) "
                "FROM tickwork_meta WHERE grp = %s",
                (self.group, self.group),
            ).fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise self._error("opening", exc) from None
        except BaseException:
            conn.close()
            raise
        assert row is not None
        version, high_water, top = row
        if version > POSTGRES_SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"schedule store {self.location} has schema version {version}, newer than this tickwork "
                f"understands ({POSTGRES_SCHEMA_VERSION}): upgrade tickwork, or use another group"
            )
        self._conn = conn
        self._blk_next, self._blk_end = 1, 0  # another process may have reserved since: ask again
        return int(max(high_water, top))

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def _rows(self) -> list[tuple[int, Any]]:
        assert self._conn is not None
        try:
            cur = self._conn.execute("SELECT id, data FROM tickwork_schedules WHERE grp = %s ORDER BY id", (self.group,))
            return [(rid, bytes(data)) for rid, data in cur.fetchall()]
        except psycopg.Error as exc:
            raise self._error("reading", exc) from None

    def _commit(self, puts: list[tuple[int, bytes]], deletes: list[int], high_water: int | None) -> None:
        conn = self._conn
        assert conn is not None
        grp = self.group
        try:
            with conn.transaction(), conn.cursor() as cur:
                if puts:
                    cur.executemany(
                        "INSERT INTO tickwork_schedules (grp, id, data) VALUES (%s, %s, %s) "
                        "ON CONFLICT (grp, id) DO UPDATE SET data = EXCLUDED.data",
                        [(grp, sid, data) for sid, data in puts],
                    )
                if deletes:
                    cur.execute("DELETE FROM tickwork_schedules WHERE grp = %s AND id = ANY(%s)", (grp, deletes))
                if high_water is not None:
                    cur.execute(
                        "UPDATE tickwork_meta SET high_water = greatest(high_water, %s) WHERE grp = %s",
                        (high_water, grp),
                    )
        except psycopg.Error as exc:
            raise self._error(f"writing {len(puts)} record(s) and deleting {len(deletes)}", exc) from None

    # ----------------------------------------------------------------- ids
    def next_id(self) -> int:
        """A new schedule id, unique across every process of the group (and never
        stored before). Reserves `id_block` ids per round trip to the server."""
        with self._lock:
            self._require_open()
            sid = max(self._next_id, self._blk_next)
            if sid > self._blk_end:
                conn = self._conn
                assert conn is not None
                try:
                    row = conn.execute(
                        "UPDATE tickwork_meta SET high_water = greatest(high_water, %s) + %s WHERE grp = %s "
                        "RETURNING high_water",
                        (self._next_id - 1, self.id_block, self.group),
                    ).fetchone()
                except psycopg.Error as exc:
                    raise self._error("reserving ids", exc) from None
                assert row is not None
                self._blk_end = int(row[0])
                sid = self._blk_end - self.id_block + 1
                self._reserved = max(self._reserved, self._blk_end)
            self._blk_next = sid + 1
            self._next_id = sid + 1
            return sid


def _redact(dsn: str) -> str:
    """``dsn`` without its password (for messages)."""
    dsn = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)
    return re.sub(r"(password\s*=\s*)(\S+)", r"\1***", dsn, flags=re.IGNORECASE)
