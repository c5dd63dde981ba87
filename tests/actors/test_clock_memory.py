"""Cancelled deadlines cost bounded memory: the clock's heaps are compacted and its
inbox never piles up arms and disarms while it sleeps."""

from __future__ import annotations

import gc
import time
import tracemalloc

from actors import Scheduler
from actors.clock_actor import COMPACT_MIN, MAX_QUEUED, ClockActor
from timekit import VirtualClock


def clock_of(s: Scheduler) -> ClockActor:
    return s._rt.clock_actor  # type: ignore[union-attr]


def heap_len(c: ClockActor) -> int:
    return len(c._timeline) + len(c._wall)


def test_cancelled_deadlines_do_not_stay_in_the_heaps(clock: VirtualClock, sched: Scheduler) -> None:
    f = lambda: None
    keep = [sched.schedule_at_interval(f, (), 3600) for _ in range(100)]
    for _ in range(20 * COMPACT_MIN):
        sched.cancel_schedule(sched.schedule_in_seconds(f, (), 3600))
        sched.cancel_schedule(sched.schedule_at_interval(f, (), 3600))
    assert sched.wait_idle(30)
    c = clock_of(sched)
    assert c.pending == len(keep)
    assert heap_len(c) <= 2 * c.pending + COMPACT_MIN + MAX_QUEUED  # not 40,000 dead entries


def test_a_sleeping_clock_is_woken_before_its_inbox_piles_up() -> None:
    s = Scheduler(daemon=True).start()  # the system clock: it sleeps until the earliest deadline
    try:
        f = lambda: None
        s.schedule_at_interval(f, (), 3600)  # the clock sleeps for an hour
        q = clock_of(s).actor_inbox._q  # type: ignore[attr-defined]
        for _ in range(4 * MAX_QUEUED):  # arms after the wake-up time and disarms: no wake-up needed
            s.cancel_schedule(s.schedule_at_interval(f, (), 7200))
        deadline = time.monotonic() + 10
        while len(q) >= MAX_QUEUED and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(q) < MAX_QUEUED
    finally:
        s.stop()


def test_create_and_cancel_cycles_do_not_grow_memory(clock: VirtualClock, sched: Scheduler) -> None:
    f = lambda: None
    for _ in range(10):  # live deadlines ahead of the cancelled ones (they keep them in the heap)
        sched.schedule_in_seconds(f, (), 1800)  # the same (wall-time) heap

    def cycles(n: int) -> None:
        for i in range(n):
            sched.cancel_schedule(sched.schedule_in_seconds(f, (), 3600))
            if i % 5_000 == 4_999:
                sched.clear_completed_schedules()
        sched.clear_completed_schedules()
        assert sched.wait_idle(30)
        gc.collect()

    cycles(5_000)  # warm up
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        cycles(20_000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Each dead heap entry kept would be ~56 bytes (20,000 of them: 1.1 MB).
    assert grown < 500_000, f"grew {grown:,} bytes over 20,000 create+cancel cycles"
