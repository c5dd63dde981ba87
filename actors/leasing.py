"""Leased deadlines: the clock hands runs of deadlines due within ~4 ms to idle
execution threads, each of which sleeps until every deadline of its run in turn,
delivers the tick and runs the execution it starts right there (see `Lessee`).

A firing then costs one thread wake-up instead of two (the clock's, then the
hand-off to an execution thread).  This module owns the lease constants, the run
format and `Leases`, the runtime's `Lessee`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

import pykka

from actors.messages import _LeasedTick
from actors.pool import run_turn

if TYPE_CHECKING:
    from actors.activity import Activity
    from actors.executor import ExecutionPool
    from actors.state import ScheduleState
    from actors.timebase import Timebase

__all__ = [
    "DEADLINE", "GENERATION", "LEASE_AHEAD_US", "LEASE_MAX", "LEASE_SPAN_US", "MAX_LEASES",
    "NAP_MARGIN_US", "RECLAIM_AFTER_US", "SID", "STRIDE", "Booking", "Job", "Lease", "Leases",
]

# -- the run format: flat ``sid, deadline, generation`` triples in deadline order
# (timeline µs; no tuple per firing, fewer objects for the garbage collector). The
# clock's lists of due deadlines have the same layout.
#: Ints per deadline in a run.
STRIDE = 3
#: Offsets of a deadline's fields from its first int.
SID, DEADLINE, GENERATION = 0, 1, 2

# -- when the clock leases (see `ClockActor`)
#: The clock leases timeline deadlines to idle execution threads this long (µs)
#: before the first of them is due ...
LEASE_AHEAD_US = 2_000
#: ... taking every deadline due within this span (µs) after that, so that under
#: dense load the clock wakes about once per span, not once per deadline ...
LEASE_SPAN_US = 2_000
#: ... at most this many per lease (a herd is shared out among threads).
LEASE_MAX = 64

# -- how a leased thread serves its run
#: Leases out at a time, each held by one execution thread: one serves the next
#: 2 ms while the other is still finishing the last; more would leave fewer
#: threads for the rest.
MAX_LEASES = 2
#: When an execution on a leased thread has run this long (µs) while the next
#: deadline of its run is due, the clock takes back the rest of the run
#: (`Leases.reclaim`): a long target delays the firings leased after it by about
#: this much at most.
RECLAIM_AFTER_US = 1_000
#: A leased thread napping longer than twice this (µs) wakes this much before the
#: deadline and naps the rest: a thread idle for a millisecond or more wakes
#: 50-150 µs late here (the CPU went idle), one that naps briefly far less.
NAP_MARGIN_US = 200

_NOTHING: list[int] = []


class Job(Protocol):
    """An execution parked in a lease (an `actors.execution.Job`)."""

    def run(self, later: list[tuple[ScheduleState, Any]] | None) -> None:
        """Run it; ``later``: collect the result there instead of booking it now."""
        ...


class Booking(Protocol):
    """What serving a lease needs of the execution path (`actors.execution.Execution`)."""

    @property
    def stopping(self) -> bool:
        """stop() is under way: make no more leases."""
        ...

    def book(self, results: list[tuple[ScheduleState, Any]]) -> None:
        """Book ``results`` in order and empty the list."""
        ...


class Lease:
    """A run of deadlines leased to one execution thread, and its hand-off slot.

    While the thread runs a schedule actor's turn for one of its ticks (``open``),
    the execution that tick starts is parked in ``job`` (`Execution.execute`) and
    run by the thread right after the turn, instead of being queued on the pool."""

    __slots__ = ("inline", "job", "lock", "next", "open", "owner", "run")

    def __init__(self, run: list[int]) -> None:
        self.run = run
        self.next = 0  # index in run of the next deadline to serve (under lock)
        self.inline: int | None = None  # since when (timeline µs) the thread runs an execution
        self.lock = threading.Lock()
        #: The thread serving the lease (its ident), and whether it is in a tick's turn.
        self.owner = 0
        self.open = False
        self.job: Job | None = None

    def take(self, job: Job) -> bool:
        """Park ``job`` to run after the current turn, if this thread is the lease's
        own, in one of its ticks' turn, with nothing parked yet; else False."""
        if self.open and self.job is None and self.owner == threading.get_ident():
            self.job = job
            return True
        return False


