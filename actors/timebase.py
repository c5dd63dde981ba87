"""The time bases a scheduler runs on.

Interval schedules live on a *timeline*: the clock's monotonic time shifted so it
reads as wall time when the scheduler starts.  A stepped wall clock (NTP, a manual
change) therefore neither bursts nor stalls them.  Calendar schedules (one-shot
times, daily, cron) live on wall time, which the clock actor re-reads at least
once a second while such deadlines are pending, so they follow a stepped clock.

With a `timekit.VirtualClock` the runtime *simulates*: the clock actor delivers
the due deadlines one instant at a time, in time order, and waits until every
execution of that instant has finished before the next.  The runtime is also
attached to the clock (`Stepper.settle`), so ``clock.advance(days=365)`` itself
steps the clock to each of those instants in turn and waits for its work: the
clock reads the instant being delivered, for the runtime and for targets alike.
When advance cannot wait (a target blocked on the test, see `VirtualClock`), it
moves to the end at once; then ``now`` reads as the instant being delivered plus
whatever virtual time passed since, so a test that advances the clock while an
execution is blocked makes that execution late, as real time would.
"""

from __future__ import annotations

from timekit import Clock, VirtualClock

__all__ = ["Timebase"]


class Timebase:
    """Reads ``now`` in either base as int microseconds."""

    __slots__ = ("_base", "_mono", "_wall", "clock", "cursor", "floor", "offset", "virtual")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._mono = clock.monotonic_us
        self._wall = clock.now_us
        self.offset = clock.now_us() - clock.monotonic_us()
        self.virtual = isinstance(clock, VirtualClock)
        #: In virtual mode, the instant being delivered (None when idle) and the
        #: clock reading when delivery of it began.
        self.cursor: int | None = None
        self._base = 0
        #: Virtual mode: instants before the scheduler started (a restored schedule's
        #: missed firings) are delivered as of the start, not replayed.
        self.floor = clock.now_us()

    def begin_instant(self, instant: int) -> None:
        """Virtual mode: deliveries of ``instant`` start now."""
        self._base = self._wall()
        self.cursor = max(instant, self.floor)

    def end_instants(self) -> None:
        """Virtual mode: nothing is due any more; ``now`` is the clock's time."""
        self.cursor = None

    def timeline_us(self) -> int:
        """Now on the monotonic timeline (what the clock actor compares against)."""
        return self._mono() + self.offset

    def wall_us(self) -> int:
        return self._wall()

    def now_us(self, wall: bool = True) -> int:
        """Now as the runtime's schedules see it, in the wall or timeline base."""
        if self.virtual:
            cursor = self.cursor
            now = self._wall()
            return now if cursor is None else cursor + (now - self._base)
        return self._wall() if wall else self._mono() + self.offset
