"""Leased deadlines: the clock hands the deadlines due soon (a *run*, in order) to an
idle execution thread, which sleeps until each, delivers the tick and runs the
execution; the clock takes back what waits behind a long execution.

Real time (leases exist only on the system clock); every bound is generous and
none decides speed: what is checked is that leased firings are never early, are
all counted, and that cancel, pause and stop still win over a lease in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from actors import Scheduler, ScheduleStatus, clock_actor, leasing
from actors.executor import ExecutionPool
from actors.messages import Tick
from timekit import Duration, ScheduleAt, Timestamp


@pytest.fixture
def real() -> Iterator[Scheduler]:
    before = set(threading.enumerate())
    s = Scheduler().start()
    yield s
    assert s.stop(timeout=10)
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads outlived stop(): {leaked}"


def spy_leases(sched: Scheduler) -> tuple[list[tuple[int, int, int]], threading.Event]:
    """Record the leases the clock makes (the clock calls ``Leases.lease``)."""
    rt: Any = sched._rt
    made: list[tuple[int, int, int]] = []
    event = threading.Event()
    real_lease = rt.leases.lease

    def lease(run: list[int]) -> None:
        it = iter(run)
        made.extend(zip(it, it, it, strict=True))
        event.set()
        real_lease(run)

    rt.leases.lease = lease
    return made, event


def test_leased_firings_run_on_execution_threads_never_early_and_all_counted(real: Scheduler) -> None:
    made, _ = spy_leases(real)
    calls: list[tuple[str, int]] = []
    sid = real.schedule_at_interval(lambda: calls.append((threading.current_thread().name, time.monotonic_ns())), (), 0.03)
    time.sleep(0.5)
    assert real.cancel_schedule(sid)
    assert real.wait_idle(10)
    info = real.get_schedule(sid)
    assert info is not None
    assert made and {m[0] for m in made} == {sid}
    assert len(calls) == info.execution_count >= 5
    assert all("-exec-" in name for name, _ in calls)  # never the clock's thread
    results = [r for r in real.get_execution_metrics() if r.schedule_id == sid]
    assert len(results) == len(calls)
    assert all(r.start_time >= r.scheduled_time for r in results)  # a lease never fires early
    rt: Any = real._rt
    assert rt.activity.count == 0


def at_interval(sched: Scheduler, target: Any, first_in_us: int, every_us: int) -> int:
    """An interval schedule whose first firing is ``first_in_us`` from now."""
    start = sched.clock.now_us() + first_in_us - every_us
    return sched.schedule(target, (), ScheduleAt.at_interval(Duration(every_us), start=Timestamp(start)))


def test_a_run_of_deadlines_is_served_in_order_never_early_and_all_counted(real: Scheduler) -> None:
    made, _ = spy_leases(real)
    calls: dict[int, list[int]] = {}
    sids = []
    for k in range(40):  # 40 schedules, first firings 0.25 ms apart, every 20 ms
        box: list[int] = []
        sid = at_interval(real, lambda box=box: box.append(time.monotonic_ns()), 200_000 + 250 * k, 20_000)
        calls[sid] = box
        sids.append(sid)
    time.sleep(0.5)
    for sid in sids:
        assert real.cancel_schedule(sid)
    assert real.wait_idle(10)
    rt: Any = real._rt
    assert rt.activity.count == 0
    results = [r for r in real.get_execution_metrics() if r.schedule_id in calls]
    assert len(results) == sum(len(b) for b in calls.values()) == real.get_execution_stats()["total_executions"]
    assert all(r.start_time >= r.scheduled_time for r in results)
    for sid in sids:  # each schedule's own firings: in order, on its 20 ms grid, none lost uncounted
        mine = sorted(r.scheduled_time.micros for r in results if r.schedule_id == sid)
        assert all((t - mine[0]) % 20_000 == 0 for t in mine)
        skipped = (mine[-1] - mine[0]) // 20_000 + 1 - len(mine)  # grid points with no execution
        info = real.get_schedule(sid)
        assert info is not None and skipped <= info.missed_count  # coalesced (a firing > 20 ms late), counted
    leased = {m[0] for m in made}
    assert leased and leased <= set(sids)


def test_a_long_execution_does_not_hold_back_the_deadlines_leased_after_it(
    real: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A and B are due 0.5 ms apart, so one run holds both; A blocks until B has
    run: the clock must take B back (`Leases.reclaim`) and fire it itself."""
    runs: list[list[int]] = []
    rt: Any = real._rt
    real_lease = rt.leases.lease
    monkeypatch.setattr(rt.leases, "lease", lambda run: (runs.append(list(run)), real_lease(run)))
    reclaimed: list[int] = []
    real_reclaim = rt.leases.reclaim

    def reclaim(now: int) -> tuple[list[int], int | None]:
        stolen, check = real_reclaim(now)
        reclaimed.extend(stolen[0::3])
        return stolen, check

    monkeypatch.setattr(rt.leases, "reclaim", reclaim)
    # The premise needs the clock awake 2 ms before A is due; on a loaded machine it may
    # wake later and fire both itself (nothing leased): then try again, a few times.
    for _attempt in range(5):
        runs.clear()
        reclaimed.clear()
        release = threading.Event()
        b_ran = threading.Event()
        a = at_interval(real, lambda release=release: release.wait(10), 300_000, 3_600_000_000)
        b = at_interval(real, b_ran.set, 300_500, 3_600_000_000)
        assert b_ran.wait(5), "B waited for A's execution to end"
        assert not release.is_set()
        release.set()
        assert real.wait_idle(10)
        if [r for r in runs if a in r[0::3] and b in r[0::3]]:
            break
        real.cancel_schedule(a)
        real.cancel_schedule(b)
    together = [r for r in runs if a in r[0::3] and b in r[0::3]]
    assert together, f"A and B were not leased in one run in 5 attempts: {runs}"
    assert b in reclaimed
    for sid in (a, b):
        info = real.get_schedule(sid)
        assert info is not None and info.execution_count == 1 and info.missed_count == 0
    late = next(r for r in real.get_execution_metrics() if r.schedule_id == b)
    assert late.start_time >= late.scheduled_time


