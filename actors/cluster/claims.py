"""`Claims`: this process's claims of firings in ``tickwork_claims`` (see `actors.cluster`).

Before a target runs, `Claims.claim` queues its firing ``(schedule id, grid point,
epoch)`` and waits; a claimer thread sends every claim queued meanwhile, and those of the
firings armed here and due within `AHEAD_US` (claimed ahead, kept until they are asked
for), in one fenced statement on a connection of its own. Completions are recorded the
same way, batched with the next claims.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from actors.firing import Firing
from actors.store.postgres.live import Reconnecting
from timekit import Timestamp

if TYPE_CHECKING:
    from psycopg import Connection

    from actors.runtime import Runtime
    from actors.state import ScheduleState
    from actors.store.postgres import PostgresStore

__all__ = ["AHEAD_US", "Claims"]

logger = logging.getLogger("tickwork")

#: Firings armed here and due within this many µs are claimed ahead, in one statement.
AHEAD_US = 10_000


class Arm(Protocol):
    """The runtime's ``arm``: fire schedule ``sid`` (at ``generation``) at ``due`` µs."""

    def __call__(self, sid: int, generation: int, due: int, wall: bool) -> None: ...


class _Claim:
    __slots__ = ("done", "epoch", "grid", "result", "sid")

    def __init__(self, sid: int, grid: int, epoch: int) -> None:
        self.sid = sid
        self.grid = grid
        self.epoch = epoch
        self.result: tuple[int, int] | None = None
        self.done = threading.Event()


class Claims:
    """The claims of this member of the group (see the module docstring).

    ``owned`` is the partition leases' ``partition -> (epoch, monotonic time until which
    this process trusts its lease)`` (read here, written by `actors.cluster.leases.Leases`);
    ``stopping`` is set when the member leaves the group.
    """

    def __init__(
        self,
        store: PostgresStore,
        rt: Runtime,
        member: str,
        owned: dict[int, tuple[int, float]],
        stopping: threading.Event,
    ) -> None:
        self.store = store
        self.rt = rt
        self.member = member
        self.owned = owned
        self.ttl = store.lease_ttl
        self.parts = store.partitions
        self._stopping = stopping
        self._cv = threading.Condition()
        self._claims: list[_Claim] = []
        self._completed: list[tuple[int, int, int]] = []
        #: The claimer's connection (opened when the member joins, reopened once dropped).
        self.live = Reconnecting(self._connect, "claims")
        #: Firings armed here, to claim ahead: (due µs, schedule id), a heap.
        self._upcoming: list[tuple[int, int]] = []
        #: Claimed ahead: (schedule id, grid µs) -> (attempt, epoch).
        self._ready: dict[tuple[int, int], tuple[int, int]] = {}
        self.ahead_hits = 0  # claims found claimed ahead (for the benchmark)

    def _connect(self) -> Connection[Any]:
        return self.store._connect()  # noqa: SLF001 - the store's own group machinery

    def claiming_ahead(self, arm: Arm) -> Arm:
        """``arm`` (the runtime's), also noting each firing armed, to claim it ahead."""
        cv, upcoming = self._cv, self._upcoming

        def arm_and_claim_ahead(sid: int, generation: int, due: int, wall: bool) -> None:
            arm(sid, generation, due, wall)
            with cv:
                heapq.heappush(upcoming, (due, sid))

        return arm_and_claim_ahead

    def claim(self, s: ScheduleState, grid: int) -> Firing | None:
        """Claim this firing before its target runs (blocks for one batched round trip);
        None if this process may not run it (not held, fenced, or already done)."""
        part = s.id % self.parts
        held = self.owned.get(part)
        if held is None or time.monotonic() >= held[1] or self._stopping.is_set():
            return None
        with self._cv:
            got = self._ready.pop((s.id, grid), None)
            if got is not None and got[1] != held[0]:
                got = None  # claimed ahead under an earlier lease of this partition: claim it again
            if got is None:
                req = _Claim(s.id, grid, held[0])
                self._claims.append(req)
                self._cv.notify()
            else:
                self.ahead_hits += 1
        if got is None:
            if not req.done.wait(self.ttl):
                return None
            got = req.result
        held = self.owned.get(part)
        if got is None or held is None or held[0] != got[1] or time.monotonic() >= held[1]:
            return None
        return Firing(s.id, Timestamp.from_micros(grid), got[0], got[1])

    def completed(self, firing: Firing) -> None:
        """Record that ``firing``'s target returned (batched with the next claims)."""
        with self._cv:
            self._completed.append((firing.schedule_id, firing.grid_point.micros, firing.epoch))
            self._cv.notify()

    def void(self, parts: set[int]) -> None:
        """What was claimed ahead under the leases of ``parts`` (lost) is void."""
        with self._cv:
            for key in [k for k in self._ready if k[0] % self.parts in parts]:
                del self._ready[key]

    def wake(self) -> None:
        """Wake the claimer thread (to see that the member is stopping)."""
        with self._cv:
            self._cv.notify_all()

    def run(self) -> None:
        """The claimer thread: claims in batches. Every firing armed here and due within
        `AHEAD_US` is claimed ahead, in one statement with the claims execution threads
        are waiting for. Returns once the member is stopping and no claim waits."""
        upcoming = self._upcoming
        while True:
            with self._cv:
                if not self._claims and not self._completed and not self._stopping.is_set():
                    self._cv.wait(AHEAD_US / 2e6)
                claims, self._claims = self._claims, []
                if not claims and self._stopping.is_set():
                    return
                horizon = self.rt.now_us(True) + AHEAD_US
                ahead: list[tuple[int, int]] = []
                while upcoming and upcoming[0][0] <= horizon:
                    due, sid = heapq.heappop(upcoming)
                    ahead.append((sid, due))
                if len(self._ready) > 100_000:  # claimed ahead, never run (cancelled, paused...)
                    self._ready.clear()
            asks = {(c.sid, c.grid): c.epoch for c in claims}  # one row per firing and statement
            for sid, due in ahead:
                held = self.owned.get(sid % self.parts)
                if held is not None:
                    asks.setdefault((sid, due), held[0])
            got: dict[tuple[int, int], tuple[int, int]] = {}
            if asks:
                try:
                    got = self.store.claim(self.member, [(k[0], k[1], e) for k, e in asks.items()], self.live.get())
                except Exception:  # the connection lost (logged once by `Reconnecting`) or another error
                    if not self.live.down:
                        logger.exception("tickwork: claiming %d firing(s) failed", len(asks))
            with self._cv:
                for c in claims:
                    # Refused as claimed already: maybe by the claim ahead an earlier statement made.
                    c.result = got.pop((c.sid, c.grid), None) or self._ready.pop((c.sid, c.grid), None)
                    c.done.set()
                self._ready.update(got)
            self.flush_completed()

    def flush_completed(self) -> None:
        """Record the completions noted since the last flush (one statement)."""
        with self._cv:
            done, self._completed = self._completed, []
        if done:
            try:
                self.store.complete(done, self.live.get())
            except Exception:  # as in `run`
                if not self.live.down:
                    logger.exception("tickwork: recording %d completion(s) failed", len(done))

    def close(self) -> None:
        """After the claimer thread ended: record the last completions, close the connection."""
        self.flush_completed()
        self.live.close()
