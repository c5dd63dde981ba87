"""Concurrency of the runtime: many threads, re-entrant calls, crashes, async targets, real time."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

import pytest
from runtime_support import START, run_for

from actors import Scheduler, ScheduleStatus
from timekit import Duration, VirtualClock


def test_many_threads_scheduling_and_cancelling_leave_a_consistent_registry(
    sched: Scheduler, clock: VirtualClock
) -> None:
    created: list[int] = []
    cancelled: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            mine: list[int] = []
            for _ in range(200):
                if mine and rng.random() < 0.4:
                    sid = mine.pop(rng.randrange(len(mine)))
                    assert sched.cancel_schedule(sid) is True
                    with lock:
                        cancelled.append(sid)
                else:
                    sid = sched.schedule_at_interval(lambda: None, (), rng.choice([0.5, 1.0, 2.0]))
                    mine.append(sid)
                    with lock:
                        created.append(sid)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(set(created)) == len(created)
    assert len(created) + len(cancelled) == 8 * 200
    infos = {i.id: i for i in sched.list_schedules()}
    assert set(infos) == set(created)
    for sid in cancelled:
        assert infos[sid].status is ScheduleStatus.CANCELLED
    live = set(created) - set(cancelled)
    assert {i for i, v in infos.items() if v.status is ScheduleStatus.PENDING} == live
    run_for(sched, clock, 2)
    for sid in cancelled:
        assert sched.get_schedule(sid).execution_count == 0  # type: ignore[union-attr]
    assert all(sched.get_schedule(sid).execution_count >= 1 for sid in live)  # type: ignore[union-attr]


def test_callbacks_may_call_back_into_the_scheduler(sched: Scheduler, clock: VirtualClock) -> None:
    spawned: list[int] = []
    holder: dict[str, int] = {}

    def self_cancelling() -> None:
        spawned.append(sched.schedule_in_seconds(lambda: None, (), 1))
        assert sched.cancel_schedule(holder["id"]) is True
        assert sched.get_schedule(holder["id"]).status is ScheduleStatus.CANCELLED  # type: ignore[union-attr]

    holder["id"] = sched.schedule_at_interval(self_cancelling, (), 1.0)
    sched.add_execution_callback(lambda r: sched.get_execution_stats())
    run_for(sched, clock, 5)
    assert len(spawned) == 1
    assert sched.get_schedule(spawned[0]).status is ScheduleStatus.COMPLETED  # type: ignore[union-attr]


def test_cancel_from_another_thread_means_no_further_start(sched: Scheduler, clock: VirtualClock) -> None:
    runs = [0]
    sid = sched.schedule_at_interval(lambda: runs.__setitem__(0, runs[0] + 1), (), 0.001)
    for _ in range(50):
        clock.advance(Duration.from_millis(1))
    assert sched.cancel_schedule(sid)
    after = runs[0]
    run_for(sched, clock, 1)
    assert runs[0] == after


def test_supervisor_restarts_a_crashed_schedule_actor(sched: Scheduler, clock: VirtualClock) -> None:
    runs = [0]
    sid = sched.schedule_at_interval(lambda: runs.__setitem__(0, runs[0] + 1), (), 1.0)
    run_for(sched, clock, 2)
    old = sched.get_schedule(sid).actor_ref  # type: ignore[union-attr]
    old.tell("not a message a schedule actor knows")  # the handler raises: the actor dies
    deadline = time.monotonic() + 10
    while sched.get_schedule(sid).actor_ref is old and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.005)
    new = sched.get_schedule(sid).actor_ref  # type: ignore[union-attr]
    assert new is not old and new.is_alive() and not old.is_alive()
    run_for(sched, clock, 3)
    info = sched.get_schedule(sid)
    assert info is not None and info.execution_count == 5 and runs[0] == 5
    assert sched.get_execution_stats()["restarts"] == 1
    assert sched.cancel_schedule(sid) is True


def test_async_target_runs_on_the_event_loop(clock: VirtualClock) -> None:
    async def main() -> list[int]:
        seen: list[int] = []
        loop_threads: set[int] = set()

        async def ping(n: int) -> int:
            loop_threads.add(threading.get_ident())
            await asyncio.sleep(0)
            seen.append(n)
            return n * 2

        async with Scheduler(clock=clock) as sched:
            sid = sched.schedule_at_interval(ping, (21,), 1.0)
            clock.advance(Duration.from_seconds(3))
            # Let the loop run the coroutines while waiting in a thread.
            assert await asyncio.get_running_loop().run_in_executor(None, sched.wait_idle, 10)
            results = [r for r in sched.get_execution_metrics() if r.schedule_id == sid]
            assert [r.return_value for r in results] == [42, 42, 42]
        assert loop_threads == {threading.get_ident()}
        return seen

    assert asyncio.run(main()) == [21, 21, 21]


def test_coroutine_target_without_a_loop_is_refused(sched: Scheduler) -> None:
    async def job() -> None:
        pass

    with pytest.raises(ValueError, match="event loop"):
        sched.schedule_at_interval(job, (), 1.0)


def test_real_time_interval_fires_with_generous_bounds() -> None:
    before = set(threading.enumerate())
    hits: list[float] = []
    done = threading.Event()

    def tick() -> None:
        hits.append(time.monotonic())
        if len(hits) == 5:
            done.set()

    with Scheduler() as sched:
        sched.schedule_at_interval(tick, (), 0.02)
        assert done.wait(5)
        assert sched.wait_idle(5)
        stats = sched.get_execution_stats()
    assert stats["total_executions"] >= 5
    assert stats["lateness_max"] < Duration.from_seconds(0.5)
    time.sleep(0)  # threads were joined by stop()
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_real_time_blocking_target_does_not_delay_others() -> None:
    release = threading.Event()
    fast_hits = threading.Semaphore(0)
    with Scheduler(max_concurrent_executions=4) as sched:
        sched.schedule_in_seconds(lambda: release.wait(5), (), 0)
        sched.schedule_at_interval(fast_hits.release, (), 0.01)
        for _ in range(10):
            assert fast_hits.acquire(timeout=5), "a blocked target held up another schedule"
        release.set()


def test_stop_with_a_hung_target_returns_in_bounded_time() -> None:
    hang = threading.Event()
    started = threading.Event()
    sched = Scheduler(daemon=True).start()

    def hung() -> None:
        started.set()
        hang.wait(30)

    sched.schedule_in_seconds(hung, (), 0)
    assert started.wait(5)
    t0 = time.monotonic()
    assert sched.stop(timeout=0.5) is False  # reported, not waited for
    assert time.monotonic() - t0 < 3
    hang.set()


def test_wait_idle_times_out_while_work_is_blocked(sched: Scheduler, clock: VirtualClock) -> None:
    release = threading.Event()
    sched.schedule_in_seconds(lambda: release.wait(10), (), 1)
    clock.advance(Duration.from_seconds(1))
    assert sched.wait_idle(timeout=0.2) is False
    release.set()
    assert sched.wait_idle(timeout=10) is True


@pytest.mark.parametrize("stall_timeout", [None, 0.05])
def test_ten_thousand_schedules_over_a_virtual_day(clock: VirtualClock, stall_timeout: float | None) -> None:
    # A step that applies 10,000 arms is slow, not stalled: with a short stall timeout
    # (or a loaded machine) advance jumped, and coalesced a third of the firings.
    if stall_timeout is not None:
        clock = VirtualClock(START, stall_timeout=stall_timeout)
    with Scheduler(clock=clock) as sched:
        counts = [0]
        lock = threading.Lock()

        def hit() -> None:
            with lock:
                counts[0] += 1

        for i in range(10_000):
            sched.schedule_at_interval(hit, (), [21600, 43200, 86400][i % 3])
        run_for(sched, clock, 86400)
        expected = sum(86400 // [21600, 43200, 86400][i % 3] for i in range(10_000))
        assert counts[0] == expected
        assert sched.get_execution_stats()["total_executions"] == expected
        assert START  # anchor of the virtual day


@pytest.mark.parametrize(
    ("runs_for", "timeout", "stopped_in_time", "outcome"),
    [(0.2, 10, True, "finished"), (30, 0.3, False, "cancelled")],
    ids=["finishes", "cancelled-at-timeout"],
)
def test_stop_lets_a_running_coroutine_finish_until_its_timeout(
    clock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
    runs_for: float,
    timeout: float,
    stopped_in_time: bool,
    outcome: str,
) -> None:
    # As a threaded target does (it used to be cancelled at once: a durable one-shot was
    # then stored as FAILED with a CancelledError); one still running at the timeout is
    # cancelled, quietly.
    seen: list[str] = []

    async def main() -> None:
        started = asyncio.Event()

        async def job() -> str:
            started.set()
            try:
                await asyncio.sleep(runs_for)
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise
            seen.append("finished")
            return "done"

        sched = Scheduler(clock=clock).start()
        sid = sched.schedule_in_seconds(job, (), 0)
        clock.advance(Duration.from_seconds(1))
        await asyncio.wait_for(started.wait(), 5)
        ok = await asyncio.get_running_loop().run_in_executor(None, sched.stop, timeout)
        assert ok is stopped_in_time
        await asyncio.sleep(0.05)
        if outcome == "finished":
            info = sched.get_schedule(sid)
            assert info is not None and info.status is ScheduleStatus.COMPLETED
            assert sched.get_execution_stats()["successful_executions"] == 1

    asyncio.run(main())
    assert seen == [outcome]
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_ticks_still_queued_when_stop_begins_are_skipped_quietly(
    clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    # Under saturation the dispatcher is behind: ticks sit in mailboxes while stop()
    # shuts the execution pool. They must be skipped (no actor death, no token
    # left outstanding, which made stop() wait for its whole timeout).
    from actors.messages import Tick

    sched = Scheduler(clock=clock, daemon=True).start()  # daemon: a failure must not hang pytest
    calls: list[int] = []
    ids = [sched.schedule_at_interval(calls.append, (i,), 1) for i in range(50)]
    assert sched.wait_idle(timeout=10)
    rt = sched._rt
    assert rt is not None
    rt.stopping = True
    assert rt.pool.shutdown(timeout=5)
    for sid in ids:
        st = rt.states[sid]
        rt.activity.add()  # what the clock actor does for each tick it sends
        st.actor_ref.tell(Tick(st.next_due_us, st.generation))
    assert rt.activity.wait_zero(time.monotonic() + 5)
    assert all(rt.states[sid].actor_ref.is_alive() for sid in ids)
    assert calls == []
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    t0 = time.monotonic()
    assert sched.stop(timeout=10)
    assert time.monotonic() - t0 < 5


def test_results_finished_while_others_wait_are_booked_behind_them(clock: VirtualClock) -> None:
    """With executions queued, a finished one's result is booked by a job queued
    behind them (so a herd starts sooner); every result is still booked, in order."""
    sched = Scheduler(clock=clock, max_concurrent_executions=1).start()
    try:
        rt = sched._rt
        assert rt is not None
        deferred = []
        real = rt.execution._book_later

        def spy() -> None:
            deferred.append(len(rt.execution._later))
            real()

        rt.execution._book_later = spy
        ids = [sched.schedule_at_interval(lambda: None, (), 1) for _ in range(50)]
        run_for(sched, clock, 3)
        assert deferred and sum(deferred) > 0  # the deferred path was taken
        for sid in ids:
            info = sched.get_schedule(sid)
            assert info is not None and info.execution_count == 3 and info.missed_count == 0
        assert sched.get_execution_stats()["total_executions"] == 150
    finally:
        assert sched.stop(timeout=10)


def test_deferred_results_are_not_held_by_a_blocking_target() -> None:
    """One execution thread blocks in user code; the other runs a queue of firings
    and books their results although one of the two threads never comes back."""
    sched = Scheduler(max_concurrent_executions=2).start()
    release = threading.Event()
    started = threading.Event()

    def block() -> None:
        started.set()
        release.wait(30)

    blocking = sched.schedule_in_seconds(block, (), 0)
    try:
        assert started.wait(10)
        ids = [sched.schedule_at_interval(lambda: None, (), 0.2) for _ in range(20)]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(sched.get_schedule(i).execution_count >= 1 for i in ids):  # type: ignore[union-attr]
                break
            time.sleep(0.01)
        assert all(sched.get_schedule(i).execution_count >= 1 for i in ids)  # type: ignore[union-attr]
        assert sched.get_schedule(blocking).status is ScheduleStatus.RUNNING  # type: ignore[union-attr]
    finally:
        release.set()
        assert sched.stop(timeout=10)


@pytest.mark.parametrize("where", ["target", "execution callback"])
def test_stop_from_inside_a_target_or_callback_finishes_on_a_helper_thread(where: str) -> None:
    # stop() cannot wait for the execution that calls it (it used to try, and raised
    # "cannot join current thread" half-way, leaving the supervisor and dispatcher running).
    from timekit import VirtualClock

    before = set(threading.enumerate())
    clock = VirtualClock()
    sched = Scheduler(clock=clock, name="stop-inside").start()
    got: list[Any] = []

    def stop_here(*_: Any) -> None:
        got.append(sched.stop(timeout=10))

    if where == "target":
        sid = sched.schedule_in_seconds(stop_here, (), 1)
    else:
        sched.add_execution_callback(stop_here)
        sid = sched.schedule_in_seconds(lambda: None, (), 1)
    clock.advance(Duration.from_seconds(1))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
        not got or [t for t in threading.enumerate() if t not in before and t.is_alive()]
    ):
        time.sleep(0.01)
    assert got == [True]
    assert not [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    info = sched.get_schedule(sid)
    assert info is not None and info.status is ScheduleStatus.COMPLETED
    assert sched.get_execution_stats()["total_executions"] == 1
    assert sched.stop(timeout=1)  # idempotent
    with pytest.raises(RuntimeError, match="stopped"):
        sched.schedule_in_seconds(print, (), 1)
