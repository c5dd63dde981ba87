"""`ClaimsTable`: the claims of firings in ``tickwork_claims`` (part of `PostgresStore`):
one fenced statement claims a batch, one records a batch as completed."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import psycopg

from actors.store.postgres.connection import PostgresBase

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["ClaimsTable"]


class ClaimsTable(PostgresBase):
    """The claims of the group's firings (the firing path: each call is one statement)."""

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
