"""`Changes`: cancelling, pausing, resuming, rescheduling, updating and clearing schedules.

A change to a stored schedule is written first (`Changes._ask_and_store`, and
`cancel_schedule`): a `StoreError` then changes nothing. A schedule another process
of a shared store's group runs is changed by that process (`Changes._remote`; the
change travels as plain data, `actors.scheduler.remote`).
"""

from __future__ import annotations

import time
from typing import Any

import pykka

from actors import persist
from actors.messages import Pause, Resume, Update, _Plan
from actors.results import ScheduleStatus
from actors.scheduler import remote
from actors.scheduler.core import SchedulerCore
from actors.state import ScheduleState, as_args
from actors.store import StoredSchedule, check_encodable
from timekit import ScheduleAt

__all__ = ["Changes"]

_ASK_TIMEOUT = 30.0

#: The record fields a cancellation changes.
_CANCELLED: dict[str, Any] = {"status": ScheduleStatus.CANCELLED.value, "next_due_us": None}


def _moved_on(s: ScheduleState, rec: StoredSchedule) -> bool:
    """Whether ``s`` now differs from ``rec``, the record written ahead of a change."""
    return persist.to_record(s) != rec


class Changes(SchedulerCore):
    """Changing schedules: each public method returns whether anything changed."""

    def _ask(self, s: ScheduleState, message: Any) -> Any:
        """Ask a schedule's actor, riding out a restart by the supervisor."""
        self._refuse_if_stopped()
        deadline = time.monotonic() + _ASK_TIMEOUT
        while True:
            try:
                result = s.actor_ref.ask(message, timeout=max(0.01, deadline - time.monotonic()))
            except pykka.ActorDeadError:
                if self._stopped or time.monotonic() > deadline:
                    raise RuntimeError(f"schedule {s.id}'s actor is not running") from None
                time.sleep(0.001)  # being restarted by the supervisor
                continue
            if isinstance(result, Exception):
                raise result
            return result

    def _ask_and_store(self, s: ScheduleState, message: Any) -> bool:
        """Ask the actor for a change; for a stored schedule, write the record it will
        have first: a `StoreError` then changes nothing (in memory or in the store)."""
        rt = self._runtime()
        if not rt.stores(s):
            return bool(self._ask(s, message))
        changes = self._ask(s, _Plan(message))  # validated, nothing applied yet
        if changes is False:
            return False
        rec = persist.planned(s, changes)
        rt.persist_now(s, rec)  # durable before anything changes (or it raises)
        changed = bool(self._ask(s, message))
        if not changed or _moved_on(s, rec):
            rt.touch(s)  # it changed meanwhile (or jitter, a re-anchor): the store catches up
        return changed

    def cancel_schedule(self, schedule_id: int) -> bool:
        """Cancel a schedule. True if it was active; once True returns, the work never starts again.

        A stored schedule is written as cancelled first: if that raises `StoreError`,
        nothing changed (it is still active, here and in the store)."""
        s = self._state(schedule_id)
        if s is None:
            cluster = self._rt.cluster if self._rt is not None else None
            return False if cluster is None else cluster.cancel(schedule_id)  # another process runs it
        rt = self._runtime()
        rec = None
        if rt.stores(s):
            if not s.status.is_active:
                return False
            rec = persist.planned(s, _CANCELLED)
            rt.persist_now(s, rec)
        if not rt.mark_cancelled(s):
            if rec is not None:
                rt.touch(s)  # it ended meanwhile: store what it really is
            return False
        # The actor needs no message: every path it takes checks the cancelled
        # state (under the same lock as mark_cancelled); the clock lets go of
        # the deadline. Telling the actor Cancel() directly has the same effect.
        rt.disarm(s.id)
        if rec is None:
            rt.persist_now(s)
        elif _moved_on(s, rec):
            rt.touch(s)  # an execution was booked meanwhile: store its counters too
        return True

    def cancel_all(self) -> int:
        """Cancel every active schedule; returns how many were cancelled.

        RuntimeError after `stop` (as `cancel_schedule`)."""
        self._refuse_if_stopped()
        rt = self._rt
        if rt is None:
            return 0
        ids = [s.id for s in list(rt.states.values()) if s.status.is_active]
        return sum(self.cancel_schedule(i) for i in ids)

    def reschedule(self, schedule_id: int, when: Any) -> bool:
        """Give a schedule a new trigger (as `schedule`'s ``when``), re-anchored now."""
        trigger = ScheduleAt.coerce(when)
        s = self._state(schedule_id)
        if s is None:
            return self._remote(schedule_id, "reschedule", {"trigger": trigger.to_dict()})
        return self._ask_and_store(s, Update(trigger=trigger))

    def update(self, schedule_id: int, **changes: Any) -> bool:
        """Apply an `Update` (trigger=, interval=, args=, kwargs=, message=)."""
        s = self._state(schedule_id)
        if s is None:
            return self._remote(schedule_id, "update", remote.to_wire(changes))
        if "trigger" in changes and changes["trigger"] is not None:
            changes["trigger"] = ScheduleAt.coerce(changes["trigger"], "trigger")
        if changes.get("args") is not None:
            changes["args"] = as_args(changes["args"])
        if s.durable and ("args" in changes or "kwargs" in changes):
            check_encodable(changes.get("args") or (), changes.get("kwargs"))
        return self._ask_and_store(s, Update(**changes))

    def pause(self, schedule_id: int) -> bool:
        """Stop firing until `resume`; False if unknown or not pending/running."""
        s = self._state(schedule_id)
        return self._remote(schedule_id, "pause", {}) if s is None else self._ask_and_store(s, Pause())

    def resume(self, schedule_id: int) -> bool:
        """Resume a paused schedule at its next firing after now."""
        s = self._state(schedule_id)
        return self._remote(schedule_id, "resume", {}) if s is None else self._ask_and_store(s, Resume())

    def cancel_scheduled_message(self, schedule_id: int) -> bool:
        """Cancel a periodic message; False if unknown or already cancelled."""
        s = self._state(schedule_id)
        if s is None or s.kind != "message":
            return False
        return self.cancel_schedule(schedule_id)

    def cancel_all_scheduled_messages(self) -> int:
        """Cancel every periodic message; returns how many were cancelled."""
        rt = self._rt
        if rt is None:
            return 0
        ids = [s.id for s in list(rt.states.values()) if s.kind == "message" and s.status.is_active]
        return sum(self.cancel_schedule(i) for i in ids)

    def clear_completed_schedules(self) -> int:
        """Forget completed, failed and cancelled schedules; returns how many.

        RuntimeError after `stop`: the final state stays readable (`get_schedule`)."""
        self._refuse_if_stopped()
        rt = self._rt
        if rt is None:
            return 0
        with self._lock:
            done = [
                s for s in list(rt.states.values()) if not s.status.is_active and not s.running and not s.unresolved
            ]
            if rt.store is not None:
                rt.store.delete([s.id for s in done if s.durable])
            for s in done:
                rt.states.pop(s.id, None)
                try:
                    s.actor_ref.stop(block=False)
                except pykka.ActorDeadError:
                    pass
        return len(done)

    def _apply_remote(self, sid: int, op: str, args: dict[str, Any]) -> bool:
        """A change asked for by another process of the group, to a schedule run here."""
        if op == "pause":
            return self.pause(sid)
        if op == "resume":
            return self.resume(sid)
        if op == "reschedule":
            return self.reschedule(sid, ScheduleAt.from_dict(args["trigger"]))
        if op == "update":
            return self.update(sid, **remote.from_wire(args))
        raise ValueError(f"unknown change {op!r}")

    def _remote(self, sid: int, op: str, args: dict[str, Any]) -> bool:
        """``op`` on a schedule this process does not run: its owner applies it (False if
        no such schedule is stored)."""
        rt = self._rt
        cluster = None if rt is None else rt.cluster
        if cluster is None or cluster.record(sid) is None:
            return False
        return bool(cluster.command(sid, op, args, _ASK_TIMEOUT))

