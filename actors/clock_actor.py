"""The clock actor: keeps every pending deadline and sends `Tick`s when they come due.

It is a Pykka `ThreadingActor` (one thread per scheduler) with an inbox of its own:
when no message is waiting, ``get()`` fires every due deadline and then sleeps on the
clock's `Waiter` until the earliest deadline or until a message arrives (a ``put``
wakes it), so idle CPU is zero and an earlier new deadline preempts the wait.

Deadlines are plain ints in two heaps (timeline and wall time, see `Timebase`),
with lazy cancellation: an entry is live only while ``armed[sid]`` still equals the
generation it was armed with, so disarming is O(1) and re-arming O(log n). Once
cancelled entries outnumber live ones (past `COMPACT_MIN`), the heaps are rebuilt
without them, and a sleeping clock is woken when `MAX_QUEUED` arms/disarms wait:
cancelling deadlines far ahead costs bounded memory.

The arm message *is* the heap entry: one int, ``(deadline + 2**62) << 97 | wall << 96 |
generation << 32 | sid`` (a disarm is ``~sid``, a negative int).  It sorts by
deadline, compares in C, and is the only object a pending deadline costs: arms
queued during bulk creation are not garbage that leaves the allocator fragmented.

On the system clock, timeline deadlines may be *leased* to the runtime (a `Lessee`):
`LEASE_AHEAD_US` before the earliest is due, the clock hands it and the others due
within `LEASE_SPAN_US` after that (at most `LEASE_MAX`) to an idle execution thread,
which sleeps until each in turn, delivers the tick and runs the execution itself,
as a bare loop would: a firing wakes one thread, not two.  Deadlines stalled behind
a long leased execution are taken back (`Lessee.reclaim`) and fired by the clock.
"""

from __future__ import annotations

import heapq
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import pykka
from pykka._envelope import Envelope

from actors.activity import Activity
from actors.leasing import LEASE_AHEAD_US, LEASE_MAX, LEASE_SPAN_US, STRIDE
from actors.messages import Tick, _Timeout
from actors.pool import run_here
from actors.threaded import OwnThreadActor
from actors.timebase import Timebase
from actors.timerslack import tighten_timer_slack

__all__ = ["ClockActor", "Lessee"]

logger = logging.getLogger("tickwork")

#: While wall-time deadlines are pending, re-read the wall clock at least this often
#: (µs), so a wall clock stepped forward is noticed within a second.
WALL_RECHECK_US = 1_000_000




class Lessee(Protocol):
    """Where the clock leases deadlines that are about to come due (real time only).

    A lease is a run of timeline deadlines, in order, handed to one of the
    lessee's threads: it sleeps until each, delivers ``Tick(deadline,
    generation)`` and runs the execution that follows on that same thread, like
    a bare loop would.  A firing then costs one thread wake-up (the one its
    deadline needs anyway) instead of two: the clock's, then the hand-off to an
    execution thread.  If a leased execution runs long, the deadlines still
    waiting behind it are handed back (`reclaim`) and fired by the clock.
    """

    def spare(self) -> int:
        """How many more leases it can take now (idle threads to sleep on them)."""
        ...

    def lease(self, run: list[int]) -> None:
        """Deliver each ``Tick(deadline, generation)`` of ``run`` (flat ``sid,
        deadline, generation`` triples, timeline µs, in deadline order) at its
        deadline; the clock has added one activity token per tick."""
        ...

    def reclaim(self, now: int) -> tuple[list[int], int | None]:
        """Take back the deadlines of leases stalled behind a long execution (more
        than the lessee's threshold overdue), as flat triples whose tokens travel with
        them; and the µs until the clock should look again (None: no lease out)."""
        ...


class _ArmTimeout:
    __slots__ = ("deadline", "exec_no", "sid")

    def __init__(self, sid: int, exec_no: int, deadline: int) -> None:
        self.sid = sid
        self.exec_no = exec_no
        self.deadline = deadline


class _Flush:
    """Fire everything due now; replies True if nothing was due or in flight."""


class _Step:
    """Virtual time: as `_Flush`, replying ``(idle, the next instant with work or None)``."""


_NEVER = 1 << 62
_LOW32 = 0xFFFFFFFF
_LOW64 = (1 << 64) - 1
_WALL = 96  # bit of the wall flag; the deadline starts one above
_DEADLINE = 97
#: Added to deadlines in entries so that every arm is a non-negative int (timekit
#: instants lie within ±2**58 µs of the epoch).
_BIAS = 1 << 62
#: Arms and disarms queued while the clock sleeps wake it once this many wait (so
#: cancelled deadlines far ahead never pile up in the inbox) ...
MAX_QUEUED = 4096
#: ... and the heaps are rebuilt without their cancelled entries once these are
#: more than the live ones and the heaps hold more than this (as asyncio does).
COMPACT_MIN = 1024


