"""Running the work of a firing: a `Job` per execution, run on the execution pool
(or by the thread its deadline was leased to), and its result booked with the
schedule actor as a `_Done`.

"Cancelled" and "execution started" are exclusive: both are decided under the
schedule's stripe lock (`Execution.lock_for`), so once a cancel returns True no
execution of that schedule starts.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
import pykka

from actors.clock_actor import arm_timeout
from actors.firing import _CURRENT, Firing
from actors.messages import _Done, _Redeliver
from actors.pool import run_turn
from actors.results import ScheduleStatus
from actors.state import ScheduleState

if TYPE_CHECKING:
    from actors.executor import ExecutionPool
    from actors.leasing import Lease
    from actors.timebase import Timebase

__all__ = ["Execution", "Job", "UpdateCallbackError"]

logger = logging.getLogger("tickwork")

RUNNING = ScheduleStatus.RUNNING
_STRIPES = 64


class UpdateCallbackError(RuntimeError):
    """A periodic message's update callback raised; that send was skipped."""


class Job(msgspec.Struct, gc=False):
    """One execution, as the pool runs it (a lambda would be six objects for the
    garbage collector to track at every firing; this is one, untracked)."""

    execution: Execution
    s: ScheduleState
    scheduled: int
    generation: int
    exec_no: int

    def __call__(self) -> None:
        self.execution.run(self, None)

    def run(self, later: list[tuple[ScheduleState, _Done]] | None) -> None:
        """Run it; ``later``: a leased thread that is behind collects the result there
        to book once caught up (its next targets are called first)."""
        self.execution.run(self, later)


