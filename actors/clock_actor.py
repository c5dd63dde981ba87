"""The clock actor: keeps every pending deadline and sends `Tick`s when they come due.

It is a Pykka `ThreadingActor` (one thread per scheduler) with an inbox of its own:
when no message is waiting, ``get()`` fires every due deadline and then sleeps on the
clock's `Waiter` until the earliest deadline or until a message arrives (a ``put``
wakes it), so idle CPU is zero and an earlier new deadline preempts the wait.

Deadlines are plain ints in two heaps (timeline and wall time, see `Timebase`),
with lazy cancellation: an entry is live only while ``armed[sid]`` still equals the
generation it was armed with, so disarming is O(1) and re-arming O(log n).
"""

from __future__ import annotations

import heapq
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import pykka
from pykka._envelope import Envelope

from actors.activity import Activity
from actors.messages import Tick, _Timeout
from actors.pool import run_here
from actors.threaded import OwnThreadActor
from actors.timebase import Timebase

__all__ = ["ClockActor"]

logger = logging.getLogger("tickwork")

#: While wall-time deadlines are pending, re-read the wall clock at least this often
#: (µs), so a wall clock stepped forward is noticed within a second.
WALL_RECHECK_US = 1_000_000


class _Arm:
    __slots__ = ("deadline", "generation", "sid", "wall")

    def __init__(self, sid: int, generation: int, deadline: int, wall: bool) -> None:
        self.sid = sid
        self.generation = generation
        self.deadline = deadline
        self.wall = wall


class _Disarm:
    __slots__ = ("sid",)

    def __init__(self, sid: int) -> None:
        self.sid = sid


class _ArmTimeout:
    __slots__ = ("deadline", "exec_no", "sid")

    def __init__(self, sid: int, exec_no: int, deadline: int) -> None:
        self.sid = sid
        self.exec_no = exec_no
        self.deadline = deadline


class _Flush:
    """Fire everything due now; replies with the number of ticks sent."""


_NEVER = 1 << 62


