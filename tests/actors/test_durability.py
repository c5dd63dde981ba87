"""Durable schedules (SQLite and memory stores), misfire policies, retries, timeouts, jitter."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from runtime_support import START, run_for

from actors import (
    MemoryStore,
    Retry,
    Scheduler,
    ScheduleStatus,
    SQLiteStore,
    StoreLockedError,
)
from timekit import Duration, ScheduleAt, Timestamp, VirtualClock

HOUR = 3600.0


class App:
    """A tiny application: its targets, registered by name on every start."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[object, ...], Timestamp]] = []
        self.sched: Scheduler | None = None

    def start(self, store: object, clock: VirtualClock, **kw: object) -> Scheduler:
        s = Scheduler(clock=clock, store=store, **kw)  # type: ignore[arg-type]
        self.sched = s
        s.register("ping", lambda *a: self.calls.append(("ping", a, s.now())))
        s.register("report", lambda *a: self.calls.append(("report", a, s.now())))
        s.start()
        return s


def test_schedules_and_counters_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    clock = VirtualClock(START)
    app = App()
    s = app.start(SQLiteStore(db), clock)
    every = s.schedule("ping", ("a",), Duration.from_hours(1), metadata={"team": "ops"})
    daily = s.schedule_daily("report", (), 9, 0, tz="Europe/Paris")
    once = s.schedule_at_time("ping", ("once",), START + Duration.from_hours(30))
    done = s.schedule_at_time("ping", ("done",), START + Duration.from_hours(2))
    local = s.schedule_at_interval(lambda: None, (), HOUR)  # a bare callable: memory only
    assert s.get_schedule(every).durable and not s.get_schedule(local).durable  # type: ignore[union-attr]
    run_for(s, clock, 5 * HOUR)
    assert s.stop()

    app2 = App()
    s2 = app2.start(SQLiteStore(db), VirtualClock(clock.now()))
    try:
        assert s2.restored == (4, [])
        info = s2.get_schedule(every)
        assert info is not None
        assert (info.execution_count, info.status, info.metadata) == (5, ScheduleStatus.PENDING, {"team": "ops"})
        assert info.next_execution == START + Duration.from_hours(6)
        assert s2.get_schedule(done).status is ScheduleStatus.COMPLETED  # type: ignore[union-attr]
        assert s2.get_schedule(local) is None
        run_for(s2, s2.clock, 25 * HOUR)  # type: ignore[arg-type]
        names = [(n, a) for n, a, _ in app2.calls]
        assert ("ping", ("done",)) not in names  # a completed one-shot never runs again
        assert names.count(("ping", ("once",))) == 1
        assert names.count(("report", ())) == 1
        assert s2.get_schedule(every).execution_count == 5 + 25  # type: ignore[union-attr]
        new = s2.schedule("ping", (), Duration.from_hours(1))
        assert new > max(every, daily, once, done, local)
    finally:
        s2.stop()


def _downtime(store: object, misfire: str, **kw: object) -> tuple[App, Scheduler, int]:
    """Schedule hourly, run 2 h, stop, restart 10.5 h later."""
    clock = VirtualClock(START)
    app = App()
    s = app.start(store, clock)
    sid = s.schedule("ping", (), Duration.from_hours(1), misfire=misfire, **kw)
    run_for(s, clock, 2 * HOUR)
    s.stop()
    app2 = App()
    later = VirtualClock(START + Duration.from_seconds(12.5 * HOUR))
    s2 = app2.start(store, later)
    assert s2.wait_idle(10)
    return app2, s2, sid


def test_misfire_coalesce_runs_once_for_the_downtime() -> None:
    app, s, sid = _downtime(MemoryStore(), "coalesce")
    try:
        info = s.get_schedule(sid)
        assert info is not None
        assert len(app.calls) == 1
        assert (info.execution_count, info.missed_count) == (3, 9)  # due 3..12 h: ran 12 h
        assert s.get_execution_metrics()[-1].scheduled_time == START + Duration.from_hours(12)
    finally:
        s.stop()


def test_misfire_skip_resumes_at_the_next_future_firing() -> None:
    app, s, sid = _downtime(MemoryStore(), "skip")
    try:
        info = s.get_schedule(sid)
        assert info is not None
        assert app.calls == []
        assert (info.execution_count, info.missed_count) == (2, 10)
        assert info.next_execution == START + Duration.from_hours(13)
    finally:
        s.stop()