class _ClockInbox:
    """A FIFO inbox whose ``get`` fires due deadlines while it waits.

    ``put`` wakes the sleeping clock thread only when it must: an arm for a
    deadline at or after the moment the thread will wake anyway (the common
    re-arm) just waits in the queue.
    """

    __slots__ = ("_actor", "_q", "wake_tl", "wake_wall")

    def __init__(self, actor: ClockActor) -> None:
        self._actor = actor
        self._q: deque[Any] = deque()  # envelopes, and bare arm/disarm/timeout messages
        #: When the clock thread will wake by itself, per base (None: only when woken).
        self.wake_tl: int | None = None
        self.wake_wall: int | None = None

    def put(self, envelope: Envelope[Any], /) -> None:
        self._q.append(envelope)
        self._actor.waiter.wake()

    def post(self, m: int | _ArmTimeout) -> None:
        """The arm/disarm fast path: no envelope, and no wake-up unless needed."""
        q = self._q
        q.append(m)
        if len(q) < MAX_QUEUED:
            if m.__class__ is int:
                if m < 0:
                    return  # a disarm never needs the clock awake: a stale entry is skipped when popped
                deadline = (m >> _DEADLINE) - _BIAS
                w = self.wake_wall if m >> _WALL & 1 else self.wake_tl
            else:
                deadline = m.deadline  # type: ignore[union-attr]
                w = self.wake_tl
            if w is not None and deadline >= w:
                return
        self._actor.waiter.wake()

    def get(self) -> Envelope[Any]:
        q = self._q
        actor = self._actor
        tb = actor.timebase
        armed = actor._armed  # noqa: SLF001 - the inbox is part of the actor
        timeline = actor._timeline  # noqa: SLF001
        wall = actor._wall  # noqa: SLF001
        push = heapq.heappush
        pop = q.popleft
        while True:
            while q:
                item = pop()
                if item.__class__ is int:
                    # An arm or disarm (what `ClockActor._apply` does, inline: the clock
                    # applies a few dozen per wake-up while holding the GIL).
                    if item >= 0:
                        armed[item & _LOW32] = item >> 32 & _LOW64
                        push(wall if item >> _WALL & 1 else timeline, item)
                    else:
                        armed.pop(~item, None)
                elif not actor._apply(item):  # noqa: SLF001
                    self.wake_tl = self.wake_wall = _NEVER  # not sleeping: the loop looks again
                    return item  # type: ignore[no-any-return]  # the queue holds ints (done above) and envelopes
            if len(timeline) + len(wall) > (len(armed) << 1) + COMPACT_MIN:
                actor.compact()
            timeout = actor.fire_due()
            # Publish the wake-up time before looking at the queue: a post after
            # this point compares against it, a post before it is seen below.
            if timeout is None:
                self.wake_tl = self.wake_wall = None
            else:
                self.wake_tl = tb.timeline_us() + timeout
                self.wake_wall = tb.wall_us() + timeout
            if not q:
                actor.waiter.wait(timeout)

    def empty(self) -> bool:
        """No envelope is waiting (arms still queued do not count)."""
        return not any(type(x) not in (int, _ArmTimeout) for x in self._q)


