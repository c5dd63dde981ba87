"""The schedule actor: one per schedule, on the shared dispatcher.

It receives `Tick`, `Update`, `Cancel`, `Pause`, `Resume` (and the runtime's own
`_Done`/`_Timeout`), hands the work to the execution pool, reports each result to
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
import random
import threading
from typing import TYPE_CHECKING, Any, Protocol

from actors.messages import Cancel, Pause, Resume, Tick, Update, _Done, _LeasedTick, _Plan, _Timeout
from actors.planning import plan, prepare_update, resume_to
from actors.pool import PooledActor
from actors.results import ScheduleStatus
from actors.state import ScheduleState
from timekit import Duration

if TYPE_CHECKING:
    from actors.activity import Activity
    from actors.leasing import Lease

__all__ = ["RestartedScheduleActor", "ScheduleActor", "ScheduleHost"]

logger = logging.getLogger("tickwork")

PENDING = ScheduleStatus.PENDING
RUNNING = ScheduleStatus.RUNNING
PAUSED = ScheduleStatus.PAUSED
CANCELLED = ScheduleStatus.CANCELLED
COMPLETED = ScheduleStatus.COMPLETED
FAILED = ScheduleStatus.FAILED

class ScheduleHost(Protocol):
    """What a schedule actor needs of its runtime."""

    #: Every tick, execution and booking holds a token until its last effect is visible.
    activity: Activity

    @property
    def stopping(self) -> bool:
        """stop() is under way: nothing new starts."""
        ...

    def now_us(self, wall: bool = True) -> int:
        """Now in µs: wall-clock time, or the monotonic timeline."""
        ...

    def arm(self, sid: int, generation: int, due: int, wall: bool) -> None:
        """Ask the clock for ``Tick(due, generation)``."""
        ...

    def disarm(self, sid: int) -> None: ...

    def rng_for(self, s: ScheduleState) -> random.Random:
        """The schedule's random source (jitter, retry backoff)."""
        ...

    def lock_for(self, sid: int) -> threading.Lock:
        """The lock that makes "cancelled" and "execution started" exclusive."""
        ...

    def mark_cancelled(self, s: ScheduleState) -> bool: ...

    def execute(self, s: ScheduleState, scheduled: int, generation: int, exec_no: int, lease: Lease | None) -> None:
        """Start an execution; its result comes back as a `_Done`."""
        ...

    def touch(self, s: ScheduleState) -> None:
        """``s`` changed: write it with the next batch if it is durable."""
        ...

    def record(self, sid: int, done: _Done, missed: int, attempt: int = 1) -> None:
        """Hand a finished execution to the supervisor (releases its token)."""
        ...

    def salvage(self, sid: int, envelopes: list[Any]) -> None:
        """The actor died: restart it with these unprocessed envelopes."""
        ...