def test_misfire_catch_up_runs_each_missed_firing_up_to_the_limit() -> None:
    _app, s, sid = _downtime(MemoryStore(), "catch_up", catch_up_limit=4)
    try:
        info = s.get_schedule(sid)
        assert info is not None
        runs = [r.scheduled_time for r in s.get_execution_metrics()]
        hours = [int((t - START).total_seconds() // 3600) for t in runs]
        # 3..6 caught up one by one (limit 4), then the rest coalesced into the 12 h run.
        assert hours == [3, 4, 5, 6, 12]
        assert info.missed_count == 5
    finally:
        s.stop()


def test_misfire_grace_skips_firings_that_are_too_late() -> None:
    app, s, sid = _downtime(MemoryStore(), "coalesce", misfire_grace=600)
    try:
        info = s.get_schedule(sid)
        assert info is not None
        assert app.calls == []  # the latest due (12 h) is 30 min late: beyond 10 min of grace
        assert info.missed_count == 10
    finally:
        s.stop()


def test_unknown_target_at_restore_is_kept_and_failed(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    clock = VirtualClock(START)
    app = App()
    s = app.start(SQLiteStore(db), clock)
    sid = s.schedule("ping", (), Duration.from_hours(1))
    s.stop()

    bare = Scheduler(clock=VirtualClock(START), store=SQLiteStore(db)).start()  # registers nothing
    info = bare.get_schedule(sid)
    assert info is not None and info.status is ScheduleStatus.FAILED
    assert "not registered" in str(info.last_error)
    bare.stop()

    app3 = App()
    s3 = app3.start(SQLiteStore(db), VirtualClock(START))
    try:
        assert s3.get_schedule(sid).status is ScheduleStatus.PENDING  # type: ignore[union-attr]
    finally:
        s3.stop()


def test_corrupt_rows_are_reported_and_skipped(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    app = App()
    s = app.start(SQLiteStore(db), VirtualClock(START))
    good = s.schedule("ping", (), Duration.from_hours(1))
    s.stop()
    con = sqlite3.connect(db)
    con.execute("INSERT INTO schedules (id, data) VALUES (?, ?)", (999, b"\x93garbage"))
    con.commit()
    con.close()
    s2 = App().start(SQLiteStore(db), VirtualClock(START))
    try:
        assert s2.restored[0] == 1
        assert [rid for rid, _ in s2.restored[1]] == [999]
        assert s2.get_schedule(good) is not None
    finally:
        s2.stop()


def test_a_second_scheduler_on_the_same_store_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    s = Scheduler(clock=VirtualClock(START), store=SQLiteStore(db)).start()
    before = set(threading.enumerate())
    try:
        with pytest.raises(StoreLockedError):
            Scheduler(clock=VirtualClock(START), store=SQLiteStore(db)).start()
        assert set(threading.enumerate()) <= before  # the refused one started no thread
    finally:
        s.stop()


def test_unstorable_arguments_are_refused_up_front() -> None:
    s = App().start(MemoryStore(), VirtualClock(START))
    try:
        with pytest.raises(TypeError, match="args"):
            s.schedule("ping", (object(),), 1.0)
        with pytest.raises(TypeError):
            s.schedule("ping", (), 1.0, kwargs={"when": {1, 2}})
        assert s.list_schedules() == []
        s.schedule(lambda x: None, (object(),), 1.0)  # a bare callable is not stored: fine
    finally:
        s.stop()


def test_cancel_pause_and_reschedule_are_stored_before_returning() -> None:
    store = MemoryStore()
    s = App().start(store, VirtualClock(START))
    a = s.schedule("ping", (), 60.0)
    b = s.schedule("ping", (), 60.0)
    c = s.schedule("ping", (), 60.0)
    assert s.cancel_schedule(a) and s.pause(b) and s.reschedule(c, 30.0)
    s.stop()
    store.open("reader")
    recs = {r.id: r for r in store.load().schedules}
    store.close()
    assert recs[a].status == "cancelled"
    assert recs[b].status == "paused"
    assert recs[c].trigger["every_us"] == 30_000_000


def test_retry_with_exponential_backoff(sched: Scheduler, clock: VirtualClock) -> None:
    attempts: list[Timestamp] = []

    def flaky() -> str:
        attempts.append(sched.now())
        if len(attempts) < 3:
            raise ConnectionError("down")
        return "ok"

    sid = sched.schedule_in_seconds(flaky, (), 10, retry=Retry(attempts=5, backoff=2.0, max_backoff=60.0))
    run_for(sched, clock, 60)
    offsets = [(t - START).total_seconds() for t in attempts]
    assert offsets == [10.0, 12.0, 16.0]  # waits of 2 s, then 4 s
    info = sched.get_schedule(sid)
    assert info is not None and info.status is ScheduleStatus.COMPLETED and info.retries == 2
    results = sched.get_execution_metrics()
    assert [r.attempt for r in results] == [1, 2, 3]
    assert [r.success for r in results] == [False, False, True]
    assert sched.get_execution_stats()["retried_executions"] == 2


def test_retries_exhausted_fail_the_one_shot(sched: Scheduler, clock: VirtualClock) -> None:
    sid = sched.schedule_in_seconds(lambda: 1 / 0, (), 1, retry=2)
    run_for(sched, clock, 60)
    info = sched.get_schedule(sid)
    assert info is not None
    assert (info.status, info.execution_count, info.failure_count) == (ScheduleStatus.FAILED, 3, 3)


def test_timeout_reports_failure_and_does_not_block_the_next_firing(sched: Scheduler, clock: VirtualClock) -> None:
    release = threading.Event()
    runs = [0]

    def work() -> None:
        runs[0] += 1
        if runs[0] == 1:
            release.wait(20)  # the first execution hangs

    sid = sched.schedule_at_interval(work, (), 10.0, timeout=3.0)
    clock.advance(Duration.from_seconds(10))
    deadline = threading.Event()
    while runs[0] < 1 and not deadline.wait(0.001):
        pass
    clock.advance(Duration.from_seconds(5))  # past the 3 s timeout while it hangs
    assert sched.wait_idle(10)
    results = sched.get_execution_metrics()
    assert len(results) == 1 and not results[0].success
    assert isinstance(results[0].error, TimeoutError)
    run_for(sched, clock, 10)  # the next firing runs although the first still hangs
    assert runs[0] == 2
    release.set()
    info = sched.get_schedule(sid)
    assert info is not None and info.failure_count == 1 and info.execution_count == 2


def test_jitter_is_bounded_and_reproducible() -> None:
    def firing_offsets() -> list[float]:
        clock = VirtualClock(START)
        with Scheduler(clock=clock, seed=7) as s:
            for _ in range(5):
                s.schedule(lambda: None, (), ScheduleAt.at_interval(60.0, start=START), jitter=10.0)
            run_for(s, clock, 610)
            return sorted((r.scheduled_time - START).total_seconds() for r in s.get_execution_metrics())

    first = firing_offsets()
    assert first == firing_offsets()
    assert len(first) == 50
    assert all(0 <= t % 60 <= 10 for t in first)
    assert len({t % 60 for t in first}) > 5  # spread, not all on the grid


def test_policy_arguments_are_validated(sched: Scheduler) -> None:
    with pytest.raises(ValueError, match="misfire"):
        sched.schedule_at_interval(print, (), 1.0, misfire="later")
    with pytest.raises(ValueError, match="timeout"):
        sched.schedule_at_interval(print, (), 1.0, timeout=0)
    with pytest.raises(ValueError, match="jitter"):
        sched.schedule_at_interval(print, (), 1.0, jitter=2.0)
    with pytest.raises(TypeError):
        sched.schedule_at_interval(print, (), 1.0, retry="3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="catch_up_limit"):
        sched.schedule_at_interval(print, (), 1.0, catch_up_limit=-1)


def test_full_disk_refuses_the_schedule_and_loses_nothing(tmp_path: Path) -> None:
    from actors import StoreError

    store = SQLiteStore(tmp_path / "full.db")
    s = App().start(store, VirtualClock(START))
    try:
        kept = s.schedule("ping", (), 60.0)
        conn = store._conn
        with store._lock:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StoreError, match="full"):
            s.schedule("ping", ("x" * 50_000,), 60.0)
        assert [i.id for i in s.list_schedules()] == [kept]  # the refused one does not exist
        with store._lock:
            conn.execute("PRAGMA max_page_count = 1073741823")
        again = s.schedule("ping", ("x" * 50_000,), 60.0)
        assert s.get_schedule(again) is not None
    finally:
        s.stop()


def test_batch_commits_many_schedules_at_once(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    s = App().start(SQLiteStore(db), VirtualClock(START))
    with s.batch():
        ids = [s.schedule("ping", (i,), 60.0) for i in range(200)]
    s.stop()
    s2 = App().start(SQLiteStore(db), VirtualClock(START))
    try:
        assert s2.restored == (200, [])
        assert sorted(i.id for i in s2.list_schedules()) == sorted(ids)
    finally:
        s2.stop()


def test_stop_books_and_stores_the_execution_in_flight(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    started = threading.Event()
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        started.set()
        time.sleep(0.2)

    s = Scheduler(store=SQLiteStore(db))
    s.register("work", work)
    s.start()
    sid = s.schedule("work", (), 0.05)
    assert started.wait(5)
    assert s.stop()
    assert s.get_execution_stats()["total_executions"] == len(calls)  # final stats after stop
    store = SQLiteStore(db)
    store.open("reader")
    (rec,) = store.load().schedules
    store.close()
    assert rec.id == sid and rec.execution_count == len(calls) and rec.status == "pending"