class _ClockInbox:
    """A FIFO inbox whose ``get`` fires due deadlines while it waits.

    ``put`` wakes the sleeping clock thread only when it must: an arm for a
    deadline at or after the moment the thread will wake anyway (the common
    re-arm) just waits in the queue.
    """

    __slots__ = ("_actor", "_q", "wake_tl", "wake_wall")

    def __init__(self, actor: ClockActor) -> None:
        self._actor = actor
        self._q: deque[Envelope[Any]] = deque()
        #: When the clock thread will wake by itself, per base (None: only when woken).
        self.wake_tl: int | None = None
        self.wake_wall: int | None = None

    def put(self, envelope: Envelope[Any], /) -> None:
        self._q.append(envelope)
        self._actor.waiter.wake()

    def post(self, m: _Arm | _Disarm | _ArmTimeout) -> None:
        """The arm/disarm fast path: no envelope, and no wake-up unless needed."""
        self._q.append(m)
        t = type(m)
        if t is _Disarm:
            return  # a disarm never needs the clock awake: a stale entry is skipped when popped
        w = self.wake_tl if t is _ArmTimeout or not m.wall else self.wake_wall  # type: ignore[union-attr]
        if w is not None and m.deadline >= w:
            return
        self._actor.waiter.wake()

    def get(self) -> Envelope[Any]:
        q = self._q
        actor = self._actor
        tb = actor.timebase
        while True:
            while q:
                item = q.popleft()
                t = type(item)
                if t is _Arm:
                    actor._arm(item)  # noqa: SLF001 - the inbox is part of the actor
                elif t is _Disarm:
                    actor._armed.pop(item.sid, None)  # noqa: SLF001
                elif t is _ArmTimeout:
                    heapq.heappush(actor._timeouts, (item.deadline, item.sid, item.exec_no))  # noqa: SLF001
                else:
                    self.wake_tl = self.wake_wall = _NEVER  # not sleeping: the loop looks again
                    return item
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
        return not any(type(x) not in (_Arm, _Disarm, _ArmTimeout) for x in self._q)


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
    ) -> None:
        self.timebase = timebase
        self.waiter = timebase.clock.waiter()
        self._resolve = resolve
        self._activity = activity
        self._timeline: list[tuple[int, int, int]] = []
        self._wall: list[tuple[int, int, int]] = []
        self._armed: dict[int, int] = {}
        #: Execution timeouts: (deadline on the timeline, sid, execution number).
        self._timeouts: list[tuple[int, int, int]] = []
        self.ticks_sent = 0
        super().__init__(name, daemon)

    def _create_actor_inbox(self) -> _ClockInbox:  # type: ignore[override]
        return _ClockInbox(self)

    # -- message handling ------------------------------------------------------
    def on_receive(self, message: Any) -> Any:
        if type(message) is _Arm:
            self._arm(message)
            return None
        if type(message) is list:  # a batch of arms/disarms
            for m in message:
                if type(m) is _Arm:
                    self._arm(m)
                else:
                    self._armed.pop(m.sid, None)
            return None
        if type(message) is _Disarm:
            self._armed.pop(message.sid, None)
            return None
        if type(message) is _Flush:
            return self._flush()
        raise TypeError(f"clock actor: unknown message {message!r}")

    def _arm(self, m: _Arm) -> None:
        self._armed[m.sid] = m.generation
        # (deadline, sid, generation): sids are unique, so ties never compare further.
        heapq.heappush(self._wall if m.wall else self._timeline, (m.deadline, m.sid, m.generation))

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
        if self._timeline:
            now = tb.timeline_us()
            self._send(self._pop_due(self._timeline, now))
            if self._timeline:
                tt = self._timeline[0][0] - now
                timeout = tt if timeout is None else min(timeout, tt)
        if self._wall:
            now = tb.wall_us()
            self._send(self._pop_due(self._wall, now))
            if self._wall:
                wt = min(self._wall[0][0] - now, WALL_RECHECK_US)
                timeout = wt if timeout is None else min(timeout, wt)
        return timeout

    def _pop_due(self, heap: list[tuple[int, int, int]], now: int) -> list[tuple[int, int, int]]:
        armed = self._armed
        pop = heapq.heappop
        due: list[tuple[int, int, int]] = []
        while heap and heap[0][0] <= now:
            deadline, sid, gen = pop(heap)
            if armed.get(sid) == gen:
                del armed[sid]
                due.append((sid, deadline, gen))
        return due

    def _top(self, heap: list[tuple[int, int, int]]) -> int | None:
        """Earliest live deadline of ``heap``, dropping cancelled entries on the way."""
        armed = self._armed
        while heap:
            deadline, sid, gen = heap[0]
            if armed.get(sid) == gen:
                return deadline
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

    def _send(self, due: list[tuple[int, int, int]]) -> None:
        if not due:
            return
        # Deliver the whole batch: one activity update, then the tells.
        self._activity.add(len(due))
        self.ticks_sent += len(due)
        resolve = self._resolve
        here: list[Any] = []
        try:
            for sid, deadline, gen in due:
                ref = resolve(sid)
                try:
                    if ref is None:
                        raise pykka.ActorDeadError(sid)
                    ref.actor_inbox.post(Tick(deadline, gen), here)
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
            t = type(item)
            if t is _Arm:
                self._arm(item)
            elif t is _Disarm:
                self._armed.pop(item.sid, None)
            elif t is _ArmTimeout:
                heapq.heappush(self._timeouts, (item.deadline, item.sid, item.exec_no))
            else:
                others.append(item)
        q.extendleft(reversed(others))
        before = self.ticks_sent
        self.fire_due()
        return busy == 0 and self.ticks_sent == before

    @property
    def pending(self) -> int:
        """Number of live deadlines (for tests and stats)."""
        return len(self._armed)


def arm(sid: int, generation: int, deadline: int, wall: bool) -> _Arm:
    return _Arm(sid, generation, deadline, wall)


def arm_timeout(sid: int, exec_no: int, deadline: int) -> _ArmTimeout:
    """Tell schedule ``sid`` `_Timeout` at ``deadline`` (timeline µs) unless it finished."""
    return _ArmTimeout(sid, exec_no, deadline)


def disarm(sid: int) -> _Disarm:
    return _Disarm(sid)


FLUSH = _Flush()
