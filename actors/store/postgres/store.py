"""`PostgresStore`: the schedules of a group (the `Store` interface), its ids, and the
fencing of its writes; the other tables are its parts' (see `actors.store.postgres`)."""

from __future__ import annotations

import re
from typing import Any, Final

import psycopg

from actors.store.base import LoadResult, decode_rows
from actors.store.postgres.claims import ClaimsTable
from actors.store.postgres.commands import CommandsTable
from actors.store.postgres.group import GroupTables
from actors.store.record import StoredSchedule

__all__ = ["PostgresStore"]

#: "This member holds the partition of row {id} under an unexpired lease" (grp, partitions, member).
_HELD: Final = (
    "SELECT 1 FROM tickwork_partitions p WHERE p.grp = %s AND p.part = ({id} %% %s) "
    "AND p.owner = %s AND p.expires_at > now()"
)

_GROUP_RE: Final = re.compile(r"^[\w.:-]{1,100}$")


class PostgresStore(ClaimsTable, CommandsTable, GroupTables):
    """A `Store` in the PostgreSQL database at ``dsn``, shared by every scheduler on
    the same ``dsn`` and ``group`` (see `actors.store.postgres`).

    Args:
        dsn: a libpq connection string or URI (``postgresql://user@host/db``).
        group: which set of schedules (letters, digits, ``_ . : -``; at most 100).
        lease_ttl: seconds a process may go silent before others take its schedules
            over (kept for the multi-process coordinator; must be > 0).
        id_block: ids `next_id` reserves per round trip.
        connect_timeout: seconds to wait for the server when opening.
        partitions: how many leases the group's schedules are split into (schedule id
            modulo this); the same for every process of a group.
    """

    id_block = 1000
    #: Several processes share the store: the scheduler joins the group (`actors.cluster`).
    shared = True

    def __init__(
        self,
        dsn: str,
        *,
        group: str = "default",
        lease_ttl: float = 10.0,
        id_block: int = 1000,
        connect_timeout: float = 10.0,
        partitions: int = 32,
    ) -> None:
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
        if isinstance(partitions, bool) or not isinstance(partitions, int) or not 1 <= partitions <= 4096:
            raise ValueError(f"partitions must be an int from 1 to 4096, got {partitions!r}")
        if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, (int, float)) or connect_timeout <= 0:
            raise ValueError(f"connect_timeout must be a number of seconds > 0, got {connect_timeout!r}")
        super().__init__(dsn, group, partitions, connect_timeout)
        self.lease_ttl = float(lease_ttl)
        self.id_block = id_block
        #: Set by the cluster coordinator while it runs: this process's member name.
        #: Then updates and deletes of existing rows are fenced: they only apply to
        #: partitions this member holds under an unexpired lease (a zombie writes nothing).
        self.fence_member: str | None = None
        self._blk_next = 1  # the next id of the reserved block
        self._blk_end = 0  # its last id (0: none reserved yet)

    # ----------------------------------------------------------------- hooks
    def _acquire(self, owner: str) -> int:
        """Open the group (`PostgresBase._acquire`), reserving ids afresh."""
        high_water = super()._acquire(owner)
        self._blk_next, self._blk_end = 1, 0  # another process may have reserved since: ask again
        return high_water

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
            member = self.fence_member
            with conn.transaction(), conn.cursor() as cur:
                if puts and member is None:
                    cur.executemany(
                        "INSERT INTO tickwork_schedules (grp, id, data) VALUES (%s, %s, %s) "
                        "ON CONFLICT (grp, id) DO UPDATE SET data = EXCLUDED.data",
                        [(grp, sid, data) for sid, data in puts],
                    )
                elif puts:
                    cur.executemany(
                        "INSERT INTO tickwork_schedules (grp, id, data) VALUES (%s, %s, %s) "
                        "ON CONFLICT (grp, id) DO UPDATE SET data = EXCLUDED.data WHERE EXISTS ("
                        + _HELD.replace("{id}", "EXCLUDED.id")
                        + ")",
                        [(grp, sid, data, grp, self.partitions, member) for sid, data in puts],
                    )
                if deletes and member is None:
                    cur.execute("DELETE FROM tickwork_schedules WHERE grp = %s AND id = ANY(%s)", (grp, deletes))
                elif deletes:
                    cur.execute(
                        "DELETE FROM tickwork_schedules s WHERE s.grp = %s AND s.id = ANY(%s) AND EXISTS ("
                        + _HELD.replace("{id}", "s.id")
                        + ")",
                        (grp, deletes, grp, self.partitions, member),
                    )
                if high_water is not None:
                    cur.execute(
                        "UPDATE tickwork_meta SET high_water = greatest(high_water, %s) WHERE grp = %s",
                        (high_water, grp),
                    )
        except psycopg.Error as exc:
            raise self._error(f"writing {len(puts)} record(s) and deleting {len(deletes)}", exc) from None

    # ----------------------------------------------------------------- partitions
    def partition_of(self, sid: int) -> int:
        """The partition schedule ``sid`` belongs to."""
        return sid % self.partitions

    def load_partitions(self, parts: list[int]) -> LoadResult:
        """`load`, for the schedules of these partitions only."""
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                rows = self._conn.execute(
                    "SELECT id, data FROM tickwork_schedules WHERE grp = %s AND (id %% %s) = ANY(%s) ORDER BY id",
                    (self.group, self.partitions, parts),
                ).fetchall()
            except psycopg.Error as exc:
                raise self._error("reading", exc) from None
        return decode_rows([(rid, bytes(data)) for rid, data in rows])

    def load_one(self, sid: int) -> StoredSchedule | None:
        """The committed record of ``sid``, or None (missing or corrupt)."""
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                row = self._conn.execute(
                    "SELECT id, data FROM tickwork_schedules WHERE grp = %s AND id = %s", (self.group, sid)
                ).fetchone()
            except psycopg.Error as exc:
                raise self._error("reading", exc) from None
        if row is None:
            return None
        found = decode_rows([(row[0], bytes(row[1]))]).schedules
        return found[0] if found else None

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
