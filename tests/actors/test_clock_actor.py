"""The clock actor on a non-virtual clock whose wall time can be stepped by hand.

`SteppedClock` reads monotonic time from a VirtualClock (so tests control it) and
wall time as that plus a step, like a machine whose wall clock NTP just moved.
Not being a VirtualClock, it runs the runtime in real-time mode: everything due
fires at once, late firings are coalesced.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from runtime_support import START

from actors import Scheduler, ScheduleStatus
from timekit import Duration, ScheduleAt, Timestamp, VirtualClock, Waiter

SEC = 1_000_000


class SteppedClock:
    def __init__(self, start: Timestamp) -> None:
        self.v = VirtualClock(start)
        self.step = 0

    def now(self) -> Timestamp:
        return Timestamp.from_micros(self.now_us())

    def now_us(self) -> int:
        return self.v.now_us() + self.step

    def monotonic_us(self) -> int:
        return self.v.monotonic_us()

    def waiter(self) -> Waiter:
        return self.v.waiter()

    def tick(self, seconds: float, sched: Scheduler) -> None:
        self.v.advance(Duration.from_seconds(seconds))
        assert sched.wait_idle(10)


@pytest.fixture
def stepped() -> Iterator[tuple[SteppedClock, Scheduler]]:
    clock = SteppedClock(START)
    before = set(threading.enumerate())
    s = Scheduler(clock=clock).start()
    yield clock, s
    assert s.stop(10)
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_intervals_ignore_a_stepped_wall_clock(stepped: tuple[SteppedClock, Scheduler]) -> None:
    clock, sched = stepped
    sid = sched.schedule_at_interval(lambda: None, (), 1.0)
    clock.tick(1, sched)
    clock.step = 3600 * SEC  # wall clock jumps an hour forward: no burst
    clock.tick(1, sched)
    clock.step = -7200 * SEC  # ...and two hours back: no stall
    clock.tick(1, sched)
    info = sched.get_schedule(sid)
    assert info is not None
    assert (info.execution_count, info.missed_count) == (3, 0)


def test_calendar_schedules_follow_a_stepped_wall_clock(stepped: tuple[SteppedClock, Scheduler]) -> None:
    clock, sched = stepped
    at = sched.schedule_at_time(lambda: None, (), START + Duration.from_hours(1))
    clock.tick(1, sched)
    assert sched.get_schedule(at).status is ScheduleStatus.PENDING  # type: ignore[union-attr]
    clock.step = 3600 * SEC  # the wall clock now says the hour has come
    clock.tick(1, sched)  # noticed within the one-second wall re-check
    assert sched.get_schedule(at).status is ScheduleStatus.COMPLETED  # type: ignore[union-attr]


def test_late_firings_coalesce_and_are_counted_in_real_time_mode(stepped: tuple[SteppedClock, Scheduler]) -> None:
    clock, sched = stepped
    sid = sched.schedule_at_interval(lambda: None, (), 1.0)
    clock.tick(10.5, sched)  # ten firings due at once: one run, for the latest; nine missed
    info = sched.get_schedule(sid)
    assert info is not None
    assert (info.execution_count, info.missed_count) == (1, 9)
    (result,) = sched.get_execution_metrics()
    assert result.scheduled_time == START + Duration.from_seconds(10)
    assert result.lateness == Duration.from_millis(500)
    assert result.missed == 9
    assert sched.get_execution_stats()["missed_executions"] == 9


def test_many_deadlines_with_cancellation(stepped: tuple[SteppedClock, Scheduler]) -> None:
    clock, sched = stepped
    ids = [sched.schedule(lambda: None, (), ScheduleAt.at_time(START + Duration(k * 1000 + 1))) for k in range(2000)]
    for sid in ids[::2]:
        assert sched.cancel_schedule(sid)
    clock.tick(3, sched)
    statuses = [sched.get_schedule(i).status for i in ids]  # type: ignore[union-attr]
    assert statuses[::2] == [ScheduleStatus.CANCELLED] * 1000
    assert statuses[1::2] == [ScheduleStatus.COMPLETED] * 1000
    assert sched.get_execution_stats()["total_executions"] == 1000


def test_deadlines_before_the_epoch_fire_in_order() -> None:
    # Arm messages encode deadlines in one int with a bias: instants before 1970
    # (negative microseconds) must sort and fire like any other.
    clock = VirtualClock(Timestamp.parse("1950-01-01T00:00:00Z"))
    fired: list[str] = []
    with Scheduler(clock=clock) as sched:
        sched.schedule(fired.append, ("b",), Timestamp.parse("1950-01-01T00:00:02Z"))
        sched.schedule(fired.append, ("a",), Timestamp.parse("1950-01-01T00:00:01Z"))
        sched.schedule_at_interval(fired.append, ("i",), 1.5)
        clock.advance(Duration.from_seconds(3))
        assert sched.wait_idle(timeout=10)
    assert fired == ["a", "i", "b", "i"]
