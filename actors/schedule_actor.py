"""The schedule actor: one per schedule, on the shared dispatcher.

It receives `Tick`, `Update`, `Cancel`, `Pause`, `Resume` (and the runtime's own
`_Done`/`_Rearm`), hands the work to the execution pool, reports each result to
the supervisor and re-arms with the trigger's next firing.

Firings are anchored on the trigger's grid, so lateness never accumulates into
drift.  The next firing is armed as soon as a firing starts (so the clock has it
well before it is due).  A schedule never overlaps itself: a tick that arrives
while its execution still runs is kept as one pending firing that starts when the
execution ends; and a firing that starts so late that later grid points have
passed runs once, for the latest of them, and counts the others as missed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any


from timekit import Duration, ScheduleAt

from actors.messages import Cancel, Pause, Resume, Tick, Update, _Done, _Rearm
from actors.pool import PooledActor
from actors.results import ScheduleStatus
from actors.state import ScheduleState

if TYPE_CHECKING:
    from actors.runtime import Runtime

__all__ = ["ScheduleActor", "coalesce"]

logger = logging.getLogger("tickwork")

PENDING = ScheduleStatus.PENDING
RUNNING = ScheduleStatus.RUNNING
PAUSED = ScheduleStatus.PAUSED
CANCELLED = ScheduleStatus.CANCELLED
COMPLETED = ScheduleStatus.COMPLETED
FAILED = ScheduleStatus.FAILED

#: Coalescing a calendar trigger walks its firings; past this many the rest of the
#: gap is skipped in one step (and still counted).
_COALESCE_WALK_LIMIT = 100_000


def coalesce(trigger: ScheduleAt, due: int, now: int) -> tuple[int, int]:
    """The latest firing in ``[due, now]`` and how many firings that range holds.

    ``due`` is a firing of ``trigger`` with ``due <= now``.
    """
    if trigger.is_interval():
        every = trigger.every.micros
        k = (now - due) // every
        return due + k * every, k + 1
    latest, count = due, 1
    while True:
        nxt = trigger.next_fire_us(latest)
        if nxt is None or nxt > now:
            return latest, count
        latest, count = nxt, count + 1
        if count >= _COALESCE_WALK_LIMIT:
            return latest, count


class ScheduleActor(PooledActor):
    """Holds one schedule's state and runs its life cycle."""

    def __init__(self, state: ScheduleState, runtime: Runtime, restart: bool) -> None:
        super().__init__()
        self.s = state
        self.rt = runtime
        self._restart = restart
        self.eager_start = restart  # a new schedule has nothing to do until its first tick
        state.actor_ref = self.actor_ref

    # -- life cycle -------------------------------------------------------------
    def on_start(self) -> None:
        """After a restart, re-arm the pending firing (the supervisor holds a token).

        A new schedule's first firing is armed by the runtime as it spawns us.
        """
        if not self._restart:
            return
        s = self.s
        try:
            if s.status is PENDING and not s.running and s.next_due_us is not None:
                self._arm(s.next_due_us)
        finally:
            self.rt.activity.done()

    def on_failure(self, exc_type: Any, exc_value: Any, tb: Any) -> None:
        """Hand the unprocessed mailbox to the supervisor so nothing is lost."""
        salvage = []
        inbox = self.actor_inbox
        while not inbox.empty():
            salvage.append(inbox.get())
        self.rt.salvage(self.s.id, salvage)

    # -- messages ---------------------------------------------------------------
    def on_receive(self, message: Any) -> Any:
        t = type(message)
        if t is Tick:
            return self._tick(message)
        if t is _Done:
            return self._done(message)
        if t is Cancel:
            return self._cancel()
        if t is Update:
            return self._guarded(self._update, message)
        if t is Pause:
            return self._pause()
        if t is Resume:
            return self._resume()
        if t is _Rearm:
            if self.s.status is PENDING and not self.s.running and self.s.next_due_us is not None:
                self._arm(self.s.next_due_us)
            return None
        raise TypeError(f"schedule {self.s.id}: unknown message {message!r}")

    def _guarded(self, fn: Any, message: Any) -> Any:
        # An invalid Update told (not asked) must not kill the actor: log and
        # return the error, which the facade re-raises for an ask.
        try:
            return fn(message)
        except (TypeError, ValueError) as exc:
            logger.warning("tickwork: schedule %s ignored %r: %s", self.s.id, message, exc)
            return exc

    def _arm(self, due: int) -> None:
        s = self.s
        s.next_due_us = due
        self.rt.arm(s.id, s.generation, due, s.wall)

    def _tick(self, t: Tick) -> None:
        s = self.s
        if t.generation != s.generation or s.status not in (PENDING, RUNNING):
            self.rt.activity.done()  # stale (updated, paused, cancelled) or a stray tell
            return
        if s.running:
            # Overlap: keep one pending firing; it starts when the execution ends.
            if s.pending_us is not None:
                s.pending_missed += 1
            s.pending_us = t.scheduled_us
            self.rt.activity.done()
            return
        self._fire(t.scheduled_us)  # the tick's token travels on

    def _fire(self, scheduled: int) -> None:
        """Start the execution for firing ``scheduled`` and arm the next one."""
        s = self.s
        rt = self.rt
        trigger = s.trigger
        now = max(rt.now_us(s.wall), s.last_end_us)
        missed = s.pending_missed
        s.pending_missed = 0
        nxt = trigger.next_fire_us(scheduled)
        if nxt is not None and nxt <= now:
            # So late that later firings have passed: run once, for the latest.
            scheduled, count = coalesce(trigger, nxt, now)
            missed += count
            nxt = trigger.next_fire_us(scheduled)
        s.missed_count += missed
        s.run_missed = missed
        s.next_due_us = nxt
        if nxt is not None:
            self._arm(nxt)
        s.running = True
        s.status = RUNNING
        rt.execute(s, scheduled, s.generation)

    def _done(self, d: _Done) -> None:
        s = self.s
        rt = self.rt
        s.running = False
        if d.skipped:
            if s.status is RUNNING:
                s.status = PENDING if s.next_due_us is not None else COMPLETED
            rt.activity.done()
            self._start_pending()
            return
        s.execution_count += 1
        s.last_us = d.started_us
        s.last_end_us = d.finished_us
        if not d.ok:
            s.failure_count += 1
            s.last_error = d.error
        s.record_lateness(d.started_us - d.scheduled_us)
        if s.status is RUNNING:
            if s.next_due_us is None and s.pending_us is None:
                s.status = COMPLETED if d.ok else FAILED
            else:
                s.status = PENDING
        rt.record(s.id, d, s.run_missed)  # the token is released once recorded and called back
        self._start_pending()

    def _start_pending(self) -> None:
        s = self.s
        pending = s.pending_us
        if pending is None:
            return
        s.pending_us = None
        if s.status is PENDING:
            self.rt.activity.add()
            self._fire(pending)

    def _cancel(self) -> bool:
        """Cancel (if the facade has not already) and let go of the deadline."""
        s = self.s
        changed = self.rt.mark_cancelled(s)
        s.next_due_us = None
        s.pending_us = None
        self.rt.disarm(s.id)
        return changed

    def _pause(self) -> bool:
        s = self.s
        with self.rt.lock_for(s.id):
            if s.status not in (PENDING, RUNNING):
                return False
            s.status = PAUSED
            s.generation += 1
        s.pending_us = None
        self.rt.disarm(s.id)
        return True

    def _resume(self) -> bool:
        s = self.s
        if s.status is not PAUSED:
            return False
        now = self.rt.now_us(s.wall)
        nxt = s.trigger.next_fire_us(now)
        if nxt is None and s.trigger.is_time() and s.execution_count == 0:
            nxt = now  # a one-shot paused past its time runs on resume
        s.generation += 1
        s.next_due_us = nxt
        if s.running:
            s.status = RUNNING
        elif nxt is None:
            s.status = COMPLETED
            return True
        else:
            s.status = PENDING
        if nxt is not None:
            self._arm(nxt)
        return True

    def _update(self, u: Update) -> bool:
        s = self.s
        if not s.status.is_active:
            return False
        rt = self.rt
        now = rt.now_us(True)
        trigger = s.trigger
        if u.trigger is not None:
            trigger = rt.to_trigger(u.trigger)
        if u.interval is not None:
            if not trigger.is_interval():
                raise ValueError(
                    f"schedule {s.id} is a {trigger.kind} schedule: pass trigger= (not interval=) to change it"
                )
            trigger = rt.to_trigger(Duration.from_seconds(u.interval) if isinstance(u.interval, int | float) else u.interval)
            if not trigger.is_interval():
                raise ValueError("interval= must be a positive duration")
        new_args = s.args if u.args is None else tuple(u.args)
        new_kwargs = s.kwargs if u.kwargs is None else dict(u.kwargs)
        if u.message is not None:
            rt.check_message(s, u.message)
        # Everything validated: apply.
        s.args, s.kwargs = new_args, new_kwargs
        if u.message is not None:
            rt.set_message(s, u.message)
        if u.trigger is not None or u.interval is not None:
            wall = not trigger.is_interval()
            base_now = now if wall else rt.now_us(False)
            first, trigger = rt.first_due(trigger, base_now)
            s.trigger = trigger
            s.wall = wall
            s.generation += 1
            s.pending_us = None
            rt.disarm(s.id)
            s.next_due_us = first
            if first is not None and s.status in (PENDING, RUNNING):
                self._arm(first)
            elif s.status is PENDING:
                s.status = COMPLETED
        return True

