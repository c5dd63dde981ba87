"""The runtime one `Scheduler` owns: its actors, pools, registry and the shared plumbing
the schedule actors call (arming deadlines, running work, recording results)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pykka

from actors.activity import Activity
from actors.clock_actor import FLUSH, STEP, ClockActor, arm, arm_timeout, disarm
from actors.executor import ExecutionPool
from actors.firing import _CURRENT, Firing
from actors.messages import Tick, _Done
from actors.persist import to_record
from actors.pool import Dispatcher, run_turn
from actors.results import ScheduleStatus
from actors.schedule_actor import RestartedScheduleActor, ScheduleActor
from actors.state import ScheduleState
from actors.store import Store, StoredSchedule
from actors.supervisor import DRAIN, STATS, SupervisorActor, _Died, _History, _Record, _Redeliver
from actors.timebase import Timebase
from timekit import Clock, Duration, ScheduleAt, SystemClock, Timestamp, VirtualClock

__all__ = ["Runtime", "to_trigger"]

logger = logging.getLogger("tickwork")

RUNNING = ScheduleStatus.RUNNING
_STRIPES = 64
#: How long a virtual-time step waits for the clock actor's answer (it only ever is slow).
_STEP_TIMEOUT = 60.0
#: Leases (runs of deadlines, see `ClockActor` and `Lessee`) out at a time, each
#: held by one execution thread: one serves the next 2 ms while the other is
#: still finishing the last; more would leave fewer threads for the rest.
MAX_LEASES = 2
#: When an execution on a leased thread has run this long (µs) while the next
#: deadline of its run is due, the clock takes back the rest of the run
#: (`Runtime.reclaim`): a long target delays the firings leased after it by about
#: this much at most.
RECLAIM_AFTER_US = 1_000
#: A leased thread napping longer than twice this (µs) wakes this much before the
#: deadline and naps the rest: a thread idle for a millisecond or more wakes
#: 50-150 µs late here (the CPU went idle), one that naps briefly far less.
NAP_MARGIN_US = 200


def to_trigger(when: Any) -> ScheduleAt:
    """What `Scheduler.schedule` accepts as ``when``, as a `ScheduleAt`.

    A ScheduleAt is used as is; a Timestamp or aware datetime fires once; a
    Duration, timedelta, number of seconds or duration text ("250ms") repeats.
    """
    if isinstance(when, ScheduleAt):
        return when
    if isinstance(when, Timestamp | datetime):
        return ScheduleAt.at_time(when)
    if isinstance(when, str):
        try:
            every = Duration.parse(when)
        except ValueError:
            raise ValueError(
                f"when={when!r} is not a duration; pass a ScheduleAt, Timestamp, aware datetime, "
                "Duration, timedelta or seconds"
            ) from None
        return ScheduleAt.at_interval(every)
    if isinstance(when, bool) or not isinstance(when, Duration | timedelta | int | float):
        raise TypeError(
            f"when must be a ScheduleAt, Timestamp, aware datetime, Duration, timedelta or seconds, "
            f"not {type(when).__name__}"
        )
    return ScheduleAt.at_interval(when)


class Runtime:
    """Everything one scheduler runs on. Created by `Scheduler.start`."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_concurrent_executions: int,
        dispatcher_threads: int,
        history_size: int,
        daemon: bool,
        loop: asyncio.AbstractEventLoop | None,
        name: str,
        store: Store | None = None,
        seed: int | None = None,
    ) -> None:
        self.clock = clock
        self.store = store
        self.seed = seed
        #: Durable schedules changed by their actors, written by the supervisor in batches.
        self.dirty: dict[int, ScheduleState] = {}
        self.store_frozen = False
        #: With a shared store: this process's `actors.cluster.Cluster` (claims firings).
        self.cluster: Any = None
        #: What the supervisor held when stop() finished with it (None before, or if it was gone).
        self.final_stats: dict[str, Any] | None = None
        self.final_history: list[Any] | None = None
        self.timebase = Timebase(clock)
        self.now_us = self.timebase.now_us  # type: ignore[method-assign]  # one call fewer per read
        self.activity = Activity()
        self.states: dict[int, ScheduleState] = {}
        self.stopping = False
        self.loop = loop
        self.execution_callbacks: tuple[Callable[..., Any], ...] = ()
        self.error_callbacks: tuple[Callable[..., Any], ...] = ()
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self.pool = ExecutionPool(max_concurrent_executions, name=f"{name}-exec", daemon=daemon)
        self.dispatcher = Dispatcher(dispatcher_threads, name=f"{name}-dispatch", daemon=daemon)
        self.dispatcher.start()
        self.pool.start()
        states = self.states

        def resolve(sid: int) -> pykka.ActorRef[Any] | None:
            st = states.get(sid)
            return None if st is None else st.actor  # the clock posts through actor_inbox

        #: An execution thread delivering a leased tick parks the execution here
        #: (``slot``) and runs it after the schedule actor's turn.
        self._here = threading.local()
        #: Results of executions that finished while others waited (see `_run`).
        self._later: deque[tuple[ScheduleState, _Done]] = deque()
        self._later_queued = False
        self._leases: list[_Lease] = []  # leases out (the clock thread's list)
        self.clock_ref = ClockActor.start(
            self.timebase,
            resolve,
            self.activity,
            name=f"{name}-clock",
            daemon=daemon,
            # Leased deadlines are slept on with the OS's monotonic timeouts: only
            # for the system clock (any other clock's time is its own business).
            lessee=self if type(clock) is SystemClock else None,
        )
        self._clock_actor: ClockActor = self.clock_ref._actor_weakref()  # type: ignore[assignment]  # noqa: SLF001
        waiter = self._clock_actor.waiter
        if self.timebase.virtual:
            # Virtual time moves one instant at a time: the clock actor is woken
            # whenever the previous instant's work has drained.
            self.activity.on_zero = waiter.wake
        self.supervisor_ref = SupervisorActor.start(self, history_size, name=f"{name}-supervisor", daemon=daemon)
        self._supervisor: SupervisorActor = self.supervisor_ref._actor_weakref()  # type: ignore[assignment]  # noqa: SLF001
        self._clock_post = self._clock_actor.actor_inbox.post  # type: ignore[attr-defined]
        self._sup_tell = self.supervisor_ref.tell
        #: Execution records wait here; the supervisor drains them in batches.
        self.records: deque[_Record] = deque()
        self.async_inflight: set[Any] = set()
        self.drain_requested = False
        #: Virtual time: the activity ``ops`` at which `settle` last found the work stalled.
        self._stalled_at = -1
        if isinstance(clock, VirtualClock):
            clock.attach(self)  # its advance() steps through our instants (see settle)

    # -- used by schedule actors ---------------------------------------------------
    def lock_for(self, sid: int) -> threading.Lock:
        """The lock that makes "cancelled" and "execution started" exclusive."""
        return self._stripes[sid % _STRIPES]

    def mark_cancelled(self, s: ScheduleState) -> bool:
        """Cancel ``s`` if it is active; True if this call did it. Once this returns
        True no execution of ``s`` starts (executions check under the same lock)."""
        with self._stripes[s.id % _STRIPES]:
            if not s.status.is_active:
                return False
            s.cancelled = True
            return True

    def now_us(self, wall: bool = True) -> int:
        return self.timebase.now_us(wall)

    def arm(self, sid: int, generation: int, due: int, wall: bool) -> None:
        self._clock_post(arm(sid, generation, due, wall))

    def disarm(self, sid: int) -> None:
        self._clock_post(disarm(sid))

    def to_trigger(self, when: Any) -> ScheduleAt:
        return to_trigger(when)

    def first_due(self, trigger: ScheduleAt, now: int) -> tuple[int, ScheduleAt]:
        """The first firing of a schedule created (or updated) at ``now``, and its
        trigger with an unanchored interval anchored at ``now``. ValueError for a
        trigger that would never fire (`ScheduleAt.first_fire_us`)."""
        first = trigger.first_fire_us(now)  # a time already past fires at once
        if trigger.is_interval() and trigger.start is None:
            trigger = trigger.anchored(Timestamp.from_micros(now))
        return first, trigger

    def check_message(self, s: ScheduleState, message: Any) -> None:
        encode = s.encode
        if s.kind != "message" or encode is None:
            raise TypeError(
                f"schedule {s.id} is not a periodic message: message= applies only to schedules "
                "made with schedule_message(); pass args/kwargs to change a function's arguments"
            )
        try:
            encode(message)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Cannot schedule invalid message: {exc}") from exc

    def set_message(self, s: ScheduleState, message: Any) -> None:
        s.message = message
        s.encoded = None if s.update_cb is not None else s.encode(message)  # type: ignore[misc]

    def rng_for(self, s: ScheduleState) -> random.Random:
        """The schedule's own random source (seeded per scheduler and id when the
        scheduler has a seed, so jitter is reproducible whatever the thread order)."""
        rng: random.Random | None = s.rng
        if rng is None:
            rng = s.rng = random.Random(f"{self.seed}:{s.id}") if self.seed is not None else random.Random()
        return rng

    def freeze_store(self) -> None:
        """Write what is pending, then stop writing (stop() must not store cancellations)."""
        self.write_dirty()
        self.store_frozen = True

    def touch(self, s: ScheduleState) -> None:
        """``s`` changed: if durable, write it with the supervisor's next batch."""
        if s.durable and not s.unresolved and self.store is not None and not self.store_frozen:
            self.dirty[s.id] = s
            if not self.drain_requested:
                self.drain_requested = True
                self._sup_tell(DRAIN)

    def stores(self, s: ScheduleState) -> bool:
        """Whether changes to ``s`` are written to the store (now)."""
        return s.durable and not s.unresolved and self.store is not None and not self.store_frozen

    def persist_now(self, s: ScheduleState, rec: StoredSchedule | None = None) -> None:
        """Write ``s`` now (durable when this returns); for acknowledged changes.
        ``rec``: the record to write instead of ``s`` as it is (one planned ahead of
        the change, see `persist.planned`). StoreError: nothing was written."""
        if s.durable and not s.unresolved and self.store is not None and not self.store_frozen:
            was = self.dirty.pop(s.id, None)
            try:
                self.store.put(to_record(s) if rec is None else rec)
            except BaseException:
                if was is not None:
                    self.touch(s)  # what was waiting to be written still is
                raise

    def write_dirty(self) -> None:
        """Write every changed durable schedule in one transaction (the supervisor's)."""
        store = self.store
        dirty = self.dirty
        if store is None or not dirty or self.store_frozen:
            return
        ids = list(dirty)
        try:
            with store.batch():
                for sid in ids:
                    st = dirty.pop(sid, None)
                    if st is not None:
                        store.put(to_record(st))
        except Exception:
            logger.exception("tickwork: writing %d schedule(s) to %s failed; will retry", len(ids), store.location)
            for sid in ids:
                st = self.states.get(sid)
                if st is not None:
                    dirty.setdefault(sid, st)

    def record(self, sid: int, done: _Done, missed: int, attempt: int = 1) -> None:
        """Hand one execution to the supervisor (batched: one message per drain)."""
        self.records.append(_Record(sid, done, missed, attempt))
        if not self.drain_requested:
            self.drain_requested = True
            self._sup_tell(DRAIN)

    def salvage(self, sid: int, envelopes: list[Any]) -> None:
        self._sup_tell(_Died(sid, envelopes, None))

    def spawn(self, state: ScheduleState) -> ScheduleActor:
        """Start the actor of a new schedule and arm its first firing."""
        actor = ScheduleActor.launch(state, self, dispatcher=self.dispatcher)
        due = state.next_due_us
        if state.status is ScheduleStatus.PENDING and due is not None:
            if state.policy.jitter_us:
                due += self.rng_for(state).randint(0, state.policy.jitter_us)
                state.next_due_us = due
            self.arm(state.id, state.generation, due, state.wall)
        return actor

    def respawn(self, state: ScheduleState) -> ScheduleActor:
        """Start a replacement actor for ``state``; its on_start re-arms what was pending."""
        self.activity.add()
        try:
            return RestartedScheduleActor.launch(state, self, dispatcher=self.dispatcher)
        except BaseException:
            self.activity.done()
            raise

    # -- leased deadlines (the clock's Lessee) -------------------------------------
    def spare(self) -> int:
        """Leases the clock may make now: at most `MAX_LEASES` out, each on an
        execution thread that is idle beyond the queued jobs and one in reserve."""
        if self.stopping:
            return 0
        room = min(MAX_LEASES - len(self._leases), self.pool.spare())
        return room if room > 0 else 0

    def lease(self, run: list[int]) -> None:
        lease = _Lease(self, run)
        try:
            self.pool.submit(lease)
        except RuntimeError:  # the pool stopped: the ticks are dropped with their tokens
            self.activity.done(len(run) // 3)
            return
        self._leases.append(lease)

    def reclaim(self, now: int) -> tuple[list[int], int | None]:
        leases = self._leases
        if not leases:
            return _NOTHING, None
        stolen: list[int] = []
        check: int | None = None
        for lease in leases[:]:
            run = lease.run
            i = lease.next
            if i >= len(run):
                leases.remove(lease)  # served (its thread may still finish the last one)
                continue
            if i == 0:
                i = 3  # the first deadline waits behind no execution: look from the second
                if i >= len(run):
                    continue  # a lone deadline: nothing can stall behind it
            since = lease.inline
            due = run[i + 1]
            # Stalled: an execution has run RECLAIM_AFTER_US while the next deadline
            # waits behind it (not merely behind: a thread serving a herd of quick
            # targets in order keeps its run).
            left = (due if since is None else max(due, since)) + RECLAIM_AFTER_US - now
            if left <= 0 and since is not None:
                with lease.lock:
                    i = lease.next
                    since = lease.inline
                    if since is not None and now - since >= RECLAIM_AFTER_US and i < len(run):
                        stolen += run[i:]
                        lease.next = len(run)
                if lease.next >= len(run):
                    leases.remove(lease)
                    continue
            if left <= 0:
                left = RECLAIM_AFTER_US  # late but moving (or waiting for the GIL): look again
            check = left if check is None or left < check else check
        return stolen, check

    def _leased(self, lease: _Lease) -> None:
        """On an execution thread: for each deadline of the lease in turn, sleep until
        it, deliver the tick, and run the execution it starts right here."""
        tb = self.timebase
        nap = self.pool.nap
        states = self.states
        here = self._here
        run = lease.run
        lock = lease.lock
        #: Results of executions run while behind, booked once caught up.
        later: list[tuple[ScheduleState, _Done]] = []
        try:
            while True:
                with lock:
                    i = lease.next
                    if i >= len(run):
                        return  # all served, or the clock took the rest back
                    lease.next = i + 3
                sid = run[i]
                deadline = run[i + 1]
                while True:
                    left = deadline - tb.timeline_us()
                    if left <= 0:
                        break
                    if left > 2 * NAP_MARGIN_US:
                        left -= NAP_MARGIN_US  # wake a little early, then nap the rest
                    if not nap(left / 1e6):
                        self.activity.done()  # stop() under way (the rest: below)
                        return
                st = states.get(sid)
                actor = None if st is None else st.actor
                here.slot = _ARMED
                try:
                    if actor is None:
                        raise pykka.ActorDeadError(sid)
                    mailbox = actor.actor_inbox
                    if mailbox.post(Tick(deadline, run[i + 2]), True):
                        run_turn(mailbox)  # the actor was idle: its turn runs here, and may park a job
                except pykka.ActorDeadError:
                    self.activity.done()  # the schedule is gone
                finally:
                    job = here.slot
                    here.slot = None
                if job is not _ARMED and job is not None:
                    # Behind (the next deadline has passed too): book this result
                    # after the next target has been called, not before.
                    now = tb.timeline_us()
                    behind = i + 4 < len(run) and run[i + 4] <= now
                    if behind:
                        here.later = later
                    lease.inline = now
                    try:
                        job()
                    finally:
                        lease.inline = None
                        if behind:
                            here.later = None
                if later and not (i + 4 < len(run) and run[i + 4] <= tb.timeline_us()):
                    self._book(later)  # caught up (or done): book what waited
        finally:
            with lock:
                rest = (len(run) - lease.next) // 3
                lease.next = len(run)
            if later:
                self._book(later)
            if rest:
                self.activity.done(rest)  # stopped: their ticks are dropped with their tokens

    # -- executions ------------------------------------------------------------------
    def execute(self, s: ScheduleState, scheduled: int, generation: int, exec_no: int) -> None:
        here = self._here
        if getattr(here, "slot", None) is _ARMED:
            here.slot = _Job(self, s, scheduled, generation, exec_no)  # run by _leased, next
            return
        try:
            self.pool.submit(_Job(self, s, scheduled, generation, exec_no))
        except RuntimeError:  # the pool stopped (stop() is under way): skipped, not lost
            self._deliver(s, _Done(generation, scheduled, 0, 0, True, None, None, True, exec_no))

    def _run(self, s: ScheduleState, scheduled: int, generation: int, exec_no: int) -> None:
        with self._stripes[s.id % _STRIPES]:
            # not cancelled, paused, or stopping (s.status without the property call)
            go = s._status is RUNNING and not s.cancelled and not self.stopping  # noqa: SLF001
        if not go:
            self._deliver(s, _Done(generation, scheduled, 0, 0, True, None, None, True, exec_no))
            return
        firing = None
        if self.cluster is not None and s.durable:
            # Shared store: claim the firing first (fenced); not ours to run, or done already: skipped.
            firing = self.cluster.claim(s, scheduled)
            if firing is not None:
                with self._stripes[s.id % _STRIPES]:  # cancelled (or paused) while it was claimed?
                    if s.cancelled or s._status is not RUNNING:  # noqa: SLF001
                        firing = None
            if firing is None:
                self._deliver(s, _Done(generation, scheduled, 0, 0, True, None, None, True, exec_no))
                return
        wall = s.wall
        # Never before the previous execution ended (matters in virtual time, where
        # a coalesced firing is delivered at its own, earlier, instant).
        started = max(self.now_us(wall), s.last_end_us)
        timeout = s.policy.timeout_us
        if timeout is not None:
            s.run_scheduled_us = scheduled  # what _on_timeout reports
            s.run_started_us = started
            self._clock_post(arm_timeout(s.id, exec_no, self.now_us(False) + timeout))
        if s.kind == "async":
            self._run_async(s, scheduled, generation, started, exec_no)
            return
        try:
            if firing is not None:
                value = self._run_claimed(s, firing)
            elif s.kind != "call":
                value = self._work(s)
            elif s.kwargs:
                value = s.fn(*s.args, **s.kwargs)  # type: ignore[misc]
            else:
                value = s.fn(*s.args)  # type: ignore[misc]  # no empty kwargs dict per call
            ok, error = True, None
        except BaseException as exc:  # noqa: BLE001  # user code: anything it raises is its result
            value, ok, error = None, False, exc
            logger.debug("tickwork: schedule %s raised %r", s.id, exc)
        finished = max(started, self.now_us(wall))
        done = _Done(generation, scheduled, started, finished, ok, value, error, False, exec_no)
        # Not with a timeout below: the booking must beat the timeout's tick.
        if timeout is None:
            later = self._here.__dict__.get("later")
            if later is not None:
                # A leased thread that is behind: it calls its next targets first
                # and books this result when it has a moment (see `_leased`).
                later.append((s, done))
                return
            if self.pool.backlog():
                # Executions are waiting: they start first, and this result is booked
                # by a job queued behind them (a herd of firings all due at once starts
                # sooner; nothing waits on a blocking target that is not already waiting).
                self._later.append((s, done))
                if not self._later_queued:
                    self._later_queued = True
                    try:
                        self.pool.submit(self._book_later)
                    except RuntimeError:  # the pool is stopping: book now
                        self._book_later()
                return
        self._deliver(s, done)

    def _run_claimed(self, s: ScheduleState, firing: Firing) -> Any:
        """Call a claimed firing's target with `current_firing` set, then record it completed."""
        token = _CURRENT.set(firing)
        try:
            return self._work(s)
        finally:
            _CURRENT.reset(token)
            self.cluster.completed(firing)

    def _book(self, results: list[tuple[ScheduleState, _Done]]) -> None:
        """Book ``results`` in order (a leased thread's deferred ones) and empty it."""
        for s, done in results:
            self._deliver(s, done)
        results.clear()

    def _book_later(self) -> None:
        """Book the results deferred by `_run` (a job of the execution pool)."""
        self._later_queued = False  # before taking: a result deferred later asks again
        pop = self._later.popleft
        while True:
            try:
                s, done = pop()
            except IndexError:  # empty (another thread may be booking the same batch)
                return
            self._deliver(s, done)

    def _work(self, s: ScheduleState) -> Any:
        if s.kind == "call":
            return s.fn(*s.args, **s.kwargs)  # type: ignore[misc]
        # A periodic message: update in place, re-encode, send.
        msg = s.message
        if s.update_cb is not None:
            try:
                s.update_cb(msg)
            except BaseException as exc:  # any, as a target's: reported as this send's failure
                raise UpdateCallbackError(f"update callback raised {exc!r}; this send was skipped") from exc
            data = s.encode(msg)  # type: ignore[misc]
        else:
            data = s.encoded
        s.send_cb(data)  # type: ignore[misc]
        return None

    def _run_async(self, s: ScheduleState, scheduled: int, generation: int, started: int, exec_no: int) -> None:
        wall = s.wall

        def finish(ok: bool, value: Any, error: BaseException | None) -> None:
            finished = max(started, self.now_us(wall))
            self._deliver(s, _Done(generation, scheduled, started, finished, ok, value, error, False, exec_no))

        try:
            coro = s.fn(*s.args, **s.kwargs)  # type: ignore[misc]
            fut = asyncio.run_coroutine_threadsafe(coro, s.loop)
        except BaseException as exc:  # noqa: BLE001  # user code (or a closed loop): the execution's result
            if "coro" in locals() and asyncio.iscoroutine(coro):
                coro.close()
            finish(False, None, exc)
            return

        self.async_inflight.add(fut)

        def done(f: Any) -> None:
            self.async_inflight.discard(f)
            if f.cancelled():
                finish(False, None, asyncio.CancelledError("the event loop cancelled the coroutine"))
                return
            exc = f.exception()
            finish(exc is None, None if exc is not None else f.result(), exc)

        fut.add_done_callback(done)

    def _deliver(self, s: ScheduleState, message: Any) -> None:
        try:
            mailbox = s.actor.actor_inbox
            if mailbox.post(message, True):
                run_turn(mailbox)  # the actor was idle: this thread books the result itself
        except pykka.ActorDeadError:
            if self.stopping:
                return  # an execution that outlived stop(): nobody is left to tell
            # Restarting: the supervisor parks it for the new actor.
            try:
                self._sup_tell(_Redeliver(s.id, message))
            except pykka.ActorDeadError:
                pass

    # -- facade helpers -------------------------------------------------------------
    def on_own_thread(self) -> bool:
        """True on one of this runtime's threads (execution pool, dispatcher, clock,
        supervisor): where a target or callback runs."""
        me = threading.current_thread()
        return (
            me in self.pool.threads
            or me in self.dispatcher.threads
            or me is self._clock_actor.thread
            or me is self._supervisor.thread
        )

    def flush(self, timeout: float | None) -> bool:
        return bool(self.clock_ref.ask(FLUSH, timeout=timeout))

    def wait_idle(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not self.activity.wait_zero(deadline):
                return False
            remaining = None if deadline is None else max(0.001, deadline - time.monotonic())
            try:
                if self.flush(remaining):
                    return True
            except pykka.Timeout:
                return False

    def settle(self) -> tuple[bool, int | None]:
        """`VirtualClock` participant: block until everything due at or before the
        clock's now has run and been recorded; ``(True, the next instant anything is
        armed for, or None)``.

        ``(False, None)`` when it cannot wait: called on one of our own threads (a
        target or callback advancing the clock) or on a thread running an event loop
        (coroutine targets may need it), or the work in flight has made no progress
        for the clock's ``stall_timeout`` (a target blocked on the caller), and at
        once while it is still stuck there. The clock then moves straight on, and
        what comes due meanwhile runs late, as in real time."""
        if self.stopping:
            return True, None
        if self.on_own_thread() or _on_event_loop():
            return False, None
        patience: float = self.clock.stall_timeout  # type: ignore[attr-defined]
        activity = self.activity
        while True:
            mark = activity.ops
            if mark == self._stalled_at and activity.count:
                return False, None  # still stuck where it was the last time
            if not activity.wait_zero(time.monotonic() + patience):
                if activity.ops == mark:
                    self._stalled_at = mark
                    return False, None
                continue  # busy but moving
            if self.stopping:
                return True, None
            try:
                # The clock actor runs no user code, so it is slow (thousands of arms to
                # apply, a loaded machine), never stuck: no stall timeout for it.
                idle, nxt = self.clock_ref.ask(STEP, timeout=_STEP_TIMEOUT)
            except pykka.Timeout:
                return False, None
            except pykka.ActorDeadError:
                return True, None  # stopped meanwhile
            if idle:
                return True, nxt

    def stats(self) -> dict[str, Any]:
        return self._ask_supervisor(STATS)  # type: ignore[no-any-return]

    def history(self, limit: int | None) -> list[Any]:
        return self._ask_supervisor(_History(limit))  # type: ignore[no-any-return]

    def _ask_supervisor(self, message: Any) -> Any:
        if threading.current_thread() is self._supervisor.thread:
            # A callback the supervisor runs itself (during stop): asking would wait on ourselves.
            return self._supervisor.on_receive(message)
        return self.supervisor_ref.ask(message)

    def shutdown(self, timeout: float) -> bool:
        """Stop firing, let executions in flight finish and be booked (and stored),
        then stop every actor and thread; True if all of it took under ``timeout``.

        Stopping is not cancelling: durable schedules stay in the store as they are.
        """
        self.stopping = True  # executions not yet started are skipped from now on
        if isinstance(self.clock, VirtualClock):
            self.clock.detach(self)
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.01, deadline - time.monotonic())

        ok = True
        inflight = list(self.async_inflight)
        if inflight:
            # Coroutines running on their event loop finish, as threaded targets do;
            # those still running at the timeout are cancelled. Not waited for when
            # stop() was called on an event loop's own thread (they could not progress).
            try:
                asyncio.get_running_loop()
                on_loop = True
            except RuntimeError:
                on_loop = False
            if not on_loop:
                _, running = concurrent.futures.wait(inflight, timeout=max(0.0, deadline - time.monotonic()))
                ok = not running
            for fut in inflight:
                fut.cancel()  # no-op for those that finished
        try:
            self.clock_ref.stop(block=True, timeout=left())  # no more ticks
        except pykka.Timeout:
            ok = False
        ok = self.pool.shutdown(timeout=left()) and ok  # running executions finish
        ok = self.activity.wait_zero(time.monotonic() + left()) and ok  # ...and are booked
        try:
            self.final_history = self.history(None)
            self.final_stats = self.stats()
        except Exception:  # noqa: BLE001 - the supervisor may be gone already
            pass
        self.freeze_store()  # written once more, then nothing (stop is not cancel)
        for st in list(self.states.values()):
            self.mark_cancelled(st)
        ok = self.dispatcher.shutdown(timeout=left()) and ok
        try:
            self.supervisor_ref.stop(block=True, timeout=left())
        except pykka.Timeout:
            ok = False
        ok = self._clock_actor.join(left()) and ok
        ok = self._supervisor.join(left()) and ok
        if self.cluster is not None:
            self.cluster.stop()  # after the last write: the others take its partitions over now
        if self.store is not None:
            try:
                self.store.flush()
            except Exception:
                logger.exception("tickwork: final flush of %s failed", self.store.location)
            finally:
                self.store.close()
        return ok


def _on_event_loop() -> bool:
    """True on a thread that is running an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Job(msgspec.Struct, gc=False):
    """One execution, as the pool runs it (a lambda would be six objects for the
    garbage collector to track at every firing; this is one, untracked)."""

    rt: Runtime
    s: ScheduleState
    scheduled: int
    generation: int
    exec_no: int

    def __call__(self) -> None:
        self.rt._run(self.s, self.scheduled, self.generation, self.exec_no)  # noqa: SLF001


class _Lease:
    """Deadlines the clock leased to one execution thread (see `Runtime._leased`)."""

    __slots__ = ("inline", "lock", "next", "rt", "run")

    def __init__(self, rt: Runtime, run: list[int]) -> None:
        self.rt = rt
        self.run = run  # flat sid, deadline, generation triples, in deadline order
        self.next = 0  # index in run of the next triple to serve (under lock)
        self.inline: int | None = None  # since when (timeline µs) the thread runs an execution
        self.lock = threading.Lock()

    def __call__(self) -> None:
        self.rt._leased(self)  # noqa: SLF001


_NOTHING: list[int] = []

#: ``Runtime._here.slot`` while a leased tick's turn runs and no execution is parked yet.
_ARMED = object()


class UpdateCallbackError(RuntimeError):
    """A periodic message's update callback raised; that send was skipped."""