def test_cancel_or_pause_while_a_lease_sleeps_wins(real: Scheduler, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock_actor, "LEASE_AHEAD_US", 300_000)  # leases 0.3 s ahead: time to act
    made, leased = spy_leases(real)
    calls: list[int] = []
    a = real.schedule_at_interval(calls.append, (1,), 0.5)
    assert leased.wait(5)
    assert made[0][0] == a
    assert real.cancel_schedule(a)  # the lease still sleeps (due 0.3 s after it was made)
    leased.clear()
    b = real.schedule_at_interval(calls.append, (2,), 0.5)
    assert leased.wait(5)
    assert made[-1][0] == b
    assert real.pause(b)
    time.sleep(0.5)  # both leased deadlines have passed
    assert real.wait_idle(10)
    assert calls == []
    assert real.get_schedule(a).status is ScheduleStatus.CANCELLED  # type: ignore[union-attr]
    assert real.get_schedule(b).status is ScheduleStatus.PAUSED  # type: ignore[union-attr]
    assert real.get_schedule(b).missed_count == 0  # type: ignore[union-attr]


def test_stop_wakes_a_sleeping_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock_actor, "LEASE_AHEAD_US", 5_000_000)  # a lease sleeps up to 5 s
    before = set(threading.enumerate())
    sched = Scheduler().start()
    _made, leased = spy_leases(sched)
    calls: list[int] = []
    sched.schedule_at_interval(calls.append, (1,), 6)
    sched.schedule_at_interval(calls.append, (2,), 6.001)  # the same run: it is dropped whole
    assert leased.wait(5)
    t0 = time.monotonic()
    assert sched.stop(timeout=10)
    assert time.monotonic() - t0 < 3  # not the lease's 5 s
    assert calls == []
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_a_tick_for_a_firing_already_served_is_ignored(real: Scheduler) -> None:
    """A restarted actor re-arms its pending firing, which a lease may also hold:
    the second tick for the same firing must not run it again."""
    started = threading.Event()
    calls: list[int] = []

    def target() -> None:
        calls.append(1)
        started.set()

    sid = real.schedule_at_interval(target, (), 3600)
    rt: Any = real._rt
    st = rt.states[sid]
    first = Tick(st.next_due_us, st.generation)
    rt.activity.add()  # what the clock does for each tick it sends
    st.actor_ref.tell(first)
    assert started.wait(5)
    assert real.wait_idle(10)
    rt.activity.add()
    st.actor_ref.tell(first)  # the same firing again
    assert real.wait_idle(10)
    info = real.get_schedule(sid)
    assert calls == [1]
    assert info.execution_count == 1 and info.missed_count == 0  # type: ignore[union-attr]


