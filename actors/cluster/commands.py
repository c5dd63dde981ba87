"""`Commands`: changes of schedules between the processes of a group (see `actors.cluster`).

A process asks the one that runs a schedule to change it (pause, resume, reschedule,
update) through ``tickwork_commands`` and a NOTIFY, and waits for the answer; a cancel
also writes a tombstone (claims check it) and waits until the owner answered or its
lease ended. The owner applies what it is asked (`Commands.apply`) when NOTIFYed, and
reads what is still not done at each heartbeat (a NOTIFY missed). Records another
process runs are read as stored, tombstones applied.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from actors.store.record import ACTIVE_STATUSES, StoredSchedule

if TYPE_CHECKING:
    from actors.runtime import Runtime
    from actors.state import ScheduleState
    from actors.store.postgres import PostgresStore

__all__ = ["Commands"]

logger = logging.getLogger("tickwork")


class Commands:
    """Both ends of the group's commands for one member: `command` and `cancel` send,
    `apply` and `apply_cancel` answer those of schedules it runs (``owns(sid)``) in the
    runtime ``rt``. ``apply(sid, op, args)`` is the scheduler's (None: only cancels are
    applied); ``lock`` is the scheduler's; ``channel`` the group's NOTIFY channel."""

    def __init__(
        self,
        store: PostgresStore,
        rt: Runtime,
        lock: threading.RLock,
        owns: Callable[[int], bool],
        apply: Callable[[int, str, dict[str, Any]], bool] | None,
        channel: str,
    ) -> None:
        self.store = store
        self.rt = rt
        self.lock = lock
        self.owns = owns
        self.apply_change = apply
        self.channel = channel
        self.ttl = store.lease_ttl

    # ----------------------------------------------------------------- sending
    def command(self, sid: int, op: str, args: dict[str, Any], timeout: float) -> bool:
        """Ask the process that runs ``sid`` to apply ``op`` (pause, resume, reschedule,
        update) and wait for its answer: True once the change is applied and stored."""
        seq = self.store.submit_command(sid, op, msgspec.msgpack.encode(args), self.channel)
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            result = self.store.command_result(seq)
            if result is not None:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no process applied {op} of schedule {sid} within {timeout:.0f} s (is any scheduler of "
                    f"group {self.store.group!r} running?); it stays queued and is applied when one takes it over"
                )
            time.sleep(pause)
            pause = min(0.05, pause * 2)

    def cancel(self, sid: int) -> bool:
        """Cancel a schedule this process does not run: True once no process can start it
        any more. The tombstone stops new claims at once (`PostgresStore.cancel_shared`);
        this then waits until the owner answers that it marked it cancelled, or until the
        owner's lease ends (a dead or stopped owner: fenced, it starts nothing more) — within
        the lease, so at most ``lease_ttl``. TimeoutError if neither happened by then (the
        owner renews its lease but does not answer): the cancellation stays recorded."""
        got = self.store.cancel_shared(sid, self.channel)
        if got is None:
            return False
        seq, owner, epoch = got
        if owner is None:
            return True  # nobody held its lease: whoever takes it finds the tombstone
        deadline = time.monotonic() + self.ttl
        pause = 0.001
        while not self.store.cancel_settled(seq, sid, owner, epoch):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"schedule {sid} is cancelled (no new firing of it is claimed), but its owner {owner} neither "
                    f"confirmed within lease_ttl={self.ttl:g} s that nothing claimed before still starts, nor let "
                    "its lease go: it is alive but not answering"
                )
            time.sleep(pause)
            pause = min(0.005, pause * 2)
        return True

    # ----------------------------------------------------------------- reading
    def record(self, sid: int) -> StoredSchedule | None:
        """The stored record of a schedule another process runs."""
        rec = self.store.load_one(sid)
        return None if rec is None else self._with_tombstones([rec])[0]

    def records(self) -> list[StoredSchedule]:
        """Every stored record of the group."""
        return self._with_tombstones(self.store.load().schedules)

    def _with_tombstones(self, recs: list[StoredSchedule]) -> list[StoredSchedule]:
        """Records cancelled by `cancel` read as cancelled, before their owner stored it."""
        gone = self.store.cancelled_among([r.id for r in recs if r.status in ACTIVE_STATUSES])
        if not gone:
            return recs
        return [msgspec.structs.replace(r, status="cancelled", next_due_us=None) if r.id in gone else r for r in recs]

    # ----------------------------------------------------------------- answering
    def apply(self, commands: list[tuple[int, int, str, bytes]]) -> None:
        """Apply and answer the ``(seq, sid, op, payload)`` commands of schedules run here
        (others are left to their owner, maybe after a takeover)."""
        apply = self.apply_change
        for seq, sid, op, payload in commands:
            if not self.owns(sid):
                continue  # not run here: its owner (maybe after a takeover) applies it
            if op == "cancel":  # marked cancelled here before the answer: nothing of it starts after
                s = self._mark_cancelled(sid)
                self.store.finish_command(seq, True)
                if s is not None:
                    self._store_cancelled(s)
                continue
            if apply is None or sid not in self.rt.states:
                continue
            try:
                result = apply(sid, op, msgspec.msgpack.decode(payload))
            except Exception:
                logger.exception("tickwork: applying %s of schedule %s for another process failed", op, sid)
                result = False
            self.store.finish_command(seq, result)

    def refuse(self, commands: list[tuple[int, int, str, bytes]]) -> None:
        """Answer False to the ``(seq, sid, op, payload)`` changes of schedules of partitions
        held here that are not stored any more (a cancel of one is applied as usual)."""
        for seq, sid, op, _ in commands:
            if op != "cancel" and self.owns(sid) and sid not in self.rt.states:
                self.store.finish_command(seq, False)
        self.apply([c for c in commands if c[2] == "cancel"])

    def apply_cancel(self, sid: int) -> None:
        """Another process cancelled ``sid``: stop it here and store it cancelled. Once
        this returns nothing of it starts here (it is not loaded, or marked cancelled)."""
        s = self._mark_cancelled(sid)
        if s is not None:
            self._store_cancelled(s)

    def _mark_cancelled(self, sid: int) -> ScheduleState | None:
        """Mark ``sid`` cancelled here (nothing of it starts from now on); its state if
        this did it (to store), else None."""
        rt = self.rt
        with self.lock:
            s = rt.states.get(sid)
            if s is None or not rt.mark_cancelled(s):
                return None
            rt.disarm(sid)
            return s

    def _store_cancelled(self, s: ScheduleState) -> None:
        try:
            self.rt.persist_now(s)
        except Exception:  # the tombstone keeps it cancelled for every reader and loader
            logger.exception("tickwork: storing the cancellation of %s failed", s.id)