class Execution:
    """Starts executions, runs targets, and books their results."""

    def __init__(self, pool: ExecutionPool, timebase: Timebase) -> None:
        self.pool = pool
        self.now_us = timebase.now_us
        #: Set by stop(): executions not yet started are skipped from then on.
        self.stopping = False
        #: With a shared store: this process's `actors.cluster.Cluster` (claims firings).
        self.cluster: Any = None
        #: Posts to the clock actor (execution timeouts), and tells the supervisor
        #: (results for a restarting actor): wired by the runtime once those run.
        self.clock_post: Callable[[Any], Any] = _not_wired
        self.sup_tell: Callable[[Any], None] = _not_wired
        self.async_inflight: set[Any] = set()
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        #: Results of executions that finished while others waited (see `run`).
        self._later: deque[tuple[ScheduleState, _Done]] = deque()
        self._later_queued = False

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

    def execute(self, s: ScheduleState, scheduled: int, generation: int, exec_no: int, lease: Lease | None) -> None:
        """Start the execution of firing ``scheduled``: on the thread ``lease`` is
        served by, if the tick came from there (`Lease.take`), else on the pool."""
        job = Job(self, s, scheduled, generation, exec_no)
        if lease is not None and lease.take(job):
            return
        self.pool.submit_or_run(job)

    def run(self, job: Job, later: list[tuple[ScheduleState, _Done]] | None) -> None:
        """Run ``job``'s target and book its result (see `Job.run` for ``later``)."""
        s = job.s
        claimed = self._admit(s, job.scheduled)
        if claimed is _SKIP:
            self.deliver(s, _Done(job.generation, job.scheduled, 0, 0, True, None, None, True, job.exec_no))
            return
        wall = s.wall
        # Never before the previous execution ended (matters in virtual time, where
        # a coalesced firing is delivered at its own, earlier, instant).
        started = max(self.now_us(wall), s.last_end_us)
        timeout = s.policy.timeout_us
        if timeout is not None:
            s.run_scheduled_us = job.scheduled  # what _on_timeout reports
            s.run_started_us = started
            self.clock_post(arm_timeout(s.id, job.exec_no, self.now_us(False) + timeout))
        if s.kind == "async":
            self._run_async(job, started)
            return
        try:
            if claimed is not None:
                value = self._run_claimed(s, claimed)  # type: ignore[arg-type]
            elif s.kind != "call":
                value = send_message(s)  # None: a message send returns nothing
            elif s.kwargs:
                value = s.fn(*s.args, **s.kwargs)  # type: ignore[misc]
            else:
                value = s.fn(*s.args)  # type: ignore[misc]  # no empty kwargs dict per call
            ok, error = True, None
        except BaseException as exc:  # noqa: BLE001  # user code: anything it raises is its result
            value, ok, error = None, False, exc
            logger.debug("tickwork: schedule %s raised %r", s.id, exc)
        finished = max(started, self.now_us(wall))
        done = _Done(job.generation, job.scheduled, started, finished, ok, value, error, False, job.exec_no)
        # Not with a timeout: the booking must beat the timeout's tick.
        if timeout is None:
            if later is not None:
                later.append((s, done))  # a leased thread that is behind books it when caught up
                return
            if self.pool.backlog():
                self._defer(s, done)
                return
        self.deliver(s, done)

    def _admit(self, s: ScheduleState, scheduled: int) -> Firing | object | None:
        """Whether the execution may start: `_SKIP` if not (cancelled, paused, stopping,
        or with a shared store not ours to run); else the claimed `Firing` with a
        shared store, None without."""
        with self._stripes[s.id % _STRIPES]:
            # not cancelled, paused, or stopping (s.status without the property call)
            if s._status is not RUNNING or s.cancelled or self.stopping:  # noqa: SLF001
                return _SKIP
        if self.cluster is None or not s.durable:
            return None
        # Shared store: claim the firing first (fenced); not ours to run, or done already: skipped.
        firing = self.cluster.claim(s, scheduled)
        if firing is None:
            return _SKIP
        with self._stripes[s.id % _STRIPES]:  # cancelled (or paused) while it was claimed?
            if s.cancelled or s._status is not RUNNING:  # noqa: SLF001
                return _SKIP
        return firing  # type: ignore[no-any-return]

    def _defer(self, s: ScheduleState, done: _Done) -> None:
        """Executions are waiting: they start first, and this result is booked by a
        job queued behind them (a herd of firings all due at once starts sooner;
        nothing waits on a blocking target that is not already waiting)."""
        self._later.append((s, done))
        if not self._later_queued:
            self._later_queued = True
            self.pool.submit_or_run(self._book_later)

    def _run_claimed(self, s: ScheduleState, firing: Firing) -> Any:
        """Call a claimed firing's target with `current_firing` set, then record it completed."""
        token = _CURRENT.set(firing)
        try:
            return s.fn(*s.args, **s.kwargs) if s.kind == "call" else send_message(s)  # type: ignore[misc]
        finally:
            _CURRENT.reset(token)
            self.cluster.completed(firing)

    def book(self, results: list[tuple[ScheduleState, _Done]]) -> None:
        """Book ``results`` in order (a leased thread's deferred ones) and empty it."""
        for s, done in results:
            self.deliver(s, done)
        results.clear()

    def _book_later(self) -> None:
        """Book the results deferred by `run` (a job of the execution pool)."""
        self._later_queued = False  # before taking: a result deferred later asks again
        pop = self._later.popleft
        while True:
            try:
                s, done = pop()
            except IndexError:  # empty (another thread may be booking the same batch)
                return
            self.deliver(s, done)

    def _run_async(self, job: Job, started: int) -> None:
        s = job.s

        def finish(ok: bool, value: Any, error: BaseException | None) -> None:
            finished = max(started, self.now_us(s.wall))
            self.deliver(s, _Done(job.generation, job.scheduled, started, finished, ok, value, error, False, job.exec_no))

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

    def deliver(self, s: ScheduleState, message: Any) -> None:
        """Tell ``s``'s actor ``message`` (a result); run its turn here if it was idle."""
        try:
            mailbox = s.actor.actor_inbox
            if mailbox.post(message, True):
                run_turn(mailbox)  # the actor was idle: this thread books the result itself
        except pykka.ActorDeadError:
            if self.stopping:
                return  # an execution that outlived stop(): nobody is left to tell
            # Restarting: the supervisor parks it for the new actor.
            try:
                self.sup_tell(_Redeliver(s.id, message))
            except pykka.ActorDeadError:
                pass


def send_message(s: ScheduleState) -> Any:
    """One send of a periodic message: update it in place (if it has an update
    callback), re-encode, and hand the bytes to its send callback."""
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


def _not_wired(_message: Any) -> None:
    raise RuntimeError("tickwork: the runtime is not wired yet")


#: `Execution._admit`: the execution does not start.
_SKIP = object()