class ScheduleActor(PooledActor):
    """Holds one schedule's state and runs its life cycle."""

    #: A new schedule has nothing to do until its first tick: no turn at start.
    eager_start = False
    _restart = False

    def __init__(self, state: ScheduleState, runtime: ScheduleHost) -> None:
        super().__init__()
        self.s = state
        self.rt = runtime
        state.actor = self

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
        if t is _LeasedTick:
            return self._tick(message, message.lease)
        if t is Tick:
            return self._tick(message, None)
        if t is _Done:
            return self._done(message)
        if t is Cancel:
            return self._stored(self._cancel())
        if t is Update:
            return self._stored(self._guarded(self._update, message))
        if t is Pause:
            return self._stored(self._pause())
        if t is Resume:
            return self._stored(self._resume())
        if t is _Timeout:
            return self._on_timeout(message)
        if t is _Plan:
            return self._guarded(self._plan, message.change)
        raise TypeError(f"schedule {self.s.id}: unknown message {message!r}")

    def _stored(self, changed: Any) -> Any:
        """A change told to the actor directly is stored too (with the supervisor's next
        batch; the `Scheduler` methods have written it already, before applying it)."""
        if changed is True:
            self.rt.touch(self.s)
        return changed

    def _guarded(self, fn: Any, message: Any) -> Any:
        # An invalid Update told (not asked) must not kill the actor: log and
        # return the error, which the facade re-raises for an ask.
        try:
            return fn(message)
        except (TypeError, ValueError) as exc:
            logger.warning("tickwork: schedule %s ignored %r: %s", self.s.id, message, exc)
            return exc

    def _arm(self, due: int) -> None:
        """Arm firing ``due`` (plus this schedule's random jitter, if it has one)."""
        s = self.s
        j = s.policy.jitter_us
        if j:
            due += self.rt.rng_for(s).randint(0, j)
        s.next_due_us = due
        self.rt.arm(s.id, s.generation, due, s.wall)

    def _tick(self, t: Tick | _LeasedTick, lease: Lease | None) -> None:
        s = self.s
        if (
            t.generation != s.generation
            or t.scheduled_us != s.next_due_us
            or s.cancelled
            or s._status not in (PENDING, RUNNING)  # noqa: SLF001
        ):
            # Stale (updated, paused, cancelled), a firing already served (a restarted
            # actor re-arms what may also be in flight) or a stray tell.
            self.rt.activity.done()
            return
        if s.running:
            # Overlap: keep one pending firing; it starts when the execution ends.
            if s.pending_us is not None:
                s.pending_missed += 1
            s.pending_us = t.scheduled_us
            self.rt.activity.done()
            return
        self._fire(t.scheduled_us, lease)  # the tick's token travels on

    def _fire(self, scheduled: int, lease: Lease | None) -> None:
        """Start the execution for firing ``scheduled`` (unless the misfire policy
        skips it) and arm the next one; ``lease``: the tick came from a leased
        thread, which runs the execution itself (`Execution.execute`)."""
        s = self.s
        rt = self.rt
        if rt.stopping:
            # stop() is under way: nothing new starts, and nothing changes (stop is
            # not cancel: a stored schedule keeps this firing as its next one).
            rt.activity.done()
            return
        trigger = s.trigger
        policy = s.policy
        now = max(rt.now_us(s.wall), s.last_end_us)
        missed = s.pending_missed
        if missed:
            s.pending_missed = 0
        nxt = trigger.next_fire_us(scheduled)
        if nxt is not None and nxt <= now:
            # Behind: later firings have passed too.
            if policy.misfire == "catch_up" and s.catch_up_run < policy.catch_up_limit:
                s.catch_up_run += 1  # run this one; the next (already due) follows it
            else:
                latest, count = trigger.coalesce(nxt, now)
                nxt = trigger.next_fire_us(latest)
                if policy.misfire == "skip":
                    self._skip(missed + count + 1, nxt)
                    return
                scheduled, missed = latest, missed + count  # coalesce: run once, for the latest
        else:
            if s.catch_up_run:
                s.catch_up_run = 0
        grace = policy.grace_us
        if grace is not None and now - scheduled > grace:
            self._skip(missed + 1, nxt)  # later than the grace period allows
            return
        s.missed_count += missed
        s.run_missed = missed
        s.run_attempt = s.attempt
        if nxt is not None:
            self._arm(nxt)
        else:
            s.next_due_us = None
        s.running = True
        s._status = RUNNING  # noqa: SLF001 - the setter, minus a call
        s.exec_no += 1
        rt.execute(s, scheduled, s.generation, s.exec_no, lease)

    def _skip(self, count: int, nxt: int | None) -> None:
        """Run nothing for this firing: count ``count`` missed, arm ``nxt``."""
        s = self.s
        s.missed_count += count
        if nxt is None:
            s.next_due_us = None
            if s.status is PENDING:
                s.status = COMPLETED
        else:
            self._arm(nxt)
        self.rt.touch(s)
        self.rt.activity.done()

    def _done(self, d: _Done) -> None:
        s = self.s
        rt = self.rt
        if d.exec_no != s.exec_no or not s.running:
            # An execution abandoned after its timeout: its result is discarded
            # (the timeout already released its token).
            return
        s.running = False
        if d.skipped:
            if s.status is RUNNING:
                s.status = PENDING if s.next_due_us is not None else COMPLETED
            rt.activity.done()
            self._start_pending()
            return
        self._finish(d)

    def _on_timeout(self, m: _Timeout) -> None:
        s = self.s
        if not s.running or m.exec_no != s.exec_no:
            return  # it finished in time
        s.running = False
        s.exec_no += 1  # abandon it: its late _Done is discarded
        now = self.rt.now_us(s.wall)
        started = s.run_started_us if s.run_started_us is not None else now
        limit = Duration(s.policy.timeout_us or 0)
        err = TimeoutError(f"schedule {s.id}: execution exceeded its timeout of {limit}; result discarded")
        self._finish(_Done(0, s.run_scheduled_us, started, now, False, None, err, False, m.exec_no))

    def _finish(self, d: _Done) -> None:
        """Book a finished (or timed-out) execution; retry a failure if the policy says so."""
        s = self.s
        rt = self.rt
        s.execution_count += 1
        s.last_us = d.started_us
        s.last_end_us = d.finished_us
        s.record_lateness(d.started_us - d.scheduled_us)
        retry = s.policy.retry
        retrying = False
        if d.ok:
            s.attempt = 1
        else:
            s.failure_count += 1
            s.last_error = d.error
            if retry is not None and s.attempt <= retry.attempts and s.status in (RUNNING, PENDING):
                due = d.finished_us + retry.delay_us(s.attempt, rt.rng_for(s))
                if s.next_due_us is None or due < s.next_due_us:
                    retrying = True
                    s.attempt += 1
                    s.retries += 1
                    s.generation += 1  # the regular firing is re-armed after the retry
                    s.pending_us = None
                    self._arm(due)
            if not retrying:
                s.attempt = 1
        if s._status is RUNNING and not s.cancelled:  # noqa: SLF001 - s.status, minus a call
            if s.next_due_us is None and s.pending_us is None:
                s._status = COMPLETED if d.ok else FAILED  # noqa: SLF001
            else:
                s._status = PENDING  # noqa: SLF001
        if s.durable:
            rt.touch(s)
        rt.record(s.id, d, s.run_missed, s.run_attempt)  # the token is released once recorded
        self._start_pending()

    def _start_pending(self) -> None:
        s = self.s
        pending = s.pending_us
        if pending is None:
            return
        s.pending_us = None
        if s._status is PENDING and not s.cancelled:  # noqa: SLF001
            self.rt.activity.add()
            self._fire(pending, None)

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
        nxt, status = resume_to(s, self.rt.now_us(s.wall))
        s.generation += 1
        s.next_due_us = nxt
        s.status = status
        if nxt is not None and status is not COMPLETED:
            self._arm(nxt)
        return True

    def _plan(self, change: Any) -> dict[str, Any] | bool:
        return plan(self.s, change, self.rt.now_us)

    def _update(self, u: Update) -> bool:
        s = self.s
        prepared = prepare_update(s, u, self.rt.now_us)
        if prepared is None:
            return False
        trigger, first, new_args, new_kwargs = prepared
        # Everything validated: apply.
        s.args, s.kwargs = new_args, new_kwargs
        if u.message is not None:
            s.set_message(u.message)
        if trigger is not None:
            s.trigger = trigger
            s.wall = not trigger.is_interval()
            s.generation += 1
            s.pending_us = None
            self.rt.disarm(s.id)
            s.next_due_us = first
            if first is not None and s.status in (PENDING, RUNNING):
                self._arm(first)
            elif s.status is PENDING:
                s.status = COMPLETED
        return True

class RestartedScheduleActor(ScheduleActor):
    """The replacement of a schedule actor that died: starts at once and re-arms."""

    eager_start = True
    _restart = True