def test_pool_nap_sleeps_and_shutdown_cuts_it_short() -> None:
    pool = ExecutionPool(2, name="nap-test")
    pool.start()
    t0 = time.monotonic()
    out: list[bool] = []
    done = threading.Event()
    pool.submit(lambda: (out.append(pool.nap(0.05)), done.set()))
    assert done.wait(5)
    assert out == [True] and time.monotonic() - t0 >= 0.05
    pool.submit(lambda: out.append(pool.nap(30)))
    time.sleep(0.1)
    t0 = time.monotonic()
    assert pool.shutdown(timeout=10)
    assert time.monotonic() - t0 < 5
    assert out == [True, False]


def test_pool_spare_counts_idle_threads_beyond_queued_work() -> None:
    pool = ExecutionPool(3, name="spare-test")
    pool.start()
    deadline = time.monotonic() + 5
    while pool.spare() != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.spare() == 2  # three idle, one kept in reserve
    release = threading.Event()
    pool.submit(release.wait)
    while pool.spare() != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.spare() == 1
    release.set()
    assert pool.shutdown(timeout=10)
    assert pool.spare() == 0


class _Inbox:
    def __init__(self, got: list[Any]) -> None:
        self.got = got

    def post(self, message: Any, here: Any = None) -> bool:
        self.got.append(message)
        return False  # "busy": nothing for the clock to run itself


class _FakeActor:
    def __init__(self, got: list[Any]) -> None:
        self.actor_inbox = _Inbox(got)


class _StallingLessee:
    """Takes one lease; its second look finds a deadline stalled behind an execution."""

    def __init__(self, stalled: list[int]) -> None:
        self.stalled = stalled
        self.looks = 0
        self.leased: list[list[int]] = []

    def spare(self) -> int:
        return 1 - len(self.leased)

    def lease(self, run: list[int]) -> None:
        self.leased.append(run)

    def reclaim(self, now: int) -> tuple[list[int], int | None]:
        self.looks += 1
        return (self.stalled, 500) if self.looks == 2 else ([], None)


def test_the_clock_sends_what_any_look_reclaims_with_the_tokens_it_already_holds() -> None:
    from actors.activity import Activity
    from actors.clock_actor import ClockActor, arm
    from actors.timebase import Timebase
    from timekit import SystemClock

    got: list[Any] = []
    activity = Activity()
    stalled = [7, 1_000, 3]  # sid 7, due at 1,000 µs, generation 3: leased earlier, stalled
    lessee = _StallingLessee(list(stalled))
    clock = ClockActor(Timebase(SystemClock()), lambda sid: _FakeActor(got), activity, lessee=lessee)
    now = 10_000
    clock._apply(arm(1, 1, now + 500, False))
    wake = clock._lease(now, 500)
    assert lessee.leased == [[1, now + 500, 1]]
    assert activity.count == 1  # the new lease's token; the reclaimed tick brought its own
    assert [(t.scheduled_us, t.generation) for t in got] == [(1_000, 3)]
    assert wake == 500


def _past_run(sched: Scheduler, sids: list[int], late_us: int = 10_000) -> leasing.Lease:
    """A lease of one firing per schedule, all already ``late_us`` overdue (what a
    lease thread that fell behind holds), with the tokens the clock would give."""
    rt: Any = sched._rt
    base = rt.timebase.timeline_us() - late_us
    run: list[int] = []
    for j, sid in enumerate(sids):
        st = rt.states[sid]
        st.next_due_us = base + j
        rt.activity.add()
        run += [sid, base + j, st.generation]
    return leasing.Lease(run)


