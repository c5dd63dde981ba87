"""`PostgresBase`: what every part of `PostgresStore` builds on: where the group is,
its one connection (opened with the tables, used under the store's lock, reopened on its
next use if the server dropped it) and the error messages."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import psycopg

from actors.store.base import Store
from actors.store.errors import StoreError
from actors.store.postgres.live import Reconnecting
from actors.store.postgres.schema import DDL, DDL_LOCK, POSTGRES_SCHEMA_VERSION

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["PostgresBase"]


class PostgresBase(Store):
    """The connection of a `PostgresStore` to group ``group`` at ``dsn`` (arguments
    already checked by `PostgresStore`): opening it (`_acquire`, which creates the
    tables), closing it, and the errors."""

    def __init__(self, dsn: str, group: str, partitions: int, connect_timeout: float) -> None:
        super().__init__()
        self.dsn = dsn
        self.group = group
        self.partitions = partitions
        self._connect_timeout = connect_timeout
        #: The store's connection while open (reopened once broken: see `_conn`).
        self._live: Reconnecting | None = None

    @property
    def _conn(self) -> Connection[Any] | None:
        """The store's connection while it is open (None when closed): reopened if the
        server dropped it (the statement that met the drop failed; this one may run)."""
        live = self._live
        if live is None:
            return None
        conn = live.conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        try:
            return live.get()
        except psycopg.Error as exc:
            raise self._error("reconnecting", exc) from None

    @property
    def location(self) -> str:
        return f"PostgreSQL {_redact(self.dsn)} group {self.group!r}"

    def __repr__(self) -> str:
        return f"<PostgresStore {_redact(self.dsn)!r} group={self.group!r} owner={self._owner!r}>"

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

    def _connect(self) -> Connection[Any]:
        try:
            return psycopg.connect(self.dsn, autocommit=True, connect_timeout=max(1, round(self._connect_timeout)))
        except psycopg.Error as exc:
            raise self._error("connecting", exc) from None

    def _acquire(self, owner: str) -> int:
        conn = self._connect()
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
                conn.execute(DDL)
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
        self._live = Reconnecting(self._connect, f"store ({self.location})", conn)
        return int(max(high_water, top))

    def _release(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.close()


def _redact(dsn: str) -> str:
    """``dsn`` without its password (for messages)."""
    dsn = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)
    return re.sub(r"(password\s*=\s*)(\S+)", r"\1***", dsn, flags=re.IGNORECASE)
