"""`Leases`: this member's row in ``tickwork_members`` and the partition leases it holds
in ``tickwork_partitions`` (see `actors.cluster`): one heartbeat renews them, releases
partitions beyond the fair share and takes free or expired ones up to it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from actors.store.postgres import PostgresStore

__all__ = ["LEASE_FRACTION", "Leases"]

#: A lease lasts this fraction of lease_ttl after its renewal (heartbeats every lease_ttl / 6):
#: a dead process's partitions are taken over within lease_ttl.
LEASE_FRACTION = 5 / 6


class Leases:
    """The partitions this member holds, kept by `beat` (called every ``lease_ttl / 6``).

    ``drop(parts)`` stops running the schedules of partitions lost or released here;
    ``load(parts)`` loads those of partitions just taken and returns how many (called
    under ``lock``, the scheduler's: adding a schedule and taking its partition exclude
    each other).
    """

    def __init__(
        self,
        store: PostgresStore,
        member: str,
        lock: threading.RLock,
        drop: Callable[[list[int]], None],
        load: Callable[[list[int]], int],
    ) -> None:
        self.store = store
        self.member = member
        self.lock = lock
        self.drop = drop
        self.load = load
        #: How long a lease lasts after its renewal; heartbeats come every lease_ttl / 6.
        self.lease_s = store.lease_ttl * LEASE_FRACTION
        self.parts = store.partitions
        #: partition -> (epoch, monotonic time until which this process trusts its lease)
        self.owned: dict[int, tuple[int, float]] = {}
        self.takeovers = 0  # partitions taken (for stats and tests)

    def owns(self, sid: int) -> bool:
        """True while this member holds the partition of schedule ``sid`` (locally trusted)."""
        held = self.owned.get(sid % self.parts)
        return held is not None and time.monotonic() < held[1]

    def beat(self, conn: psycopg.Connection[Any], stats: bytes | None) -> int:
        """One heartbeat on ``conn`` (storing ``stats``, if any, with the member row): renew,
        release, take. Returns how many schedules it loaded."""
        grp, me, ttl = self.store.group, self.member, self.lease_s
        t0 = time.monotonic()
        with conn.transaction():
            conn.execute(
                "INSERT INTO tickwork_members AS m (grp, member, expires_at, stats) "
                "VALUES (%s, %s, now() + make_interval(secs => %s), %s) "
                "ON CONFLICT (grp, member) DO UPDATE SET expires_at = EXCLUDED.expires_at, "
                "stats = coalesce(EXCLUDED.stats, m.stats)",
                (grp, me, ttl, stats),
            )
            conn.execute("DELETE FROM tickwork_members WHERE grp = %s AND expires_at < now()", (grp,))
            alive = conn.execute("SELECT count(*) FROM tickwork_members WHERE grp = %s", (grp,)).fetchone()[0]  # type: ignore[index]
            renewed = dict(
                conn.execute(
                    "UPDATE tickwork_partitions SET expires_at = now() + make_interval(secs => %s) "
                    "WHERE grp = %s AND owner = %s AND expires_at > now() RETURNING part, epoch",
                    (ttl, grp, me),
                ).fetchall()
            )
        lost = [p for p, (epoch, _) in self.owned.items() if renewed.get(p) != epoch]
        if lost:
            self._lose(lost)
        fair = math.ceil(self.parts / max(1, alive))
        valid = t0 + ttl
        for p, epoch in renewed.items():
            self.owned[p] = (epoch, valid)
        if len(renewed) > fair:
            extra = sorted(renewed)[fair:]
            self._lose(extra)
            conn.execute(
                "UPDATE tickwork_partitions SET owner = NULL, expires_at = '-infinity' "
                "WHERE grp = %s AND owner = %s AND part = ANY(%s)",
                (grp, me, extra),
            )
            return 0
        want = fair - len(renewed)
        return self._take(conn, want, valid) if want > 0 else 0

    def _take(self, conn: psycopg.Connection[Any], want: int, valid: float) -> int:
        """Take up to ``want`` free or expired partitions (bumping their epochs) and load
        their schedules; the new leases are trusted until ``valid``."""
        grp, me, ttl = self.store.group, self.member, self.lease_s
        taken = dict(
            conn.execute(
                "UPDATE tickwork_partitions SET owner = %s, epoch = epoch + 1, "
                "expires_at = now() + make_interval(secs => %s) "
                "WHERE grp = %s AND part IN (SELECT part FROM tickwork_partitions WHERE grp = %s "
                "AND (owner IS NULL OR expires_at < now()) ORDER BY part LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING part, epoch",
                (me, ttl, grp, grp, want),
            ).fetchall()
        )
        if not taken:
            return 0
        self.takeovers += len(taken)
        with self.lock:
            for p, epoch in taken.items():
                self.owned[p] = (epoch, valid)
            return self.load(sorted(taken))

    def _lose(self, parts: list[int]) -> None:
        """Stop holding ``parts`` here (without touching the store) and drop their schedules."""
        for p in parts:
            self.owned.pop(p, None)
        self.drop(parts)

    def release(self, conn: psycopg.Connection[Any]) -> None:
        """Leave the group on ``conn``: release every partition at once (the others take
        them at their next heartbeat) and delete the member row (one transaction)."""
        with conn.transaction():
            conn.execute(
                "UPDATE tickwork_partitions SET owner = NULL, expires_at = '-infinity' "
                "WHERE grp = %s AND owner = %s",
                (self.store.group, self.member),
            )
            conn.execute("DELETE FROM tickwork_members WHERE grp = %s AND member = %s", (self.store.group, self.member))