def test_a_lease_that_is_behind_calls_its_targets_first_and_books_them_after(real: Scheduler) -> None:
    rt: Any = real._rt
    seen: list[bool] = []  # at each call: was the previous schedule's execution still unbooked?
    sids: list[int] = []

    def target(k: int) -> None:
        if k:
            seen.append(rt.states[sids[k - 1]].running)

    sids += [real.schedule(target, (k,), ScheduleAt.at_interval(Duration(3_600_000_000))) for k in range(5)]
    lease = _past_run(real, sids)
    rt.leases.serve(lease)
    assert seen == [True, True, True, True]  # behind: each next target ran before the booking
    assert not any(rt.states[sid].running for sid in sids)  # ...and all were booked by the end
    assert real.wait_idle(10)
    assert rt.activity.count == 0
    for sid in sids:
        info = real.get_schedule(sid)
        assert info is not None and info.execution_count == 1 and info.status is ScheduleStatus.PENDING
    assert real.get_execution_stats()["total_executions"] == 5


def test_a_lease_on_time_books_each_result_before_the_next_firing(real: Scheduler) -> None:
    rt: Any = real._rt
    seen: list[bool] = []
    sids: list[int] = []

    def target(k: int) -> None:
        if k:
            seen.append(rt.states[sids[k - 1]].running)

    sids += [real.schedule(target, (k,), ScheduleAt.at_interval(Duration(3_600_000_000))) for k in range(3)]
    lease = _past_run(real, sids, late_us=0)
    now = rt.timebase.timeline_us()
    for j in range(3):
        lease.run[3 * j + 1] = now + 20_000 * (j + 1)  # 20 ms apart, in the future
        rt.states[sids[j]].next_due_us = lease.run[3 * j + 1]
    rt.leases.serve(lease)
    assert seen == [False, False]
    assert real.wait_idle(10)


def test_a_long_nap_wakes_early_and_naps_the_rest(real: Scheduler, monkeypatch: pytest.MonkeyPatch) -> None:
    rt: Any = real._rt
    naps: list[float] = []
    real_nap = ExecutionPool.nap
    monkeypatch.setattr(ExecutionPool, "nap", lambda self, s: (naps.append(s), real_nap(self, s))[1])
    ran: list[int] = []
    sid = real.schedule(lambda: ran.append(time.monotonic_ns()), (), ScheduleAt.at_interval(Duration(3_600_000_000)))
    lease = _past_run(real, [sid], late_us=0)
    due = lease.run[1] = rt.timebase.timeline_us() + 30_000
    rt.states[sid].next_due_us = due
    rt.leases.serve(lease)
    assert naps and naps[0] <= (30_000 - leasing.NAP_MARGIN_US) / 1e6  # meant to wake early...
    # ...and nap the rest briefly (unless the first nap itself ended that late)
    assert all(n <= 2 * leasing.NAP_MARGIN_US / 1e6 for n in naps[1:])
    assert len(ran) == 1
    assert real.wait_idle(10)
    result = next(r for r in real.get_execution_metrics() if r.schedule_id == sid)
    assert result.start_time >= result.scheduled_time  # never early


def test_reclaim_takes_back_a_run_only_from_a_thread_stuck_in_one_execution(real: Scheduler) -> None:
    """Behind is not stuck: a thread serving overdue deadlines with quick targets keeps
    its run; one whose current execution has run `RECLAIM_AFTER_US` loses the rest."""
    rt: Any = real._rt
    now = 1_000_000_000
    run = [1, now - 5_000, 1, 2, now - 5_000, 1, 3, now - 4_000, 1]  # all overdue
    lease = leasing.Lease(list(run))
    lease.next = 3  # running the first one's target; the second is next
    rt.leases.out = [lease]
    try:
        lease.inline = now - leasing.RECLAIM_AFTER_US // 2  # a target started 0.5 ms ago
        stolen, check = rt.leases.reclaim(now)
        assert stolen == [] and lease.next == 3
        assert check == leasing.RECLAIM_AFTER_US // 2  # looks again when it would be stuck
        lease.inline = None  # between targets (or waiting for the GIL)
        stolen, check = rt.leases.reclaim(now)
        assert stolen == [] and check == leasing.RECLAIM_AFTER_US
        lease.inline = now - leasing.RECLAIM_AFTER_US  # stuck for 1 ms
        stolen, check = rt.leases.reclaim(now)
        assert stolen == run[3:] and lease.next == len(run)
        assert rt.leases.out == []
    finally:
        rt.leases.out = []