class ClockActor(OwnThreadActor):
    """Owns the deadlines of one scheduler and tells schedule actors `Tick`."""

    def __init__(
        self,
        timebase: Timebase,
        resolve: Callable[[int], Any],  # schedule id -> its actor (or None)
        activity: Activity,
        *,
        name: str = "tickwork-clock",
        daemon: bool = False,
        lessee: Lessee | None = None,
    ) -> None:
        self.timebase = timebase
        self._lessee = None if timebase.virtual else lessee
        self.waiter = timebase.clock.waiter()
        self._resolve = resolve
        self._activity = activity
        self._timeline: list[int] = []
        self._wall: list[int] = []
        self._armed: dict[int, int] = {}
        #: Execution timeouts: (deadline on the timeline, sid, execution number).
        self._timeouts: list[tuple[int, int, int]] = []
        self.ticks_sent = 0
        super().__init__(name, daemon)

    def _create_actor_inbox(self) -> _ClockInbox:  # type: ignore[override]
        return _ClockInbox(self)

    def on_start(self) -> None:
        tighten_timer_slack()  # this thread sleeps until deadlines

    # -- message handling ------------------------------------------------------
    def on_receive(self, message: Any) -> Any:
        if self._apply(message):  # an arm, disarm or timeout told the slow way
            return None
        if type(message) is _Flush:
            return self._flush()
        if type(message) is _Step:
            return self._step()
        raise TypeError(f"clock actor: unknown message {message!r}")

    def _apply(self, item: Any) -> bool:
        """Apply an arm, disarm or timeout message; False for any other message."""
        t = type(item)
        if t is int:
            if item >= 0:
                self._arm(item)
            else:
                self._armed.pop(~item, None)
            return True
        if t is _ArmTimeout:
            heapq.heappush(self._timeouts, (item.deadline, item.sid, item.exec_no))
            return True
        return False

    def _arm(self, e: int) -> None:
        self._armed[e & _LOW32] = e >> 32 & _LOW64
        heapq.heappush(self._wall if e >> _WALL & 1 else self._timeline, e)

    def compact(self) -> None:
        """Drop cancelled entries from the heaps (in place: the inbox holds them)."""
        armed = self._armed
        for heap in (self._timeline, self._wall):
            heap[:] = [e for e in heap if armed.get(e & _LOW32) == e >> 32 & _LOW64]
            heapq.heapify(heap)

    def fire_due(self) -> int | None:
        """Send Ticks for due deadlines; return µs until the next one (None: none)."""
        tb = self.timebase
        timeout: int | None = None
        if self._timeouts:
            # Timeouts fire even while virtual time waits for work to drain: they
            # are what ends a hung execution.
            now = tb.now_us(False)
            heap = self._timeouts
            while heap and heap[0][0] <= now:
                _, sid, exec_no = heapq.heappop(heap)
                actor = self._resolve(sid)
                if actor is not None:
                    try:
                        actor.actor_inbox.post(_Timeout(exec_no))
                    except pykka.ActorDeadError:
                        pass
            if heap:
                timeout = heap[0][0] - now
        if tb.virtual:
            nxt = self._fire_next_instant()
            return nxt if timeout is None else timeout if nxt is None else min(nxt, timeout)
        if self._timeline or self._lessee is not None:
            now = tb.timeline_us()
            line = self._timeline
            if line:
                self._send(self._pop_due(line, now))
            tt = (line[0] >> _DEADLINE) - _BIAS - now if line else None
            if self._lessee is not None:
                tt = self._lease(now, tt)
            if tt is not None:
                timeout = tt if timeout is None else min(timeout, tt)
        if self._wall:
            now = tb.wall_us()
            self._send(self._pop_due(self._wall, now))
            if self._wall:
                wt = min((self._wall[0] >> _DEADLINE) - _BIAS - now, WALL_RECHECK_US)
                timeout = wt if timeout is None else min(timeout, wt)
        return timeout

    def _lease(self, now: int, tt: int | None) -> int | None:
        """Take back stalled leases and lease the timeline deadlines due soon to the
        lessee (as many runs as it has room for); ``tt`` is µs until the earliest
        timeline deadline.  Return µs until the clock must wake next for its
        timeline (None: nothing on it and no lease out)."""
        lessee = self._lessee
        assert lessee is not None
        stolen, check = lessee.reclaim(now)
        if stolen:
            self._send(stolen, counted=True)
        if tt is None:
            return check
        heap = self._timeline
        if tt <= LEASE_AHEAD_US:
            spare = lessee.spare()
            armed = self._armed
            horizon = (now + LEASE_AHEAD_US + LEASE_SPAN_US + 1 + _BIAS) << _DEADLINE
            limit = STRIDE * LEASE_MAX
            leased = False
            while spare > 0 and heap and heap[0] < horizon:
                run: list[int] = []
                while heap and heap[0] < horizon and len(run) < limit:
                    e = heapq.heappop(heap)
                    sid = e & _LOW32
                    gen = e >> 32 & _LOW64
                    if armed.get(sid) != gen:
                        continue  # cancelled
                    del armed[sid]
                    run += (sid, (e >> _DEADLINE) - _BIAS, gen)
                if not run:
                    break
                n = len(run) // STRIDE
                self._activity.add(n)
                self.ticks_sent += n
                spare -= 1
                lessee.lease(run)
                leased = True
            if leased:  # when to look at the new leases (and anything stalled since)
                stolen, check = lessee.reclaim(now)
                if stolen:
                    self._send(stolen, counted=True)
            if not heap:
                return check
            tt = (heap[0] >> _DEADLINE) - _BIAS - now
        wake = tt - LEASE_AHEAD_US if tt > LEASE_AHEAD_US else tt
        return wake if check is None or wake < check else check

    def _pop_due(self, heap: list[int], now: int) -> list[int]:
        """Pop every entry due at ``now``: sid, deadline, generation of each live one,
        flat (no tuple per firing: fewer objects for the garbage collector)."""
        armed = self._armed
        pop = heapq.heappop
        due: list[int] = []
        add = due.extend
        limit = (now + 1 + _BIAS) << _DEADLINE  # every entry with deadline <= now is below it
        while heap and heap[0] < limit:
            e = pop(heap)
            sid = e & _LOW32
            gen = e >> 32 & _LOW64
            if armed.get(sid) == gen:
                del armed[sid]
                add((sid, (e >> _DEADLINE) - _BIAS, gen))
        return due

    def _top(self, heap: list[int]) -> int | None:
        """Earliest live deadline of ``heap``, dropping cancelled entries on the way."""
        armed = self._armed
        while heap:
            e = heap[0]
            if armed.get(e & _LOW32) == e >> 32 & _LOW64:
                return (e >> _DEADLINE) - _BIAS
            heapq.heappop(heap)
        return None

    def _fire_next_instant(self) -> int | None:
        """Virtual time: deliver the earliest due instant, once all earlier work is done."""
        tb = self.timebase
        if self._activity.count > 0:
            return None  # woken when the activity drains
        t1 = self._top(self._timeline)
        t2 = self._top(self._wall)
        tops = [t for t in (t1, t2) if t is not None]
        now = tb.wall_us()
        if not tops:
            tb.end_instants()
            return None
        instant = min(tops)
        if instant > now:
            tb.end_instants()
            return instant - now
        tb.begin_instant(instant)
        due = self._pop_due(self._timeline, instant) + self._pop_due(self._wall, instant)
        self._send(due)
        return 0

    def _send(self, due: list[int], counted: bool = False) -> None:
        """Tell each due ``sid, deadline, generation`` its `Tick` (``counted``: the
        activity tokens were added when these were leased)."""
        if not due:
            return
        if not counted:  # the whole batch: one activity update, then the tells
            n = len(due) // STRIDE
            self._activity.add(n)
            self.ticks_sent += n
        resolve = self._resolve
        here: list[Any] = []
        it = iter(due)
        try:
            for sid, deadline, gen in zip(it, it, it, strict=True):
                actor = resolve(sid)
                try:
                    if actor is None:
                        raise pykka.ActorDeadError(sid)
                    actor.actor_inbox.post(Tick(deadline, gen), here)
                except pykka.ActorDeadError:
                    # The schedule is gone (cleared, or stopped with the scheduler).
                    self._activity.done()
        finally:
            # This thread runs the schedule actors' turns itself: no hand-off to a
            # dispatcher worker between the deadline and the execution pool.
            run_here(here)

    def _flush(self) -> bool:
        """Apply queued arms, fire what is due; True if nothing was due or in flight."""
        busy = self._activity.count
        inbox = self.actor_inbox
        assert isinstance(inbox, _ClockInbox)
        q = inbox._q  # noqa: SLF001 - our own inbox
        others = []
        while q:
            item = q.popleft()
            if not self._apply(item):
                others.append(item)
        q.extendleft(reversed(others))
        if len(self._timeline) + len(self._wall) > (len(self._armed) << 1) + COMPACT_MIN:
            self.compact()
        before = self.ticks_sent
        self.fire_due()
        return busy == 0 and self.ticks_sent == before

    def _step(self) -> tuple[bool, int | None]:
        """`_flush`, and when idle the earliest instant anything is armed for (a firing
        or an execution timeout): where a stepping `VirtualClock.advance` goes next."""
        if not self._flush():
            return False, None
        tops = [t for t in (self._top(self._timeline), self._top(self._wall)) if t is not None]
        if self._timeouts:
            tops.append(self._timeouts[0][0])
        return True, min(tops) if tops else None

    @property
    def pending(self) -> int:
        """Number of live deadlines held by the clock (for tests and stats; a
        deadline leased to an execution thread, due within ~4 ms, is not counted)."""
        return len(self._armed)


def arm(sid: int, generation: int, deadline: int, wall: bool) -> int:
    """The message arming ``sid`` at ``deadline`` (µs; wall or timeline base)."""
    if sid >> 32 or generation >> 64 or sid < 0 or generation < 0:
        raise OverflowError(f"schedule {sid} generation {generation}: outside the clock's fields")
    return (deadline + _BIAS) << _DEADLINE | wall << _WALL | generation << 32 | sid


def arm_timeout(sid: int, exec_no: int, deadline: int) -> _ArmTimeout:
    """Tell schedule ``sid`` `_Timeout` at ``deadline`` (timeline µs) unless it finished."""
    return _ArmTimeout(sid, exec_no, deadline)


def disarm(sid: int) -> int:
    """The message dropping ``sid``'s pending deadline."""
    return ~sid


FLUSH = _Flush()
STEP = _Step()
