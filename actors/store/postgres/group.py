"""`GroupTables`: the group's shared coordination rows (part of `PostgresStore`): its
members and their statistics, taking over the partition leases, the reconcile lock (an
advisory lock) and counters."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg

from actors.store.postgres.connection import PostgresBase

__all__ = ["GroupTables"]


class GroupTables(PostgresBase):
    """Members, leases, the reconcile lock and counters of the group."""

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
