"""Virtual time: `VirtualClock.advance` steps through each instant a scheduler has work
at, so a target (or callback) reading the clock it was given sees its own firing's time."""

from __future__ import annotations

import threading
import time

from runtime_support import START

from actors import Scheduler
from timekit import Duration, ScheduleAt, Timestamp, VirtualClock

MS = 1_000
SEC = 1_000_000


def test_targets_and_callbacks_reading_the_clock_see_their_firing_instant(sched: Scheduler, clock: VirtualClock) -> None:
    # They used to read the time after the whole advance (start + 1 day here) for every firing.
    def reader(tag: str) -> object:
        return lambda: seen.append((tag, clock.now().micros - START.micros))

    seen: list[tuple[str, int]] = []
    callbacks: list[tuple[int, int]] = []
    sched.add_execution_callback(lambda r: callbacks.append((r.scheduled_time.micros, clock.now().micros)))
    sched.schedule_at_interval(reader("every 6h"), (), 6 * 3600)
    sched.schedule_daily(reader("daily 02:30"), (), 2, 30, tz="Europe/Paris")  # 01:30 UTC in January
    sched.schedule_cron(reader("cron 15 */8"), (), "15 */8 * * *")
    sched.schedule_at_time(reader("once"), (), START + Duration.from_millis(1500))
    assert clock.advance(Duration.from_days(1)) == START + Duration.from_days(1)
    h = 3600 * SEC
    assert sorted(seen, key=lambda x: (x[1], x[0])) == [
        ("once", 1500 * MS),
        ("cron 15 */8", h // 4),
        ("daily 02:30", h + h // 2),
        ("every 6h", 6 * h),
        ("cron 15 */8", 8 * h + h // 4),
        ("every 6h", 12 * h),
        ("cron 15 */8", 16 * h + h // 4),
        ("every 6h", 18 * h),
        ("every 6h", 24 * h),
    ]
    # advance() returned with every firing run and recorded: no wait_idle() needed.
    assert sched.get_execution_stats()["total_executions"] == 9
    assert len(callbacks) == 9 and all(scheduled == now for scheduled, now in callbacks)


def test_a_target_that_moves_the_clock_itself_takes_that_long(sched: Scheduler, clock: VirtualClock) -> None:
    # A target simulating a slow call by advancing the clock it was given: time passes at
    # once inside it, and the outer advance still steps to the next firings.
    marks: list[tuple[int, int]] = []

    def slow() -> None:
        t0 = clock.now().micros
        clock.advance(Duration.from_millis(250))
        marks.append((t0 - START.micros, clock.now().micros - START.micros))

    sid = sched.schedule_at_interval(slow, (), 1.0)
    end = clock.advance(Duration.from_seconds(3))
    assert marks == [(1 * SEC, 1250 * MS), (2 * SEC, 2250 * MS), (3 * SEC, 3250 * MS)]
    assert end == START + Duration.from_millis(3750)  # 3 s plus the 3 x 250 ms the target moved it
    results = [r for r in sched.get_execution_metrics() if r.schedule_id == sid]
    assert [r.duration for r in results] == [Duration.from_millis(250)] * 3
    assert all(r.lateness == Duration(0) for r in results)


def test_two_schedulers_on_one_clock_step_together() -> None:
    clock = VirtualClock(START)
    seen: list[tuple[str, int]] = []
    with Scheduler(clock=clock, name="a") as a, Scheduler(clock=clock, name="b") as b:
        a.schedule_at_interval(lambda: seen.append(("a", clock.now().micros - START.micros)), (), 0.3)
        b.schedule_at_interval(lambda: seen.append(("b", clock.now().micros - START.micros)), (), 0.5)
        clock.advance(Duration.from_seconds(1))
    assert sorted(seen, key=lambda x: x[1]) == [
        ("a", 300 * MS), ("b", 500 * MS), ("a", 600 * MS), ("a", 900 * MS), ("b", 1000 * MS),
    ]


def test_a_blocked_target_lets_advance_move_on_after_the_stall_timeout() -> None:
    # advance() cannot wait for a target blocked on what the test does after it returns:
    # after stall_timeout of no progress it moves to the end, and the target overran.
    clock = VirtualClock(START, stall_timeout=0.05)
    release = threading.Event()
    started = threading.Event()
    with Scheduler(clock=clock) as sched:
        sched.schedule_at_time(lambda: (started.set(), release.wait(10)), (), START + Duration.from_seconds(1))
        sched.schedule_at_time(lambda: None, (), START + Duration.from_seconds(2))
        t0 = time.monotonic()
        assert clock.advance(Duration.from_seconds(3)) == START + Duration.from_seconds(3)
        assert time.monotonic() - t0 < 5 and started.is_set()
        t0 = time.monotonic()
        clock.advance(Duration.from_seconds(1))  # still stuck there: no second wait
        assert time.monotonic() - t0 < 0.04
        release.set()
        assert sched.wait_idle(10)
        first, second = sorted(sched.get_execution_metrics(), key=lambda r: r.scheduled_time)
        assert first.duration == Duration.from_seconds(3)  # it ran while the clock moved on
        assert second.scheduled_time == START + Duration.from_seconds(2)
        # Delivered once the blocked work ended, at its own instant in the scheduler's time.
        assert second.start_time == START + Duration.from_seconds(2)


def test_advance_inside_an_event_loop_does_not_wait_for_coroutines() -> None:
    import asyncio

    clock = VirtualClock(START)

    async def main() -> list[int]:
        seen: list[int] = []

        async def tick() -> None:
            seen.append(clock.now().micros - START.micros)

        async with Scheduler(clock=clock) as sched:
            sched.schedule_at_interval(tick, (), 1.0)
            t0 = time.monotonic()
            clock.advance(Duration.from_seconds(2))  # on the loop: it cannot wait, so no stall either
            assert time.monotonic() - t0 < 0.2
            assert await asyncio.get_running_loop().run_in_executor(None, sched.wait_idle, 10)
            await asyncio.to_thread(clock.advance, Duration.from_seconds(2))  # off the loop: steps
        return seen

    seen = asyncio.run(main())
    assert seen[-2:] == [3 * SEC, 4 * SEC]


def test_a_timeout_ends_a_hung_execution_while_advance_steps(clock: VirtualClock) -> None:
    release = threading.Event()
    with Scheduler(clock=clock) as sched:
        sid = sched.schedule(lambda: release.wait(10), (), ScheduleAt.at_interval(10), timeout=3)
        clock.advance(Duration.from_seconds(10))
        clock.advance(Duration.from_seconds(5))
        assert sched.wait_idle(10)
        info = sched.get_schedule(sid)
        assert info is not None and info.failure_count == 1
        release.set()
    assert Timestamp.MAX  # module imports used
