"""`Cluster`: this process's membership in a `PostgresStore` group (see `actors.cluster`):
joining and leaving, the coordinator thread (heartbeats, and the NOTIFYs it LISTENs to
between them), wiring the parts each concern lives in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg

from actors.cluster.claims import Claims
from actors.cluster.commands import Commands
from actors.cluster.group_stats import GroupStats
from actors.cluster.leases import Leases
from actors.cluster.local import LocalSchedules
from actors.store.errors import StoreError
from actors.store.postgres.live import Reconnecting

if TYPE_CHECKING:
    from actors.firing import Firing
    from actors.runtime import Runtime
    from actors.state import ScheduleState
    from actors.store.postgres import PostgresStore
    from actors.store.record import StoredSchedule

__all__ = ["Cluster", "channel_of"]

logger = logging.getLogger("tickwork")


def channel_of(group: str) -> str:
    """The LISTEN/NOTIFY channel of a group (an identifier of at most 63 bytes)."""
    return "tickwork_" + hashlib.sha1(group.encode()).hexdigest()[:24]


class Cluster:
    """This process's membership in a `PostgresStore` group (see `actors.cluster`).

    Its parts: `leases` (heartbeat, partitions held), `claims` (of firings), `commands`
    (changes between processes), `local` (the schedules run here), `stats` (the group's).
    """

    #: Claim this firing before its target runs: `Claims.claim` itself (the firing path).
    claim: Callable[[ScheduleState, int], Firing | None]
    #: Record that a firing's target returned: `Claims.completed` itself (the firing path).
    completed: Callable[[Firing], None]

    def __init__(
        self,
        store: PostgresStore,
        rt: Runtime,
        resolve: Callable[[str], Callable[..., Any] | None],
        lock: threading.RLock,
        name: str,
        apply: Callable[[int, str, dict[str, Any]], bool] | None = None,
    ) -> None:
        self.store = store
        self.rt = rt
        self.resolve = resolve
        self.lock = lock  # the scheduler's: adding a schedule and taking its partition exclude each other
        self.name = name
        #: Applies a change another process asked for to a schedule run here (the scheduler's).
        self.apply = apply
        self.member = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.ttl = store.lease_ttl
        self.parts = store.partitions
        self.channel = channel_of(store.group)
        self._stopping = threading.Event()
        self.leases = Leases(store, self.member, lock, self._drop, self._load_partitions)
        #: partition -> (epoch, monotonic time until which this process trusts its lease)
        self.owned = self.leases.owned
        #: How long a lease lasts after its renewal; heartbeats come every ttl / 6.
        self.lease_s = self.leases.lease_s
        self.claims = Claims(store, rt, self.member, self.owned, self._stopping)
        self.claim = self.claims.claim  # bound here: no extra call per firing
        self.completed = self.claims.completed
        self.commands = Commands(store, rt, lock, self.leases.owns, apply, self.channel)
        self.local = LocalSchedules(store, rt, resolve, lock, self.commands)
        self.stats = GroupStats(store, rt, self.member)
        #: Heartbeats and LISTEN (reopened, and LISTENing again, once dropped).
        self._live = Reconnecting(self._listening, "group coordinator")
        self._threads: list[threading.Thread] = []

    @property
    def takeovers(self) -> int:
        """Partitions taken (for stats and tests)."""
        return self.leases.takeovers

    @property
    def ahead_hits(self) -> int:
        """Claims found claimed ahead (for the benchmark)."""
        return self.claims.ahead_hits

    # ----------------------------------------------------------------- life cycle
    def start(self) -> int:
        """Join the group: the first heartbeat (taking partitions) runs here. Returns how
        many schedules were loaded."""
        self._live.get()
        try:
            self.claims.live.get()
        except BaseException:
            self._live.close()
            raise
        self.rt.arm = self.claims.claiming_ahead(self.rt.arm)  # type: ignore[method-assign]  # only this runtime's
        self.store.fence_member = self.member
        loaded = self._beat()
        for target, label in ((self._coordinate, "coordinator"), (self.claims.run, "claimer")):
            t = threading.Thread(target=target, name=f"{self.name}-{label}", daemon=True)
            self._threads.append(t)
            t.start()
        return loaded

    def stop(self) -> None:
        """Leave the group: release every partition at once (the others take them at their
        next heartbeat) and stop the threads. Call after the last write."""
        self._stopping.set()
        self.claims.wake()
        for t in self._threads:
            t.join(max(5.0, self.ttl))
        self.claims.close()
        if self._live.conn is None:
            return
        try:
            self.leases.release(self._live.get())
        except (psycopg.Error, StoreError):  # the leases run out by themselves
            logger.warning("tickwork: could not release the partitions of %s (they expire in %ss)", self.member, self.ttl)
        finally:
            self._live.close()
            self.store.fence_member = None
            self.owned.clear()

    @property
    def _conn(self) -> psycopg.Connection[Any] | None:
        """The coordinator's current connection (None before joining or after leaving)."""
        return self._live.conn

    def _listening(self) -> psycopg.Connection[Any]:
        """A new coordinator connection, LISTENing to the group's channel (NOTIFYs missed
        meanwhile are caught up at the next heartbeat: `_catch_up`)."""
        conn = self.store._connect()  # noqa: SLF001 - the store's own group machinery
        try:
            conn.execute(f'LISTEN "{self.channel}"')
        except psycopg.Error as exc:
            conn.close()
            raise self.store._error("joining the group", exc) from None  # noqa: SLF001 - as above
        return conn

    # ----------------------------------------------------------------- ownership
    def owns(self, sid: int) -> bool:
        """True while this process holds the partition of schedule ``sid``."""
        return self.leases.owns(sid)

    def adopt_new(self, sid: int) -> bool:
        """A schedule just stored by this process: True if it runs here; otherwise the
        owner of its partition is told (NOTIFY) and loads it."""
        if self.leases.owns(sid):
            return True
        self.store.notify(self.channel, str(sid))
        return False

    def _beat(self) -> int:
        """One heartbeat (with this process's statistics). Returns how many schedules it loaded."""
        return self.leases.beat(self._live.get(), self.stats.snapshot())

    def _load_partitions(self, parts: list[int]) -> int:
        return self.local.load_partitions(parts)

    def _drop(self, parts: list[int]) -> None:
        """Partitions lost or released: what was claimed ahead under their leases is void,
        and their schedules stop running here."""
        gone = set(parts)
        self.claims.void(gone)
        self.local.drop(gone)

    # ----------------------------------------------------------------- the coordinator thread
    def _coordinate(self) -> None:
        period = self.ttl / 6
        next_beat = time.monotonic() + period
        while not self._stopping.is_set():
            wait = next_beat - time.monotonic()
            if wait > 0:
                self._listen(min(wait, 0.25))
                continue
            next_beat = time.monotonic() + period
            try:
                self._beat()
            except Exception:  # the connection lost (logged once by `Reconnecting`) or another error
                if not self._live.down:
                    logger.exception("tickwork: group heartbeat failed for %s", self.member)
            try:
                self._catch_up()
            except Exception:  # a store error: tried again at the next heartbeat
                if not self._live.down:  # not while the server is out of reach (logged once)
                    logger.exception("tickwork: reading the commands of %s failed", self.member)

    def _catch_up(self) -> None:
        """Apply the commands (and cancels) of the partitions held here that are not done
        yet: those whose NOTIFY was missed (the LISTEN connection dropped, or it came while
        reconnecting) are applied within a heartbeat. On the coordinator thread, like the
        NOTIFYs: `Commands.apply` answers each (``done_at``) before the next read.

        A schedule with a command that is not run here was stored by another process whose
        NOTIFY was missed too: it is loaded (which applies its commands); one still unknown
        then (removed) gets the answer False."""
        parts = sorted(self.owned)
        if not parts:
            return
        pending = self.store.pending_commands(partitions=parts)
        states = self.rt.states
        unknown = {sid for _, sid, _, _ in pending if sid not in states and self.leases.owns(sid)}
        if unknown and not self.rt.stopping:
            self.local.load(sorted(unknown))
            self.commands.refuse([c for c in pending if c[1] in unknown and c[1] not in states])
        self.commands.apply([c for c in pending if c[1] not in unknown])

    def _listen(self, seconds: float) -> None:
        try:
            conn = self._live.get()
            # Each one handled as it comes (not when the wait is over): a command's sender waits on it.
            for n in conn.notifies(timeout=seconds):
                try:
                    self._on_notify(n.payload)
                except Exception:  # a store error: the sender times out or it is retried at a takeover
                    logger.exception("tickwork: handling notification %r failed", n.payload)
        except (psycopg.Error, StoreError):  # dropped (reopened at the next use) or down: the heartbeat logs it
            self._stopping.wait(seconds)

    def _on_notify(self, payload: str) -> None:
        kind, _, num = payload.rpartition(":")
        if not num.isdigit():
            return
        sid = int(num)
        if kind == "c":
            self.commands.apply_cancel(sid)
        elif kind == "m":
            self.commands.apply(self.store.pending_commands(seq=sid))
        elif self.leases.owns(sid):
            self.local.load([sid])

    # ----------------------------------------------------------------- schedules other processes run
    def command(self, sid: int, op: str, args: dict[str, Any], timeout: float) -> bool:
        """Ask the process that runs ``sid`` to apply ``op`` (see `Commands.command`)."""
        return self.commands.command(sid, op, args, timeout)

    def cancel(self, sid: int) -> bool:
        """Cancel a schedule this process does not run (see `Commands.cancel`)."""
        return self.commands.cancel(sid)

    def record(self, sid: int) -> StoredSchedule | None:
        """The stored record of a schedule another process runs."""
        return self.commands.record(sid)

    def records(self) -> list[StoredSchedule]:
        """Every stored record of the group."""
        return self.commands.records()

    def group_stats(self, own: dict[str, Any]) -> dict[str, Any]:
        """The statistics of the whole group (see `GroupStats.total`)."""
        return self.stats.total(own)
