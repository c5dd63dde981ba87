"""`LocalSchedules`: the group's schedules this process runs (see `actors.cluster`):
loaded when it takes their partition or is told of a new one, stopped when it loses it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka

from actors import persist
from actors.store.record import ACTIVE_STATUSES

if TYPE_CHECKING:
    from actors.cluster.commands import Commands
    from actors.runtime import Runtime
    from actors.store.postgres import PostgresStore
    from actors.store.record import StoredSchedule

__all__ = ["LocalSchedules"]

logger = logging.getLogger("tickwork")


class LocalSchedules:
    """Spawns stored schedules into the runtime ``rt`` and stops them again. ``lock`` is
    the scheduler's; ``commands`` applies the changes other processes asked for while
    nobody ran a schedule loaded here."""

    def __init__(
        self,
        store: PostgresStore,
        rt: Runtime,
        resolve: Callable[[str], Callable[..., Any] | None],
        lock: threading.RLock,
        commands: Commands,
    ) -> None:
        self.store = store
        self.rt = rt
        self.resolve = resolve
        self.lock = lock
        self.commands = commands
        self.parts = store.partitions

    def load_partitions(self, parts: list[int]) -> int:
        """Load the schedules of ``parts`` (just taken); returns how many were spawned."""
        found = self.store.load_partitions(parts)
        for rid, reason in found.corrupt:
            logger.error("tickwork: skipped corrupt stored schedule (row %s) in %s: %s", rid, self.store.location, reason)
        return self._spawn(found.schedules)

    def load(self, sids: list[int]) -> None:
        """Load these schedules (stored by another process) unless they run here already."""
        with self.lock:
            recs = [r for r in (self.store.load_one(sid) for sid in sids if sid not in self.rt.states) if r is not None]
            self._spawn(recs)

    def _spawn(self, recs: list[StoredSchedule]) -> int:
        rt = self.rt
        now = rt.now_us(True)
        n = 0
        cancelled = self.store.cancelled_among([r.id for r in recs if r.status in ACTIVE_STATUSES])
        for rec in recs:
            if rec.id in rt.states or rt.stopping:
                continue
            state = persist.from_record(rec, self.resolve, now)
            if rec.id in cancelled:
                state.cancelled = True  # cancelled by another process before its change was stored
            rt.states[state.id] = state
            rt.spawn(state)
            if rec.id in cancelled:
                rt.persist_now(state)
            n += 1
            if state.unresolved:
                logger.error("tickwork: stored schedule %s: %s", state.id, state.last_error)
        if recs:  # changes other processes asked for while nobody ran these
            self.commands.apply(self.store.pending_commands(sids=[r.id for r in recs]))
        return n

    def drop(self, parts: set[int]) -> None:
        """Stop running the schedules of ``parts`` here, without touching the store."""
        rt = self.rt
        with self.lock:
            for sid, s in list(rt.states.items()):
                if sid % self.parts not in parts or not s.durable:
                    continue
                with rt.lock_for(sid):
                    s.durable = False  # nothing more of it is written from here
                    s.cancelled = True  # and nothing more of it starts
                rt.states.pop(sid, None)
                rt.disarm(sid)
                try:
                    s.actor_ref.stop(block=False)
                except pykka.ActorDeadError:
                    pass
