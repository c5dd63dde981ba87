"""The supervisor's drains: on real time, after booking a batch it rests for
`DRAIN_PAUSE` instead of being woken for every few records; its inbox hands it a
`DRAIN` of its own when the rest is over, and asks drain first (never stale)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from pykka._envelope import Envelope

from actors import Scheduler
from actors.supervisor import actor as supervisor
from actors.supervisor.actor import DRAIN, _SupervisorInbox


def test_inbox_without_rest_is_a_plain_fifo() -> None:
    inbox = _SupervisorInbox()
    assert inbox.empty()
    inbox.put(Envelope(1))
    inbox.put(Envelope(2))
    assert not inbox.empty()
    assert [inbox.get().message, inbox.get().message] == [1, 2]
    assert inbox.empty()


def test_a_resting_inbox_returns_what_arrives_at_once_and_a_drain_when_the_rest_is_over() -> None:
    inbox = _SupervisorInbox()
    inbox.rest_until = time.monotonic() + 0.2
    inbox.put(Envelope("ask"))
    t0 = time.monotonic()
    assert inbox.get().message == "ask"  # a message does not wait for the rest
    assert time.monotonic() - t0 < 0.15
    got = inbox.get()
    assert got.message is DRAIN and time.monotonic() - t0 >= 0.15
    assert inbox.rest_until is None
    inbox.put(Envelope(3))
    assert inbox.get().message == 3  # no rest: no DRAIN of its own


def test_busy_supervisor_is_told_to_drain_far_less_often_than_results_arrive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "DRAIN_PAUSE", 0.1)
    before = set(threading.enumerate())
    sched = Scheduler().start()
    rt: Any = sched._rt
    drains = 0
    real_tell = rt._sup_tell

    def tell(message: Any) -> None:
        nonlocal drains
        drains += message is DRAIN
        real_tell(message)

    rt._sup_tell = tell
    calls: list[int] = []
    for k in range(20):
        sched.schedule_at_interval(calls.append, (k,), 0.005)
    time.sleep(0.6)
    sched.cancel_all()
    assert sched.wait_idle(10)  # the rest ends with a drain of its own: nothing waits forever
    stats = sched.get_execution_stats()
    assert stats["total_executions"] == len(calls) > 200
    assert drains < 30  # ~one per 0.1 s rest, not one per few records
    assert rt.activity.count == 0
    assert sched.stop(timeout=10)
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_asks_see_every_result_even_while_the_supervisor_rests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "DRAIN_PAUSE", 5.0)  # a rest far longer than the test
    sched = Scheduler().start()
    rt: Any = sched._rt
    try:
        sup = rt.supervisor
        for k in (1, 2):
            sched.schedule_in_seconds(lambda: None, (), 0.01)
            deadline = time.monotonic() + 5
            while not rt.ledger.records and sup.total < k:  # the result is waiting, or booked
                assert time.monotonic() < deadline
                time.sleep(0.001)
            t0 = time.monotonic()
            # The second result waits in a rest that no record cuts short: the ask drains it.
            assert sched.get_execution_stats()["total_executions"] == k
            assert time.monotonic() - t0 < 2.5  # not the 5 s rest
        assert len(sched.get_execution_metrics()) == 2
    finally:
        assert sched.stop(timeout=10)


def test_virtual_time_never_rests() -> None:
    from timekit import Duration, VirtualClock

    clock = VirtualClock()
    sched = Scheduler(clock=clock).start()
    try:
        calls: list[int] = []
        sched.schedule_at_interval(calls.append, (1,), 1)
        clock.advance(Duration.from_seconds(50))
        assert sched.wait_idle(10)
        assert len(calls) == 50
        assert sched._rt.supervisor._inbox.rest_until is None
    finally:
        assert sched.stop(timeout=10)


def test_an_execution_that_ends_during_stop_is_booked_and_its_callbacks_run(caplog: pytest.LogCaptureFixture) -> None:
    # stop() lets executions in flight finish; by the time the supervisor books one, the
    # execution pool has stopped: its callbacks run on the supervisor instead (they used
    # to kill the supervisor with "the execution pool is stopped", unbooked and uncalled).
    from timekit import Duration, VirtualClock

    clock = VirtualClock()
    sched = Scheduler(clock=clock).start()
    seen: list[Any] = []
    errors: list[Any] = []
    asked: list[tuple[int, list[int]]] = []  # what a callback learns from the scheduler

    def on_result(r: Any) -> None:
        seen.append(r)
        stats = sched.get_execution_stats()
        asked.append((stats["total_executions"], [m.schedule_id for m in sched.get_execution_metrics()]))

    sched.add_execution_callback(on_result)
    sched.add_error_callback(lambda sid, exc: errors.append((sid, exc)))
    started = threading.Semaphore(0)
    release = threading.Event()

    def slow(fail: bool) -> str:
        started.release()
        release.wait(10)
        if fail:
            raise ValueError("boom")
        return "done"

    ok_id = sched.schedule_in_seconds(slow, (False,), 1)
    bad_id = sched.schedule_in_seconds(slow, (True,), 1)
    clock.advance(Duration.from_seconds(1))
    assert started.acquire(timeout=10) and started.acquire(timeout=10)  # both running
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(sched.stop(timeout=10)))
    stopper.start()
    deadline = time.monotonic() + 10
    pool = sched._rt.pool
    while not pool._stopped and time.monotonic() < deadline:
        time.sleep(0.001)
    release.set()  # both finish after the pool has stopped taking jobs, while stop() waits
    stopper.join(15)
    assert not stopper.is_alive()
    assert stopped == [True]
    assert sorted((r.schedule_id, r.success) for r in seen) == [(ok_id, True), (bad_id, False)]
    assert [(sid, str(exc)) for sid, exc in errors] == [(bad_id, "boom")]
    assert sched.get_execution_stats()["total_executions"] == 2
    # A callback running on the supervisor can still ask for statistics and history (it
    # used to get RuntimeError: the scheduler was stopped, the final stats not yet kept),
    # and they count its own execution.
    assert len(asked) == 2
    for total, ids in asked:
        assert total >= 1 and len(ids) == total
    assert asked[-1][0] == 2
    assert sorted(m.schedule_id for m in sched.get_execution_metrics()) == sorted([ok_id, bad_id])
    assert [m.schedule_id for m in sched.get_execution_metrics(1)] == asked[-1][1][-1:]
    assert sched.get_execution_metrics(0) == []
    assert not [r for r in caplog.records if r.levelname == "ERROR" and "pool is stopped" in r.getMessage() + str(r.exc_info)]


def _raising(exc: BaseException, calls: list[str], tag: str) -> Any:
    def cb(*_: Any) -> None:
        calls.append(tag)
        raise exc

    return cb


@pytest.mark.parametrize("during_stop", [False, True], ids=["on-the-pool", "on-the-supervisor-during-stop"])
def test_a_callback_raising_any_base_exception_is_isolated_counted_and_logged(
    caplog: pytest.LogCaptureFixture, during_stop: bool
) -> None:
    # SystemExit or KeyboardInterrupt from one callback used to skip every later execution
    # and error callback of that result, uncounted (and, run on the supervisor's thread
    # during stop, to escape into the supervisor).
    from timekit import Duration, VirtualClock

    clock = VirtualClock()
    sched = Scheduler(clock=clock).start()
    calls: list[str] = []
    sched.add_execution_callback(_raising(SystemExit(3), calls, "exec-exit"))
    sched.add_execution_callback(_raising(KeyboardInterrupt(), calls, "exec-interrupt"))
    sched.add_execution_callback(lambda r: calls.append("exec-ok"))
    sched.add_error_callback(_raising(KeyboardInterrupt(), calls, "err-interrupt"))
    sched.add_error_callback(lambda sid, exc: calls.append(f"err-ok:{type(exc).__name__}"))
    started = threading.Event()
    release = threading.Event()

    def fail() -> None:
        started.set()
        if during_stop:
            release.wait(10)
        raise ValueError("boom")

    sched.schedule_in_seconds(fail, (), 1)
    clock.advance(Duration.from_seconds(1))
    assert started.wait(10)
    if during_stop:
        stopped: list[bool] = []
        stopper = threading.Thread(target=lambda: stopped.append(sched.stop(timeout=10)))
        stopper.start()
        deadline = time.monotonic() + 10
        while not sched._rt.pool._stopped and time.monotonic() < deadline:
            time.sleep(0.001)
        release.set()  # the result is booked after the pool stopped: callbacks run on the supervisor
        stopper.join(15)
        assert stopped == [True]
    else:
        assert sched.wait_idle(10)
    assert calls == ["exec-exit", "exec-interrupt", "exec-ok", "err-interrupt", "err-ok:ValueError"]
    stats = sched.get_execution_stats()
    assert stats["callback_errors"] == 3 and stats["total_executions"] == 1
    logged = [r for r in caplog.records if r.name == "tickwork" and "callback" in r.getMessage()]
    assert len(logged) == 3 and all(r.exc_info for r in logged)
    assert "KeyboardInterrupt (ignored: a callback cannot stop the scheduler" in logged[1].getMessage()
    if not during_stop:
        assert sched.stop(timeout=10)
