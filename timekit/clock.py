"""Clocks: where "now" comes from, and how the runtime waits for a deadline.

``Clock`` gives wall time (``now``/``now_us``), monotonic time (``monotonic_us``)
and ``Waiter`` objects: the runtime's clock actor sleeps on a waiter until its
earliest deadline and is woken early (``wake()``) when a message or an earlier
deadline arrives. ``SystemClock`` is the real thing; ``VirtualClock`` only moves
when a test says so, which makes scheduling tests exact and instant.

Wall time versus monotonic time (README paragraph)
--------------------------------------------------
Interval schedules run on the monotonic clock, calendar schedules on the wall
clock. The runtime keeps interval deadlines in monotonic time (shifted so they
read as wall time when the scheduler starts), so when the system clock is
stepped - by NTP, by hand, or after a suspend - an ``every 5s`` schedule neither
fires a burst of catch-up runs nor stalls until the clock catches up: it keeps
its rhythm. One-shot times, daily and cron schedules mean "when the wall clock
reads X", so their deadlines are kept in wall time, and the runtime re-reads the
wall clock whenever it wakes (and at least once a second while such deadlines
are pending), so they follow a stepped clock and fire when it reads X.

No threads are started here; waiting only blocks the calling thread.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Protocol, runtime_checkable

from timekit.duration import Duration, DurationLike, coerce_us
from timekit.errors import OutOfRangeError
from timekit.timestamp import Timestamp

__all__ = ["Clock", "Participant", "SystemClock", "VirtualClock", "Waiter"]

#: VirtualClock's default start: 2000-01-01T00:00:00Z, readable in test output.
DEFAULT_VIRTUAL_START_US = 946_684_800_000_000
#: VirtualClock's default ``stall_timeout`` (real seconds).
DEFAULT_STALL_TIMEOUT = 0.25

_MAX_US = Timestamp.MAX.micros
_TIMEOUT_MAX_S = threading.TIMEOUT_MAX
_monotonic_ns = time.monotonic_ns
_time_ns = time.time_ns


@runtime_checkable
class Waiter(Protocol):
    """Something a thread can sleep on until a timeout passes or another thread wakes it."""

    def wait(self, timeout_us: int | None) -> bool:
        """Block until ``timeout_us`` us of this clock's monotonic time have passed, or wake().

        Returns True if woken, False if the timeout passed; None waits without a
        timeout. A wake() before wait() makes the next wait() return True at once
        (the flag is cleared when wait returns True).
        """
        ...

    def wake(self) -> None:
        """Wake the waiting thread (or the next wait). Thread-safe and cheap."""
        ...


@runtime_checkable
class Clock(Protocol):
    """A source of wall and monotonic time that can make waiters."""

    def now(self) -> Timestamp:
        """Wall time."""
        ...

    def now_us(self) -> int:
        """Wall time as int microseconds since the Unix epoch."""
        ...

    def monotonic_us(self) -> int:
        """Monotonic microseconds; only differences are meaningful."""
        ...

    def waiter(self) -> Waiter:
        """A new Waiter bound to this clock."""
        ...


@runtime_checkable
class Participant(Protocol):
    """Something that acts at instants of a `VirtualClock` (a scheduler's runtime):
    attached with `VirtualClock.attach`, it lets `VirtualClock.advance` step the
    clock through each instant it has work at, one at a time."""

    def settle(self) -> tuple[bool, int | None]:
        """Block until everything due at or before the clock's now has run.

        Returns ``(True, next)`` with the next instant (int us, after now) it has
        work at, or None; ``(False, None)`` when it cannot wait (it would wait for
        the calling thread, or its work has stopped making progress), and the clock
        then moves straight on to the end of the advance.
        """
        ...


def _check_timeout(timeout_us: object) -> None:
    if isinstance(timeout_us, bool) or not isinstance(timeout_us, int):
        raise TypeError(
            f"wait() needs a timeout in int microseconds or None, not {type(timeout_us).__name__} ({timeout_us!r})"
        )


# --------------------------------------------------------------------------- system clock


class _SystemWaiter:
    """A Waiter on real monotonic time: a lock used as a binary semaphore (held: no
    wake pending), so ``wait`` is one timed ``acquire`` and ``wake`` one ``release``,
    with no Python-level condition variable on either side (the clock actor waits
    and is woken about a thousand times a second under load)."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = threading.Lock()
        self._pending.acquire()  # no wake pending

    def wait(self, timeout_us: int | None) -> bool:
        """See :class:`Waiter`. A timeout <= 0 only consumes a pending wake()."""
        if timeout_us is None:
            return self._pending.acquire()
        if timeout_us.__class__ is not int:
            _check_timeout(timeout_us)
        if timeout_us <= 0:
            return self._pending.acquire(False)
        return self._pending.acquire(True, min(timeout_us / 1e6, _TIMEOUT_MAX_S))

    def wake(self) -> None:
        """See :class:`Waiter`."""
        try:
            self._pending.release()
        except RuntimeError:  # a wake is already pending
            pass

    def __repr__(self) -> str:
        return f"<SystemClock waiter woken={not self._pending.locked()}>"


class SystemClock:
    """The real clocks: ``time.time_ns`` for wall time, ``time.monotonic_ns`` for waits.

    Interval schedules should be driven by :meth:`monotonic_us` (a stepped wall
    clock then neither bursts nor stalls them) and calendar schedules by
    :meth:`now_us`, re-read on every wake; see the module docs.
    """

    __slots__ = ()

    def now(self) -> Timestamp:
        """Current wall time."""
        return Timestamp(_time_ns() // 1000)

    def now_us(self) -> int:
        """Current wall time, int microseconds since the Unix epoch."""
        return _time_ns() // 1000

    def monotonic_us(self) -> int:
        """Monotonic microseconds (never steps; only differences are meaningful)."""
        return _monotonic_ns() // 1000

    def waiter(self) -> Waiter:
        """A new Waiter whose timeouts run on the monotonic clock."""
        return _SystemWaiter()

    def __repr__(self) -> str:
        return "SystemClock()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SystemClock)

    def __hash__(self) -> int:
        return hash(SystemClock)


# --------------------------------------------------------------------------- virtual clock


def _instant_us(value: object, what: str) -> int:
    if isinstance(value, Timestamp):
        return value.micros
    if isinstance(value, datetime):
        return Timestamp.from_datetime(value).micros  # naive -> ValueError saying to attach tzinfo
    if isinstance(value, int) and not isinstance(value, bool):
        return Timestamp(value).micros
    raise TypeError(
        f"{what} needs a Timestamp, an aware datetime or int microseconds since the epoch, "
        f"not {type(value).__name__} ({value!r}); use Timestamp.from_seconds() for Unix seconds"
    )


class _VirtualWaiter:
    """A Waiter on a VirtualClock: released when virtual time reaches its deadline or on wake()."""

    __slots__ = ("_clock", "_woken")

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._woken = False

    def wait(self, timeout_us: int | None) -> bool:
        """See :class:`Waiter`; the calling thread really blocks until advance()/set()/wake()."""
        if timeout_us is not None and timeout_us.__class__ is not int:
            _check_timeout(timeout_us)
        clock = self._clock
        cond = clock._cond
        with cond:
            if self._woken:
                self._woken = False
                return True
            if timeout_us is not None and timeout_us <= 0:
                return False
            deadline = None if timeout_us is None else clock._now + timeout_us
            clock._pending += 1
            cond.notify_all()  # for wait_for_waiters()
            try:
                while not self._woken and (deadline is None or clock._now < deadline):
                    cond.wait()
            finally:
                clock._pending -= 1
            if self._woken:
                self._woken = False
                return True
            return False

    def wake(self) -> None:
        """See :class:`Waiter`."""
        cond = self._clock._cond
        with cond:
            self._woken = True
            cond.notify_all()

    def __repr__(self) -> str:
        return f"<VirtualClock waiter woken={self._woken}>"


class VirtualClock:
    """A clock that moves only when told to: for exact, instant scheduling tests.

    ``start`` is a Timestamp, an aware datetime, int microseconds since the epoch
    or None for the readable default 2000-01-01T00:00:00Z. Wall and monotonic
    time are the same number. :meth:`advance` and :meth:`set` move time forward
    (never back) and release every waiter whose deadline has been reached.
    Thread-safe.

    With participants attached (a `Scheduler` on this clock attaches its runtime),
    :meth:`advance` *steps*: it moves now to each instant a participant has work
    at, in turn, and waits until that work has run before moving on, so a target
    reading ``clock.now()`` sees its own firing's instant; it returns at the end
    of the span with everything due up to it done. If the work of an instant
    makes no progress for ``stall_timeout`` real seconds (a target blocked on
    something the caller does after advance returns), or advance is called from
    a thread the work needs (a target, a callback, the event loop coroutine
    targets run on), it moves straight to the end instead, as real time would run
    on while a target is blocked; the scheduler then runs what came due late.
    """

    __slots__ = ("_cond", "_goal", "_now", "_participants", "_pending", "_stepping", "stall_timeout")

    def __init__(
        self, start: Timestamp | datetime | int | None = None, *, stall_timeout: float = DEFAULT_STALL_TIMEOUT
    ) -> None:
        if isinstance(stall_timeout, bool) or not isinstance(stall_timeout, (int, float)) or not stall_timeout > 0:
            raise ValueError(f"VirtualClock(stall_timeout=) must be a positive number of seconds, got {stall_timeout!r}")
        self._cond = threading.Condition(threading.Lock())
        self._now = DEFAULT_VIRTUAL_START_US if start is None else _instant_us(start, "VirtualClock(start=)")
        #: Where the advances so far lead (> _now only while one is stepping).
        self._goal = self._now
        self._pending = 0
        self._participants: tuple[Participant, ...] = ()
        self._stepping = False
        #: Real seconds an instant's work may make no progress before advance() moves on.
        self.stall_timeout = float(stall_timeout)

    def attach(self, participant: Participant) -> None:
        """Let ``participant`` settle each instant of an :meth:`advance` (see the class docs)."""
        if not callable(getattr(participant, "settle", None)):
            raise TypeError(f"attach() needs an object with settle(), not {type(participant).__name__}")
        with self._cond:
            if participant not in self._participants:
                self._participants += (participant,)

    def detach(self, participant: Participant) -> None:
        """Stop stepping for ``participant`` (no-op if it was not attached)."""
        with self._cond:
            self._participants = tuple(p for p in self._participants if p is not participant)

    def now(self) -> Timestamp:
        """Current virtual time."""
        return Timestamp(self._now)

    def now_us(self) -> int:
        """Current virtual time, int microseconds since the epoch."""
        return self._now

    def monotonic_us(self) -> int:
        """Same as :meth:`now_us` (virtual time never goes backwards)."""
        return self._now

    def waiter(self) -> Waiter:
        """A new Waiter released by virtual time."""
        return _VirtualWaiter(self)

    def advance(
        self,
        by: DurationLike | None = None,
        /,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
        milliseconds: float = 0,
        microseconds: float = 0,
    ) -> Timestamp:
        """Move time forward by ``by`` (any duration `Duration.coerce` takes) plus any keyword parts.

        ``clock.advance(5)``, ``clock.advance("250ms")``, ``clock.advance(Duration.from_millis(5))``
        and ``clock.advance(days=365)`` all work. Returns the new now. A negative total
        raises ValueError (virtual time never goes backwards). With participants
        attached it steps through their instants and returns once their work up to
        the new now has run (see the class docs).
        """
        total = 0 if by is None else coerce_us(by, "VirtualClock.advance(by)", minimum=None)
        for name, value, factory in (
            ("days", days, Duration.from_days),
            ("hours", hours, Duration.from_hours),
            ("minutes", minutes, Duration.from_minutes),
            ("seconds", seconds, Duration.from_seconds),
            ("milliseconds", milliseconds, Duration.from_millis),
            ("microseconds", microseconds, Duration.from_micros),
        ):
            if value.__class__ is int and value == 0:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, Fraction, Decimal)):
                raise TypeError(f"VirtualClock.advance({name}=) needs a number, not {type(value).__name__} ({value!r})")
            total += factory(value).micros
        if total < 0:
            raise ValueError(
                f"VirtualClock.advance() needs a non-negative span, got {total} us: virtual time never goes backwards"
            )
        return self._forward(total, None)

    def set(self, when: Timestamp | datetime | int) -> Timestamp:
        """Move to ``when`` (Timestamp, aware datetime or int us), stepping as :meth:`advance`
        does; earlier than now -> ValueError."""
        return self._forward(0, _instant_us(when, "VirtualClock.set()"))

    def _forward(self, total: int, to: int | None) -> Timestamp:
        """Move ``total`` us forward, or to ``to``; returns the new now (see the class docs)."""
        cond = self._cond
        with cond:
            if to is not None:
                if to < self._now:
                    raise ValueError(
                        f"VirtualClock.set() to {Timestamp(to)} is earlier than now ({Timestamp(self._now)}): "
                        "virtual time never goes backwards; create a new VirtualClock to restart"
                    )
                total = to - self._now
            if self._goal + total > _MAX_US:
                raise OutOfRangeError(f"VirtualClock.advance() would move past {Timestamp.MAX}; advance by less")
            if self._stepping:
                # Another advance is stepping (this one comes from a firing it waits for,
                # or from another thread): time passes at once, and the stepping one
                # goes on to the end of both.
                self._now += total
                self._goal += total
                cond.notify_all()
                return Timestamp(self._now)
            goal = self._goal = self._now + total
            participants = self._participants
            if not participants:
                self._now = goal
                cond.notify_all()
                return Timestamp(goal)
            self._stepping = True
        stuck = 0  # rounds in which a participant reported work due at now although settled
        try:
            while True:
                nxt: int | None = None
                settled = True
                for p in participants:
                    ok, due = p.settle()
                    if not ok:
                        settled = False
                        break
                    if due is not None and (nxt is None or due < nxt):
                        nxt = due
                with cond:
                    participants = self._participants
                    goal = self._goal
                    if nxt is not None and nxt <= self._now:
                        stuck += 1
                    if not settled or nxt is None or nxt > goal or stuck > 100:
                        self._now = goal  # nothing more due on the way (or cannot wait): the end
                        cond.notify_all()
                        return Timestamp(goal)
                    if nxt > self._now:
                        self._now = nxt  # the next instant with work: let it run
                        cond.notify_all()
        finally:
            with cond:
                self._stepping = False

    @property
    def pending_waiters(self) -> int:
        """How many threads are blocked in a waiter's wait() right now."""
        return self._pending

    def wait_for_waiters(self, count: int = 1, timeout: float | None = None) -> bool:
        """Block (real time, ``timeout`` seconds) until at least ``count`` threads wait; for tests."""
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"wait_for_waiters() count must be an int, not {type(count).__name__}")
        with self._cond:
            return self._cond.wait_for(lambda: self._pending >= count, timeout)

    def __repr__(self) -> str:
        return f"VirtualClock(now={Timestamp(self._now).isoformat()}, pending_waiters={self._pending})"
