"""`CommandsTable`: changes of schedules between the processes of a group (part of
`PostgresStore`): commands in ``tickwork_commands`` for the owner of a schedule, answered
there; cancels, which also leave a tombstone in ``tickwork_cancelled`` that every claim
checks; and the NOTIFYs that wake the owner."""

from __future__ import annotations

import psycopg

from actors.store.base import decode_rows
from actors.store.postgres.connection import PostgresBase
from actors.store.record import ACTIVE_STATUSES

__all__ = ["CommandsTable"]


class CommandsTable(PostgresBase):
    """Commands, cancels and notifications of the group."""

    # ----------------------------------------------------------------- commands
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

    def pending_commands(
        self, seq: int | None = None, sids: list[int] | None = None, partitions: list[int] | None = None
    ) -> list[tuple[int, int, str, bytes]]:
        """Commands not yet applied, by number: command ``seq``, those of ``sids``, or
        those of the schedules of ``partitions`` (one statement)."""
        with self._lock:
            self._require_open()
            assert self._conn is not None
            try:
                rows = self._conn.execute(
                    "SELECT seq, sid, op, payload FROM tickwork_commands WHERE grp = %s AND done_at IS NULL "
                    "AND (seq = %s OR sid = ANY(%s) OR (sid %% %s) = ANY(%s)) ORDER BY seq",
                    (self.group, seq, sids or [], self.partitions, partitions or []),
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

    # ----------------------------------------------------------------- cancels
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
