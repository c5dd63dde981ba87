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

import contextlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from actors.store.base import LoadResult, Store, decode_rows
from actors.store.errors import StoreError
from actors.store.record import ACTIVE_STATUSES, StoredSchedule

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
    high_water bigint NOT NULL,
    partitions integer NOT NULL
);
CREATE TABLE IF NOT EXISTS tickwork_partitions (
    grp text NOT NULL,
    part integer NOT NULL,
    owner text,
    epoch bigint NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL DEFAULT '-infinity',
    PRIMARY KEY (grp, part)
);
CREATE TABLE IF NOT EXISTS tickwork_members (
    grp text NOT NULL,
    member text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (grp, member)
);
ALTER TABLE tickwork_members ADD COLUMN IF NOT EXISTS stats bytea;
CREATE TABLE IF NOT EXISTS tickwork_counters (
    grp text NOT NULL,
    key text NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (grp, key)
);
CREATE TABLE IF NOT EXISTS tickwork_commands (
    grp text NOT NULL,
    seq bigserial,
    sid bigint NOT NULL,
    op text NOT NULL,
    payload bytea NOT NULL,
    result boolean,
    done_at timestamptz,
    PRIMARY KEY (grp, seq)
);
CREATE TABLE IF NOT EXISTS tickwork_cancelled (
    grp text NOT NULL,
    sid bigint NOT NULL,
    PRIMARY KEY (grp, sid)
);
CREATE TABLE IF NOT EXISTS tickwork_claims (
    grp text NOT NULL,
    sid bigint NOT NULL,
    grid_us bigint NOT NULL,
    epoch bigint NOT NULL,
    attempt integer NOT NULL,
    member text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    done_at timestamptz,
    PRIMARY KEY (grp, sid, grid_us)
);
CREATE TABLE IF NOT EXISTS tickwork_schedules (
    grp text NOT NULL,
    id bigint NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (grp, id)
);
"""

#: "This member holds the partition of row {id} under an unexpired lease" (grp, partitions, member).
_HELD: Final = (
    "SELECT 1 FROM tickwork_partitions p WHERE p.grp = %s AND p.part = ({id} %% %s) "
    "AND p.owner = %s AND p.expires_at > now()"
)

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
        if isinstance(partitions, bool) or not isinstance(partitions, int) or not 1 <= partitions <= 4096:
            raise ValueError(f"partitions must be an int from 1 to 4096, got {partitions!r}")
        if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, (int, float)) or connect_timeout <= 0:
            raise ValueError(f"connect_timeout must be a number of seconds > 0, got {connect_timeout!r}")
        self.dsn = dsn
        self.group = group
        self.lease_ttl = float(lease_ttl)
        self.id_block = id_block
        self.partitions = partitions
        #: Set by the cluster coordinator while it runs: this process's member name.
        #: Then updates and deletes of existing rows are fenced: they only apply to
        #: partitions this member holds under an unexpired lease (a zombie writes nothing).
        self.fence_member: str | None = None
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
                    "INSERT INTO tickwork_meta (grp, schema_version, high_water, partitions) VALUES (%s, %s, 0, %s) "
                    "ON CONFLICT (grp) DO NOTHING",
                    (self.group, POSTGRES_SCHEMA_VERSION, self.partitions),
                )
                conn.execute(
                    "INSERT INTO tickwork_partitions (grp, part) SELECT %s, generate_series(0, %s - 1) "
                    "ON CONFLICT DO NOTHING",
                    (self.group, self.partitions),
                )
            row = conn.execute(
                "SELECT schema_version, high_water, partitions, "
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
        version, high_water, parts, top = row
        if version > POSTGRES_SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"schedule store {self.location} has schema version {version}, newer than this tickwork "
                f"understands ({POSTGRES_SCHEMA_VERSION}): upgrade tickwork, or use another group"
            )
        if parts != self.partitions:
            conn.close()
            raise StoreError(
                f"schedule store {self.location} has {parts} partitions, this store object {self.partitions}: "
                f"every process of a group must use the same partitions= (pass partitions={parts})"
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

    # ----------------------------------------------------------------- partitions and claims
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

    def claim(
        self, member: str, firings: list[tuple[int, int, int]], conn: Connection[Any] | None = None
    ) -> dict[tuple[int, int], tuple[int, int]]:
        """Claim ``(schedule id, grid point µs, epoch)`` firings for ``member`` in one
        statement; returns ``{(id, grid): (attempt, epoch)}`` for those it may run.

        Fenced: a claim only lands if ``member`` still holds the schedule's partition
        at that epoch under an unexpired lease. A firing already claimed at an older
        epoch and never completed is claimed again (attempt + 1); one completed, or
        claimed at this epoch already, is refused. ``conn``: a connection of the caller's
        own (then not under the store's lock), else the store's.
        """
        if not firings:
            return {}
        sids = [f[0] for f in firings]
        grids = [f[1] for f in firings]
        epochs = [f[2] for f in firings]
        with contextlib.nullcontext() if conn is not None else self._lock:
            self._require_open()
            use = conn if conn is not None else self._conn
            assert use is not None
            try:
                rows = use.execute(
                    "INSERT INTO tickwork_claims AS c (grp, sid, grid_us, epoch, attempt, member) "
                    "SELECT %(grp)s, f.sid, f.grid, f.epoch, 1, %(me)s "
                    "FROM unnest(%(sids)s::bigint[], %(grids)s::bigint[], %(epochs)s::bigint[]) AS f(sid, grid, epoch) "
                    "JOIN tickwork_partitions p ON p.grp = %(grp)s AND p.part = (f.sid %% %(parts)s) "
                    "AND p.owner = %(me)s AND p.epoch = f.epoch AND p.expires_at > now() "
                    "WHERE NOT EXISTS (SELECT 1 FROM tickwork_cancelled x WHERE x.grp = %(grp)s AND x.sid = f.sid) "
                    "ON CONFLICT (grp, sid, grid_us) DO UPDATE SET epoch = EXCLUDED.epoch, "
                    "attempt = c.attempt + 1, member = EXCLUDED.member, claimed_at = now() "
                    "WHERE c.done_at IS NULL AND c.epoch < EXCLUDED.epoch "
                    "RETURNING sid, grid_us, attempt, epoch",
                    {"grp": self.group, "me": member, "sids": sids, "grids": grids, "epochs": epochs,
                     "parts": self.partitions},
                ).fetchall()
            except psycopg.Error as exc:
                raise self._error(f"claiming {len(firings)} firing(s)", exc) from None
        return {(sid, grid): (attempt, epoch) for sid, grid, attempt, epoch in rows}

    def cancel_shared(self, sid: int, channel: str) -> tuple[int, str | None, int] | None:
        """Cancel ``sid`` for every process of the group; None if it was not stored and
        active (or cancelled already). In one transaction: a tombstone every claim checks
        from now on (no new firing of it is claimed), a ``cancel`` command for its owner
        (NOTIFYed on ``channel``) and a look at the lease of its partition. Returns
        ``(command number, owner, epoch)``, owner None if nobody held that lease: then
        nothing of it can start anywhere; else see `cancel_settled`."""
        with self._lock:
            self._require_open()
            conn = self._conn
            assert conn is not None
            grp = self.group
            try:
                with conn.transaction():
                    row = conn.execute(
                        "SELECT data FROM tickwork_schedules WHERE grp = %s AND id = %s FOR UPDATE", (grp, sid)
                    ).fetchone()
                    if row is None:
                        return None
                    found = decode_rows([(sid, bytes(row[0]))]).schedules
                    if not found or found[0].status not in ACTIVE_STATUSES:
                        return None
                    cur = conn.execute(
                        "INSERT INTO tickwork_cancelled (grp, sid) VALUES (%s, %s) ON CONFLICT DO NOTHING", (grp, sid)
                    )
                    if cur.rowcount == 0:
                        return None  # cancelled already
                    # FOR SHARE: a takeover of this partition commits before or after this, not meanwhile.
                    lease = conn.execute(
                        "SELECT owner, epoch FROM tickwork_partitions WHERE grp = %s AND part = %s "
                        "AND owner IS NOT NULL AND expires_at > now() FOR SHARE",
                        (grp, sid % self.partitions),
                    ).fetchone()
                    seq = conn.execute(
                        "INSERT INTO tickwork_commands (grp, sid, op, payload) VALUES (%s, %s, 'cancel', '') "
                        "RETURNING seq",
                        (grp, sid),
                    ).fetchone()
                    assert seq is not None
                    conn.execute("SELECT pg_notify(%s, %s)", (channel, f"m:{seq[0]}"))
            except psycopg.Error as exc:
                raise self._error(f"cancelling schedule {sid}", exc) from None
        if lease is None:
            return int(seq[0]), None, 0
        return int(seq[0]), str(lease[0]), int(lease[1])

    def cancel_settled(self, seq: int, sid: int, owner: str, epoch: int) -> bool:
        """True once nothing claimed before cancel command ``seq`` can start any more:
        ``owner`` answered it (it marked ``sid`` cancelled), or its lease of the partition
        at ``epoch`` ended (expired, released or taken over: fenced, it runs nothing more)."""
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                row = self._conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM tickwork_commands WHERE grp = %s AND seq = %s AND done_at IS NOT NULL) "
                    "OR NOT EXISTS (SELECT 1 FROM tickwork_partitions WHERE grp = %s AND part = %s AND owner = %s "
                    "AND epoch = %s AND expires_at > now())",
                    (self.group, seq, self.group, sid % self.partitions, owner, epoch),
                ).fetchone()
            except psycopg.Error as exc:
                raise self._error(f"reading the cancellation of schedule {sid}", exc) from None
        assert row is not None
        return bool(row[0])

    def cancelled_among(self, sids: list[int]) -> set[int]:
        """Which of ``sids`` were cancelled with `cancel_shared`."""
        if not sids:
            return set()
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                rows = self._conn.execute(
                    "SELECT sid FROM tickwork_cancelled WHERE grp = %s AND sid = ANY(%s)", (self.group, sids)
                ).fetchall()
            except psycopg.Error as exc:
                raise self._error("reading cancellations", exc) from None
        return {r[0] for r in rows}

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """The group's reconcile lock (a session advisory lock on a connection of its own,
        so it ends with the holder's process even if that is killed)."""
        self._require_open()
        conn = self._connect()
        try:
            try:
                conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"tickwork.exclusive:{self.group}",))
            except psycopg.Error as exc:
                raise self._error("taking the group's reconcile lock", exc) from None
            yield
        finally:
            conn.close()  # releases the lock

    def member_stats(self) -> dict[str, bytes]:
        """The statistics snapshot each live member of the group stored with its last
        heartbeat (member name -> MessagePack)."""
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                rows = self._conn.execute(
                    "SELECT member, stats FROM tickwork_members WHERE grp = %s AND expires_at > now() "
                    "AND stats IS NOT NULL",
                    (self.group,),
                ).fetchall()
            except psycopg.Error as exc:
                raise self._error("reading the group's statistics", exc) from None
        return {str(m): bytes(s) for m, s in rows}

    def take_over(self) -> None:
        """Make this (unopened) store its group's only member: clear every member row and
        partition lease of the group, so it takes all partitions at its first heartbeat.
        Only for a group with a single owner by construction (a Ray shard's): a live
        member of the group loses its partitions (fenced: their epochs move on)."""
        conn = self._connect()
        try:
            with conn.transaction():
                conn.execute(
                    "UPDATE tickwork_partitions SET owner = NULL, expires_at = '-infinity' WHERE grp = %s",
                    (self.group,),
                )
                conn.execute("DELETE FROM tickwork_members WHERE grp = %s", (self.group,))
        except psycopg.errors.UndefinedTable:
            pass  # a database never used by tickwork: nobody to take over from
        except psycopg.Error as exc:
            raise self._error("taking the group over", exc) from None
        finally:
            conn.close()

    def increment(self, key: str) -> int:
        """Add one to the group's counter ``key`` and return it (1 the first time): unique
        across every process of the group (``tickwork run`` numbers its sends with it)."""
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                row = self._conn.execute(
                    "INSERT INTO tickwork_counters AS c (grp, key, value) VALUES (%s, %s, 1) "
                    "ON CONFLICT (grp, key) DO UPDATE SET value = c.value + 1 RETURNING value",
                    (self.group, key),
                ).fetchone()
            except psycopg.Error as exc:
                raise self._error(f"counting {key!r}", exc) from None
        assert row is not None
        return int(row[0])

    # ----------------------------------------------------------------- commands (changes from non-owners)
    def submit_command(self, sid: int, op: str, payload: bytes, channel: str) -> int:
        """Queue a change of ``sid`` for its owner and NOTIFY ``channel`` (one transaction);
        returns the command's number for `command_result`."""
        with self._lock:
            self._require_open()
            conn = self._conn
            assert conn is not None
            try:
                with conn.transaction():
                    row = conn.execute(
                        "INSERT INTO tickwork_commands (grp, sid, op, payload) VALUES (%s, %s, %s, %s) RETURNING seq",
                        (self.group, sid, op, payload),
                    ).fetchone()
                    assert row is not None
                    conn.execute("SELECT pg_notify(%s, %s)", (channel, f"m:{row[0]}"))
            except psycopg.Error as exc:
                raise self._error(f"sending {op} of schedule {sid} to its owner", exc) from None
        return int(row[0])

    def command_result(self, seq: int) -> bool | None:
        """What the owner answered to command ``seq``; None while it is pending."""
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                row = self._conn.execute(
                    "SELECT result, done_at IS NOT NULL FROM tickwork_commands WHERE grp = %s AND seq = %s",
                    (self.group, seq),
                ).fetchone()
            except psycopg.Error as exc:
                raise self._error("reading a command's result", exc) from None
        return None if row is None or not row[1] else bool(row[0])

    def pending_commands(self, seq: int | None = None, sids: list[int] | None = None) -> list[tuple[int, int, str, bytes]]:
        """Commands not yet applied, by number: command ``seq``, or those of ``sids``."""
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                rows = self._conn.execute(
                    "SELECT seq, sid, op, payload FROM tickwork_commands WHERE grp = %s AND done_at IS NULL "
                    "AND (seq = %s OR sid = ANY(%s)) ORDER BY seq",
                    (self.group, seq, sids or []),
                ).fetchall()
            except psycopg.Error as exc:
                raise self._error("reading commands", exc) from None
        return [(a, b, c, bytes(d)) for a, b, c, d in rows]

    def finish_command(self, seq: int, result: bool) -> None:
        """Record the owner's answer to command ``seq``."""
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                self._conn.execute(
                    "UPDATE tickwork_commands SET result = %s, done_at = now() WHERE grp = %s AND seq = %s",
                    (result, self.group, seq),
                )
            except psycopg.Error as exc:
                raise self._error("recording a command's result", exc) from None

    def notify(self, channel: str, payload: str) -> None:
        """NOTIFY ``channel`` (the group's processes LISTEN on it)."""
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                self._conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))
            except psycopg.Error as exc:
                raise self._error("notifying the group", exc) from None

    def complete(self, firings: list[tuple[int, int, int]], conn: Connection[Any] | None = None) -> None:
        """Record ``(schedule id, grid point µs, epoch)`` claims as completed (one statement;
        ``conn`` as for `claim`)."""
        if not firings:
            return
        with contextlib.nullcontext() if conn is not None else self._lock:
            self._require_open()
            use = conn if conn is not None else self._conn
            assert use is not None
            try:
                use.execute(
                    "UPDATE tickwork_claims c SET done_at = now() "
                    "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS f(sid, grid, epoch) "
                    "WHERE c.grp = %s AND c.sid = f.sid AND c.grid_us = f.grid AND c.epoch = f.epoch",
                    ([f[0] for f in firings], [f[1] for f in firings], [f[2] for f in firings], self.group),
                )
            except psycopg.Error as exc:
                raise self._error(f"completing {len(firings)} firing(s)", exc) from None

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