class Leases:
    """The runtime's `Lessee`: takes runs from the clock and serves them on
    execution threads (see the module docstring)."""

    def __init__(
        self,
        pool: ExecutionPool,
        execution: Booking,
        states: dict[int, ScheduleState],
        timebase: Timebase,
        activity: Activity,
    ) -> None:
        self.pool = pool
        self.execution = execution
        self.states = states
        self.timebase = timebase
        self.activity = activity
        self.out: list[Lease] = []  # leases out (the clock thread's list)

    def spare(self) -> int:
        """Leases the clock may make now: at most `MAX_LEASES` out, each on an
        execution thread that is idle beyond the queued jobs and one in reserve."""
        if self.execution.stopping:
            return 0
        room = min(MAX_LEASES - len(self.out), self.pool.spare())
        return room if room > 0 else 0

    def lease(self, run: list[int]) -> None:
        lease = Lease(run)
        self.out.append(lease)
        # Served on this thread if the pool has stopped: its naps end at once and the
        # ticks are dropped with their tokens (stop is under way).
        self.pool.submit_or_run(lambda: self.serve(lease))

    def reclaim(self, now: int) -> tuple[list[int], int | None]:
        leases = self.out
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
                i = STRIDE  # the first deadline waits behind no execution: look from the second
                if i >= len(run):
                    continue  # a lone deadline: nothing can stall behind it
            since = lease.inline
            due = run[i + DEADLINE]
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

    def serve(self, lease: Lease) -> None:
        """On an execution thread: for each deadline of the lease in turn, sleep until
        it, deliver the tick, and run the execution it starts right here. Behind (the
        next deadline has passed too), results are booked once caught up: the next
        targets are called first."""
        tb = self.timebase
        run = lease.run
        lock = lease.lock
        lease.owner = threading.get_ident()
        later: list[tuple[ScheduleState, Any]] = []
        try:
            while True:
                with lock:
                    i = lease.next
                    if i >= len(run):
                        return  # all served, or the clock took the rest back
                    lease.next = i + STRIDE
                if not self._nap_until(run[i + DEADLINE]):
                    self.activity.done()  # stop() under way (the rest: below)
                    return
                job = self._tick(lease, i)
                nxt = i + STRIDE + DEADLINE
                if job is not None:
                    now = tb.timeline_us()
                    behind = nxt < len(run) and run[nxt] <= now
                    lease.inline = now
                    try:
                        job.run(later if behind else None)
                    finally:
                        lease.inline = None
                if later and not (nxt < len(run) and run[nxt] <= tb.timeline_us()):
                    self.execution.book(later)  # caught up (or done): book what waited
        finally:
            with lock:
                rest = (len(run) - lease.next) // STRIDE
                lease.next = len(run)
            if later:
                self.execution.book(later)
            if rest:
                self.activity.done(rest)  # stopped: their ticks are dropped with their tokens

    def _nap_until(self, deadline: int) -> bool:
        """Sleep until ``deadline`` (timeline µs); False if stop() cut the nap short."""
        tb = self.timebase
        nap = self.pool.nap
        while True:
            left = deadline - tb.timeline_us()
            if left <= 0:
                return True
            if left > 2 * NAP_MARGIN_US:
                left -= NAP_MARGIN_US  # wake a little early, then nap the rest
            if not nap(left / 1e6):
                return False

    def _tick(self, lease: Lease, i: int) -> Job | None:
        """Deliver the tick of the deadline at ``i``; the execution its turn parked, if any."""
        run = lease.run
        st = self.states.get(run[i + SID])
        actor = None if st is None else st.actor
        lease.open = True
        try:
            if actor is None:
                raise pykka.ActorDeadError(run[i + SID])
            mailbox = actor.actor_inbox
            if mailbox.post(_LeasedTick(run[i + DEADLINE], run[i + GENERATION], lease), True):
                run_turn(mailbox)  # the actor was idle: its turn runs here, and may park a job
        except pykka.ActorDeadError:
            self.activity.done()  # the schedule is gone
        finally:
            lease.open = False
            job = lease.job
            lease.job = None
        return job
